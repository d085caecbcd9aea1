import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { JobStatus } from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import type {
  CreateTuningJobBody,
  TuningJob,
  TuningJobStatus,
  TuningJobSummary,
  TuningTrial,
  TuningTrialsQuery,
} from '@trainyard/contracts/tuning-jobs';
import { newJobId } from '../jobs/job-dispatch.js';
import { type JobEventSink, publishJobStateChange } from '../jobs/job-events.js';
import { JobLifecycle } from '../jobs/job-lifecycle.js';
import type { JobRecord, JobStore } from '../ports/job-store.js';
import type { TrainingJobService } from '../training/training-job-service.js';
import { type ParameterValues, SearchSpace } from './tuning-space.js';
import { childBody, prefixField, type ResolvedTuningSpec, resolveTuningSpec } from './tuning-spec.js';
import type { IntermediatePoint } from './tuning-strategies.js';

/** One trial as the tuning job's row records it. */
export interface TrialState {
  index: number;
  /** The child training job's name (`<tuning>-NNN-<hash>`). */
  name: string;
  values: ParameterValues;
  /** `Pending` = proposed and stored, its training job not yet created. */
  status: JobStatus | 'Pending';
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  objective?: number;
  /** The objective per step (round, epoch), kept once the trial ended (median rule, Hyperband). */
  curve?: IntermediatePoint[];
  failureReason?: string;
  earlyStopReason?: string;
  /** Attempts to create its training job that failed with a retryable error. */
  retryableErrors?: number;
  /** Its training job was refused at create (never retried). */
  nonRetryable?: boolean;
}

/** The tuner's state in the tuning job's row (`result`), written by the leader with compare-and-set. */
export interface TuningState {
  trials: TrialState[];
  /** Set once a completion criterion (or MaxRuntimeInSeconds) holds: no new trials, running ones stop. */
  finishing?: { reason: string; at: string; converged?: boolean };
}

export const tuningJobArn = (name: string) =>
  `arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/${name.toLowerCase()}`;

export function stateOf(job: JobRecord): TuningState {
  return (job.result as TuningState | undefined) ?? { trials: [] };
}

/** True when a trial's objective beats another's in the job's direction. */
export function better(direction: 'Minimize' | 'Maximize', a: number, b: number): boolean {
  return direction === 'Maximize' ? a > b : a < b;
}

/** The trial with the best objective (ties: the earliest). */
export function bestTrial(spec: ResolvedTuningSpec, trials: readonly TrialState[]): TrialState | undefined {
  let best: TrialState | undefined;
  for (const t of trials)
    if (t.objective !== undefined && (!best || better(spec.objective.Type, t.objective, best.objective!)))
      best = t;
  return best;
}

function trialView(spec: ResolvedTuningSpec, tuningName: string, t: TrialState): TuningTrial {
  const out: TuningTrial = {
    TrialIndex: t.index,
    TrainingJobName: t.name,
    TrainingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${t.name.toLowerCase()}`,
    TuningJobName: tuningName,
    CreationTime: t.createdAt,
    TrainingJobStatus: t.status,
    TunedHyperParameters: t.values,
    ObjectiveStatus:
      t.objective !== undefined
        ? 'Succeeded'
        : t.status === 'Pending' || t.status === 'InProgress' || t.status === 'Stopping'
          ? 'Pending'
          : 'Failed',
  };
  if (t.startedAt) out.TrainingStartTime = t.startedAt;
  if (t.endedAt) out.TrainingEndTime = t.endedAt;
  if (t.failureReason) out.FailureReason = t.failureReason;
  if (t.earlyStopReason) out.EarlyStopReason = t.earlyStopReason;
  if (t.objective !== undefined)
    out.FinalHyperParameterTuningJobObjectiveMetric = {
      Type: spec.objective.Type,
      MetricName: spec.objective.MetricName,
      Value: t.objective,
    };
  return out;
}

function counters(state: TuningState) {
  const c = { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 };
  const o = { Succeeded: 0, Pending: 0, Failed: 0 };
  for (const t of state.trials) {
    if (t.status === 'Completed') c.Completed++;
    else if (t.status === 'Stopped') c.Stopped++;
    else if (t.status === 'Failed') c.NonRetryableError++;
    else c.InProgress++;
    c.RetryableError += t.retryableErrors ?? 0;
    if (t.objective !== undefined) o.Succeeded++;
    else if (t.status === 'Pending' || t.status === 'InProgress' || t.status === 'Stopping') o.Pending++;
    else o.Failed++;
  }
  return { TrainingJobStatusCounters: c, ObjectiveStatusCounters: o };
}

/** DescribeHyperParameterTuningJob of a tuning row. */
export function toTuningJob(job: JobRecord): TuningJob {
  const spec = job.spec as ResolvedTuningSpec;
  const state = stateOf(job);
  const out: TuningJob = {
    HyperParameterTuningJobName: job.name,
    HyperParameterTuningJobArn: job.arn,
    HyperParameterTuningJobConfig: spec.request.HyperParameterTuningJobConfig,
    TrainingJobDefinition: spec.request.TrainingJobDefinition,
    HyperParameterTuningJobStatus: job.status as TuningJobStatus,
    CreationTime: job.createdAt.toISOString(),
    LastModifiedTime: job.updatedAt.toISOString(),
    ...counters(state),
  };
  if (spec.request.WarmStartConfig) {
    out.WarmStartConfig = spec.request.WarmStartConfig;
    out.WarmStartObservations = spec.priorObservations.length;
  }
  if (spec.request.Tags) out.Tags = spec.request.Tags;
  if (job.endedAt) out.HyperParameterTuningEndTime = job.endedAt.toISOString();
  if (job.failure) out.FailureReason = job.failure.message;
  const best = bestTrial(spec, state.trials);
  if (best) out.BestTrainingJob = trialView(spec, job.name, best);
  if (spec.request.WarmStartConfig?.WarmStartType === 'IdenticalDataAndAlgorithm') {
    let overall: TuningTrial | undefined = out.BestTrainingJob;
    for (const p of spec.priorObservations) {
      const value = overall?.FinalHyperParameterTuningJobObjectiveMetric?.Value;
      if (value === undefined || better(spec.objective.Type, p.objective, value)) {
        overall = {
          TrialIndex: -1,
          TrainingJobName: p.trainingJob,
          TrainingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${p.trainingJob.toLowerCase()}`,
          TuningJobName: p.tuningJob,
          CreationTime: job.createdAt.toISOString(),
          TrainingJobStatus: 'Completed',
          TunedHyperParameters: p.values,
          ObjectiveStatus: 'Succeeded',
          FinalHyperParameterTuningJobObjectiveMetric: { ...spec.objective, Value: p.objective },
          ParentTuningJobName: p.tuningJob,
        };
      }
    }
    if (overall) out.OverallBestTrainingJob = overall;
  }
  const details: NonNullable<TuningJob['TuningJobCompletionDetails']> = {};
  if (best) {
    const ended = state.trials.filter((t) => t.endedAt && t.index > best.index && t.objective !== undefined);
    details.NumberOfTrainingJobsObjectiveNotImproving = ended.length;
  }
  if (state.finishing) {
    details.CompletionReason = state.finishing.reason;
    if (state.finishing.converged) details.ConvergenceDetectedTime = state.finishing.at;
  }
  if (Object.keys(details).length > 0) out.TuningJobCompletionDetails = details;
  const end = job.endedAt ?? (JobLifecycle.isTerminal(job.status) ? job.updatedAt : new Date());
  out.ConsumedResources = {
    RuntimeInSeconds: Math.max(0, Math.round((end.getTime() - job.createdAt.getTime()) / 1000)),
  };
  return out;
}

function toTuningJobSummary(job: JobRecord): TuningJobSummary {
  const view = toTuningJob(job);
  const out: TuningJobSummary = {
    HyperParameterTuningJobName: view.HyperParameterTuningJobName,
    HyperParameterTuningJobArn: view.HyperParameterTuningJobArn,
    HyperParameterTuningJobStatus: view.HyperParameterTuningJobStatus,
    CreationTime: view.CreationTime,
    LastModifiedTime: view.LastModifiedTime,
    TrainingJobStatusCounters: view.TrainingJobStatusCounters,
    ObjectiveStatusCounters: view.ObjectiveStatusCounters,
    Strategy: view.HyperParameterTuningJobConfig.Strategy,
    ResourceLimits: view.HyperParameterTuningJobConfig.ResourceLimits,
  };
  if (view.HyperParameterTuningEndTime) out.HyperParameterTuningEndTime = view.HyperParameterTuningEndTime;
  const best = view.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.Value;
  if (best !== undefined) out.BestObjectiveValue = best;
  return out;
}

export interface TuningJobServiceOptions {
  store: JobStore;
  trainingJobs: Pick<TrainingJobService, 'validate'>;
  /** Receives `trainyard.tuning-job.state-change` for the changes the API makes (the tuner sends the rest). */
  events?: JobEventSink | undefined;
  /** Told when a state-change event could not be published (the job row stays the truth). */
  onEventError?: (error: unknown) => void;
}

/**
 * Hyperparameter tuning jobs as the doors see them: validation naming the field, create, describe,
 * list, stop and the trials. The trials themselves are proposed and run by the tuner's leader loop
 * (`@trainyard/runtime/tuning/tuning-driver`) from the state kept in the job's row.
 */
export class TuningJobService {
  constructor(private readonly options: TuningJobServiceOptions) {}

  /** Validates, resolves warm start and stores the job InProgress; the tuner starts its trials. */
  async create(body: CreateTuningJobBody): Promise<TuningJob> {
    const resolved = resolveTuningSpec(body);
    const space = new SearchSpace(resolved.dimensions);
    // The training definition as a trial would get it (the middle of every range).
    const probe = childBody(
      body,
      `${body.HyperParameterTuningJobName}-001-00000000`,
      space.decode(space.dimensions.map(() => 0.5)),
      resolved.fixedHyperParameters,
    );
    try {
      await this.options.trainingJobs.validate(probe);
    } catch (error) {
      throw prefixField(error, 'TrainingJobDefinition');
    }
    const spec: ResolvedTuningSpec = {
      ...resolved,
      priorObservations: await this.#warmStart(body, resolved, space),
    };
    const at = new Date();
    try {
      const job = await this.options.store.create({
        id: newJobId(at),
        kind: 'tuning',
        name: body.HyperParameterTuningJobName,
        arn: tuningJobArn(body.HyperParameterTuningJobName),
        spec,
        transitions: [{ Status: 'Training', StartTime: at.toISOString(), StatusMessage: 'Tuning' }],
        createdAt: at,
      });
      await publishJobStateChange(this.options.events, undefined, job, this.options.onEventError);
      return toTuningJob(job);
    } catch (error) {
      if (TrainyardError.is(error, 'ALREADY_EXISTS'))
        throw new TrainyardError(
          'ALREADY_EXISTS',
          `hyperparameter tuning job "${body.HyperParameterTuningJobName}" already exists`,
          {
            field: 'HyperParameterTuningJobName',
          },
        );
      throw error;
    }
  }

  async #warmStart(
    body: CreateTuningJobBody,
    resolved: Omit<ResolvedTuningSpec, 'priorObservations'>,
    space: SearchSpace,
  ): Promise<ResolvedTuningSpec['priorObservations']> {
    const warm = body.WarmStartConfig;
    if (!warm) return [];
    const out: ResolvedTuningSpec['priorObservations'] = [];
    const seen = new Set<string>();
    for (const [i, parent] of warm.ParentHyperParameterTuningJobs.entries()) {
      const field = `WarmStartConfig.ParentHyperParameterTuningJobs.${i}.HyperParameterTuningJobName`;
      const name = parent.HyperParameterTuningJobName;
      if (seen.has(name)) throw invalidArgument(field, `"${name}" is listed twice`);
      seen.add(name);
      let row: JobRecord;
      try {
        row = await this.options.store.get('tuning', name);
      } catch (error) {
        if (TrainyardError.is(error, 'NOT_FOUND'))
          throw invalidArgument(field, `there is no tuning job "${name}"`);
        throw error;
      }
      if (!JobLifecycle.isTerminal(row.status))
        throw invalidArgument(field, `"${name}" is ${row.status}; a warm-start parent must have ended`);
      const parentSpec = row.spec as ResolvedTuningSpec;
      if (
        parentSpec.objective.MetricName !== resolved.objective.MetricName ||
        parentSpec.objective.Type !== resolved.objective.Type
      )
        throw invalidArgument(
          field,
          `"${name}" tunes ${parentSpec.objective.Type} ${parentSpec.objective.MetricName}; this job tunes ${resolved.objective.Type} ${resolved.objective.MetricName}`,
        );
      if (warm.WarmStartType === 'IdenticalDataAndAlgorithm') {
        const a = parentSpec.request.TrainingJobDefinition;
        const b = body.TrainingJobDefinition;
        const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
        if (
          !same(a.AlgorithmSpecification, b.AlgorithmSpecification) ||
          !same(a.InputDataConfig, b.InputDataConfig)
        )
          throw invalidArgument(
            field,
            `"${name}" used another algorithm or other input data; IdenticalDataAndAlgorithm needs the same (use TransferLearning)`,
          );
      }
      // A parent's observation counts when its tuned values fit this job's ranges (TransferLearning
      // may narrow or widen them); names this job does not tune are dropped.
      for (const t of stateOf(row).trials) {
        if (t.objective === undefined) continue;
        const values = Object.fromEntries(space.dimensions.map((d) => [d.name, t.values[d.name] ?? '']));
        if (!space.encode(values)) continue;
        out.push({ values, objective: t.objective, tuningJob: name, trainingJob: t.name });
      }
    }
    return out;
  }

  async describe(name: string): Promise<TuningJob> {
    return toTuningJob(await this.#get(name));
  }

  async list(
    filter: {
      status?: TuningJobStatus | undefined;
      nameContains?: string | undefined;
      limit?: number;
      pageToken?: string | undefined;
    } = {},
  ): Promise<Page<TuningJobSummary>> {
    const page = await this.options.store.list('tuning', filter);
    const out: Page<TuningJobSummary> = { items: page.items.map(toTuningJobSummary) };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /**
   * Asks the tuner to stop: the job moves to Stopping, the tuner stops every running trial and
   * ends it Stopped. @throws FAILED_PRECONDITION once it has ended
   */
  async stop(name: string): Promise<TuningJob> {
    for (;;) {
      const job = await this.#get(name);
      if (JobLifecycle.isTerminal(job.status))
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `hyperparameter tuning job "${name}" has already ended (${job.status})`,
          { name },
        );
      if (job.status === 'Stopping') return toTuningJob(job);
      try {
        const updated = await this.options.store.update(
          job.id,
          JobLifecycle.advance(job, 'Stopping', new Date(), 'Stop requested'),
          {
            version: job.version,
          },
        );
        await publishJobStateChange(this.options.events, job, updated, this.options.onEventError);
        return toTuningJob(updated);
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT')) throw error;
      }
    }
  }

  /** ListTrainingJobsForHyperParameterTuningJob: every trial with its objective, sorted. */
  async trials(name: string, query: Partial<TuningTrialsQuery> = {}): Promise<TuningTrial[]> {
    const job = await this.#get(name);
    const spec = job.spec as ResolvedTuningSpec;
    let items = stateOf(job).trials.map((t) => trialView(spec, job.name, t));
    if (query.status) items = items.filter((t) => t.TrainingJobStatus === query.status);
    const sortBy = query.sortBy ?? 'CreationTime';
    const key = (t: TuningTrial): string | number =>
      sortBy === 'Name'
        ? t.TrainingJobName
        : sortBy === 'Status'
          ? t.TrainingJobStatus
          : sortBy === 'FinalObjectiveMetricValue'
            ? (t.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? Number.NaN)
            : t.TrialIndex;
    items.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      // Trials without an objective go last whatever the order.
      if (typeof x === 'number' && Number.isNaN(x)) return typeof y === 'number' && Number.isNaN(y) ? 0 : 1;
      if (typeof y === 'number' && Number.isNaN(y)) return -1;
      const c = x < y ? -1 : x > y ? 1 : 0;
      return query.order === 'Descending' ? -c : c;
    });
    return items;
  }

  async #get(name: string): Promise<JobRecord> {
    try {
      return await this.options.store.get('tuning', name);
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND'))
        throw new TrainyardError('NOT_FOUND', `hyperparameter tuning job "${name}" does not exist`, { name });
      throw error;
    }
  }
}
