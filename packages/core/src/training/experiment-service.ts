import { TrainyardError } from '@trainyard/contracts/errors';
import type {
  Experiment,
  ExperimentRun,
  ExperimentRuns,
  ExperimentSummary,
  Trial,
  TrialComponent,
} from '@trainyard/contracts/experiments';
import type { JobStatus } from '@trainyard/contracts/jobs';
import type { CreateTrainingJobBody } from '@trainyard/contracts/training-jobs';
import type { ExperimentStore, TrialLink } from '../ports/experiment-store.js';
import type { JobRecord, JobStore } from '../ports/job-store.js';
import type { TrainingJobResult } from './training-job-service.js';

export interface CompareRunsOptions {
  /** A metric name or `CreationTime`. */
  sortBy?: string;
  order?: 'asc' | 'desc';
  curves?: boolean;
  status?: JobStatus | undefined;
}

/** Rows read per page while scanning the training jobs. */
const scanPage = 500;

/** SageMaker names the trial component of a training job `<job name>-aws-training-job`. */
export const trainingComponentSuffix = '-aws-training-job';

/** The training job whose trial component this is, or undefined for a name of another kind. */
export function jobOfComponent(name: string): string | undefined {
  return name.endsWith(trainingComponentSuffix) ? name.slice(0, -trainingComponentSuffix.length) : undefined;
}

/** Who created a record: the calling access key. */
export interface Creator {
  KeyId: string;
  KeyName: string;
}

/** What CreateTrialComponent and UpdateTrialComponent set (`*ToRemove` drop keys). */
export type TrialComponentChange = Partial<
  Pick<
    TrialComponent,
    | 'DisplayName'
    | 'Status'
    | 'StartTime'
    | 'EndTime'
    | 'Parameters'
    | 'InputArtifacts'
    | 'OutputArtifacts'
    | 'MetadataProperties'
  >
> & {
  ParametersToRemove?: string[];
  InputArtifactsToRemove?: string[];
  OutputArtifactsToRemove?: string[];
};

function withoutKeys<T>(record: Record<string, T>, keys: readonly string[] | undefined): Record<string, T> {
  if (!keys?.length) return record;
  return Object.fromEntries(Object.entries(record).filter(([k]) => !keys.includes(k)));
}

/**
 * Experiments as SageMaker Experiments defines them. Experiments, trials (run groups) and the trial
 * components clients create are records; a training job with an ExperimentConfig creates or joins
 * its experiment and trial, and its trial component `<job>-aws-training-job` is read from the job
 * itself (so it shows the job's live status). The compare view reads the runs from the training
 * jobs (a scan of the training kind's rows, newest first), so a run appears and ends with its job.
 */
export class ExperimentService {
  constructor(private readonly options: { store: JobStore; records: ExperimentStore }) {}

  async #scan(visit: (job: JobRecord, spec: CreateTrainingJobBody) => void): Promise<void> {
    let pageToken: string | undefined;
    do {
      const page = await this.options.store.list('training', {
        limit: scanPage,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const job of page.items) visit(job, job.spec as CreateTrainingJobBody);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * Experiments with their run counts (training jobs), newest run first; experiments without a
   * run yet follow, newest first.
   */
  async list(nameContains?: string): Promise<ExperimentSummary[]> {
    const byName = new Map<string, ExperimentSummary>();
    for (const e of await this.options.records.listExperiments()) {
      if (nameContains && !e.ExperimentName.includes(nameContains)) continue;
      const summary: ExperimentSummary = {
        ExperimentName: e.ExperimentName,
        DisplayName: e.DisplayName,
        CreationTime: e.CreationTime,
        Runs: 0,
      };
      if (e.Description !== undefined) summary.Description = e.Description;
      byName.set(e.ExperimentName.toLowerCase(), summary);
    }
    await this.#scan((job, spec) => {
      const name = spec.ExperimentConfig?.ExperimentName;
      if (!name || (nameContains && !name.includes(nameContains))) return;
      const created = job.createdAt.toISOString();
      const entry = byName.get(name.toLowerCase());
      if (!entry) byName.set(name.toLowerCase(), { ExperimentName: name, Runs: 1, LastRunTime: created });
      else {
        entry.Runs++;
        if (entry.LastRunTime === undefined || created > entry.LastRunTime) entry.LastRunTime = created;
      }
    });
    const latest = (e: ExperimentSummary) => e.LastRunTime ?? '';
    return [...byName.values()].sort(
      (a, b) =>
        latest(b).localeCompare(latest(a)) || (b.CreationTime ?? '').localeCompare(a.CreationTime ?? ''),
    );
  }

  /** @throws ALREADY_EXISTS */
  createExperiment(
    input: { ExperimentName: string; DisplayName?: string | undefined; Description?: string | undefined },
    by?: Creator,
  ): Promise<Experiment> {
    const now = new Date().toISOString();
    const experiment: Experiment = {
      ExperimentName: input.ExperimentName,
      DisplayName: input.DisplayName ?? input.ExperimentName,
      CreationTime: now,
      LastModifiedTime: now,
    };
    if (input.Description !== undefined) experiment.Description = input.Description;
    if (by) experiment.CreatedBy = { KeyId: by.KeyId, KeyName: by.KeyName };
    return this.options.records.createExperiment(experiment);
  }

  /** @throws NOT_FOUND */
  describeExperiment(name: string): Promise<Experiment> {
    return this.options.records.getExperiment(name);
  }

  listExperimentRecords(): Promise<Experiment[]> {
    return this.options.records.listExperiments();
  }

  /** @throws NOT_FOUND */
  async updateExperiment(
    name: string,
    change: { DisplayName?: string | undefined; Description?: string | undefined },
  ): Promise<Experiment> {
    const current = await this.options.records.getExperiment(name);
    const next: Experiment = { ...current, LastModifiedTime: new Date().toISOString() };
    if (change.DisplayName !== undefined) next.DisplayName = change.DisplayName;
    if (change.Description !== undefined) next.Description = change.Description;
    return this.options.records.replaceExperiment(next);
  }

  /** @throws NOT_FOUND, FAILED_PRECONDITION while it has trials (a training job's run is one) */
  async deleteExperiment(name: string): Promise<Experiment> {
    const experiment = await this.options.records.getExperiment(name);
    await this.options.records.deleteExperiment(name);
    return experiment;
  }

  /** @throws ALREADY_EXISTS, NOT_FOUND (no such experiment) */
  createTrial(input: {
    TrialName: string;
    ExperimentName: string;
    DisplayName?: string | undefined;
    MetadataProperties?: Record<string, string> | undefined;
  }): Promise<Trial> {
    const now = new Date().toISOString();
    const trial: Trial = {
      TrialName: input.TrialName,
      DisplayName: input.DisplayName ?? input.TrialName,
      ExperimentName: input.ExperimentName,
      CreationTime: now,
      LastModifiedTime: now,
    };
    if (input.MetadataProperties) trial.MetadataProperties = input.MetadataProperties;
    return this.options.records.createTrial(trial);
  }

  /** @throws NOT_FOUND */
  describeTrial(name: string): Promise<Trial> {
    return this.options.records.getTrial(name);
  }

  listTrials(experiment?: string): Promise<Trial[]> {
    return this.options.records.listTrials(experiment);
  }

  /** @throws NOT_FOUND */
  async updateTrial(name: string, change: { DisplayName?: string | undefined }): Promise<Trial> {
    const current = await this.options.records.getTrial(name);
    const next: Trial = { ...current, LastModifiedTime: new Date().toISOString() };
    if (change.DisplayName !== undefined) next.DisplayName = change.DisplayName;
    return this.options.records.replaceTrial(next);
  }

  /**
   * Deletes a trial that has no trial component left (links to deleted training jobs go with it).
   * @throws NOT_FOUND, FAILED_PRECONDITION while a component is associated
   */
  async deleteTrial(name: string): Promise<Trial> {
    const trial = await this.options.records.getTrial(name);
    const linked = await this.links({ trial: name });
    if (linked.length > 0)
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `trial "${name}" still has trial components (such as "${linked[0]?.componentName}"); disassociate them first`,
      );
    await this.options.records.deleteTrial(name);
    return trial;
  }

  /** @throws ALREADY_EXISTS, INVALID_ARGUMENT (a training job's component name) */
  async createComponent(name: string, input: TrialComponentChange): Promise<TrialComponent> {
    if (jobOfComponent(name) !== undefined)
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `TrialComponentName: names ending in "${trainingComponentSuffix}" are the trial components of training jobs`,
        { field: 'TrialComponentName' },
      );
    const now = new Date().toISOString();
    const component: TrialComponent = {
      TrialComponentName: name,
      DisplayName: input.DisplayName ?? name,
      Parameters: input.Parameters ?? {},
      InputArtifacts: input.InputArtifacts ?? {},
      OutputArtifacts: input.OutputArtifacts ?? {},
      CreationTime: now,
      LastModifiedTime: now,
    };
    if (input.Status) component.Status = input.Status;
    if (input.StartTime !== undefined) component.StartTime = input.StartTime;
    if (input.EndTime !== undefined) component.EndTime = input.EndTime;
    if (input.MetadataProperties) component.MetadataProperties = input.MetadataProperties;
    return this.options.records.createComponent(component);
  }

  /** A component a client created. @throws NOT_FOUND */
  describeComponent(name: string): Promise<TrialComponent> {
    return this.options.records.getComponent(name);
  }

  listComponents(): Promise<TrialComponent[]> {
    return this.options.records.listComponents();
  }

  /** Applies a change to a component a client created. @throws NOT_FOUND */
  async updateComponent(name: string, change: TrialComponentChange): Promise<TrialComponent> {
    const current = await this.options.records.getComponent(name);
    const next: TrialComponent = {
      ...current,
      Parameters: {
        ...withoutKeys(current.Parameters, change.ParametersToRemove),
        ...(change.Parameters ?? {}),
      },
      InputArtifacts: {
        ...withoutKeys(current.InputArtifacts, change.InputArtifactsToRemove),
        ...(change.InputArtifacts ?? {}),
      },
      OutputArtifacts: {
        ...withoutKeys(current.OutputArtifacts, change.OutputArtifactsToRemove),
        ...(change.OutputArtifacts ?? {}),
      },
      LastModifiedTime: new Date().toISOString(),
    };
    if (change.DisplayName !== undefined) next.DisplayName = change.DisplayName;
    if (change.Status !== undefined) next.Status = change.Status;
    if (change.StartTime !== undefined) next.StartTime = change.StartTime;
    if (change.EndTime !== undefined) next.EndTime = change.EndTime;
    return this.options.records.replaceComponent(next);
  }

  /** @throws NOT_FOUND, FAILED_PRECONDITION while associated with a trial */
  async deleteComponent(name: string): Promise<TrialComponent> {
    const component = await this.options.records.getComponent(name);
    await this.options.records.deleteComponent(name);
    return component;
  }

  /** Whether a component exists: one a client created, or a training job's. */
  async componentExists(name: string): Promise<boolean> {
    const job = jobOfComponent(name);
    try {
      if (job !== undefined) await this.options.store.get('training', job);
      else await this.options.records.getComponent(name);
      return true;
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) return false;
      throw error;
    }
  }

  /**
   * Associates a component (a client's or a training job's) with a trial; associating twice is
   * not an error. @throws NOT_FOUND (no such trial or component)
   */
  async associate(component: string, trial: string): Promise<Trial> {
    const found = await this.options.records.getTrial(trial);
    if (!(await this.componentExists(component)))
      throw new TrainyardError('NOT_FOUND', `trial component "${component}" does not exist`, {
        name: component,
      });
    await this.options.records.link(found.TrialName, component, new Date().toISOString());
    return found;
  }

  /** @throws NOT_FOUND (no such trial, or the component is not associated with it) */
  async disassociate(component: string, trial: string): Promise<Trial> {
    const found = await this.options.records.getTrial(trial);
    await this.options.records.unlink(found.TrialName, component);
    return found;
  }

  /** Links between trials and existing components (a deleted training job's link is left out). */
  async links(
    filter: { trial?: string; component?: string; experiment?: string } = {},
  ): Promise<TrialLink[]> {
    const all = await this.options.records.links(filter);
    const live: TrialLink[] = [];
    const known = new Map<string, boolean>();
    for (const link of all) {
      let exists = known.get(link.componentName);
      if (exists === undefined) {
        exists = await this.componentExists(link.componentName);
        known.set(link.componentName, exists);
      }
      if (exists) live.push(link);
    }
    return live;
  }

  /**
   * A deleted training job leaves every trial: a later job of the same name starts with only the
   * trials its own ExperimentConfig names.
   */
  async leaveTrials(jobName: string): Promise<void> {
    const component = `${jobName}${trainingComponentSuffix}`;
    for (const link of await this.options.records.links({ component }))
      await this.options.records.unlink(link.trialName, component).catch((error: unknown) => {
        if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      });
  }

  /**
   * A training job's ExperimentConfig: creates the experiment and the trial (`TrialName`, else
   * `RunName`, else the job's name) unless they exist, and associates the job's trial component.
   * Called before the job is stored (the link is there even if the server stops in between; a
   * link to a job that never came is left out of every read). Returns how to undo a new link
   * when the job is then refused.
   * @throws INVALID_ARGUMENT when the trial belongs to another experiment
   */
  async joinRun(
    config: NonNullable<CreateTrainingJobBody['ExperimentConfig']>,
    jobName: string,
  ): Promise<() => Promise<void>> {
    const now = new Date().toISOString();
    const experiment = await this.options.records.ensureExperiment({
      ExperimentName: config.ExperimentName,
      DisplayName: config.ExperimentName,
      CreationTime: now,
      LastModifiedTime: now,
    });
    const trialName = config.TrialName ?? config.RunName ?? jobName;
    const trial = await this.options.records.ensureTrial({
      TrialName: trialName,
      DisplayName: trialName,
      ExperimentName: experiment.ExperimentName,
      CreationTime: now,
      LastModifiedTime: now,
    });
    if (trial.ExperimentName.toLowerCase() !== experiment.ExperimentName.toLowerCase())
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `ExperimentConfig.TrialName: trial "${trial.TrialName}" belongs to experiment "${trial.ExperimentName}", not "${experiment.ExperimentName}"`,
        { field: 'ExperimentConfig.TrialName' },
      );
    const component = `${jobName}${trainingComponentSuffix}`;
    const added = await this.options.records.link(trial.TrialName, component, now);
    return async () => {
      if (added) await this.options.records.unlink(trial.TrialName, component).catch(() => undefined);
    };
  }

  /**
   * The experiment's runs side by side, sorted by a final metric (runs without it last) or by
   * creation time; the parameters that differ between runs are named for a comparison table.
   * @returns an empty run list for an experiment no job names
   */
  async runs(experiment: string, options: CompareRunsOptions = {}): Promise<ExperimentRuns> {
    const runs: ExperimentRun[] = [];
    await this.#scan((job, spec) => {
      if (spec.ExperimentConfig?.ExperimentName !== experiment) return;
      if (options.status && job.status !== options.status) return;
      const result = job.result as TrainingJobResult | undefined;
      const metrics = result?.metrics ?? {};
      const run: ExperimentRun = {
        RunName: spec.ExperimentConfig.RunName ?? job.name,
        TrainingJobName: job.name,
        Status: job.status,
        CreationTime: job.createdAt.toISOString(),
        Parameters: Object.fromEntries(
          Object.entries(spec.HyperParameters ?? {}).filter(([k]) => !k.startsWith('sagemaker_')),
        ),
        FinalMetrics: Object.fromEntries(
          Object.entries(metrics)
            .filter(([, points]) => points.length > 0)
            .map(([name, points]) => [name, points.at(-1)!.Value]),
        ),
      };
      if (job.endedAt) run.TrainingEndTime = job.endedAt.toISOString();
      if (options.curves) run.MetricCurves = metrics;
      if (result?.modelArtifacts) run.ModelArtifacts = result.modelArtifacts;
      if (job.failure) run.FailureReason = job.failure.message;
      runs.push(run);
    });
    const sortBy = options.sortBy ?? 'CreationTime';
    const sign = (options.order ?? 'desc') === 'desc' ? -1 : 1;
    runs.sort((a, b) => {
      if (sortBy === 'CreationTime') return sign * a.CreationTime.localeCompare(b.CreationTime);
      const x = a.FinalMetrics[sortBy];
      const y = b.FinalMetrics[sortBy];
      if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
      return sign * (x - y);
    });
    const names = new Set(runs.flatMap((r) => Object.keys(r.Parameters)));
    const varying = [...names].filter((name) => new Set(runs.map((r) => r.Parameters[name])).size > 1).sort();
    const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.FinalMetrics)))].sort();
    return { ExperimentName: experiment, VaryingParameters: varying, MetricNames: metricNames, Runs: runs };
  }
}
