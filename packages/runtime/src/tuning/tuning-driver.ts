import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import { type JobEventSink, publishJobStateChange } from '@trainyard/core/jobs/job-events';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { JobRecord, JobStore } from '@trainyard/core/ports/job-store';
import type { LeaseStore } from '@trainyard/core/ports/metadata-store';
import { resolveTrainingLaunch } from '@trainyard/core/training/training-algorithms';
import type { TrainingJobService } from '@trainyard/core/training/training-job-service';
import {
  bestTrial,
  better,
  stateOf,
  type TrialState,
  type TuningState,
} from '@trainyard/core/tuning/tuning-job-service';
import { type ParameterValues, SearchSpace } from '@trainyard/core/tuning/tuning-space';
import { childBody, childTrainingJobName, type ResolvedTuningSpec } from '@trainyard/core/tuning/tuning-spec';
import {
  earlyStopMessagePrefix,
  encodeStoppingReference,
  hyperbandCutoffs,
  hyperbandRungs,
  type IntermediatePoint,
  judgeTrial,
  medianReference,
  parseStoppingReference,
  proposeTrials,
  type StoppingReference,
  stopReason,
  stopRuleHyperParameter,
} from '@trainyard/core/tuning/tuning-strategies';

export interface TunerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TuningDriverOptions {
  /** The jobs table: tuning rows (state) and, through `trainingJobs`, their trials. */
  store: JobStore;
  leases: LeaseStore;
  trainingJobs: Pick<TrainingJobService, 'create' | 'describe' | 'stop' | 'metrics'>;
  log?: TunerLog;
  holder?: string;
  /**
   * Receives `trainyard.tuning-job.state-change` when the tuner ends a job (Completed, Failed,
   * Stopped), and `trainyard.tuning-job.progress` when it records trials (proposed, ended) without
   * a change of status, so live views refresh on events rather than a timer.
   */
  events?: TuningEventSink | undefined;
  /** ms between passes. Default 500. */
  intervalMs?: number;
}

/** What the tuner needs of the EventPublisher. */
export type TuningEventSink = JobEventSink & Pick<EventPublisher, 'publish'>;

/** The event a tuning job's trial progress publishes (its status unchanged). */
export const tuningProgressEventType = 'trainyard.tuning-job.progress';

const leaseName = 'hyperparameter-tuner';
const silentLog: TunerLog = { info() {}, warn() {} };
/** Retryable create errors of one trial before it counts as failed. */
const maxCreateRetries = 5;

const active = (t: TrialState) =>
  t.status === 'Pending' || t.status === 'InProgress' || t.status === 'Stopping';

/**
 * Drives every tuning job: one leader at a time through the LeaseStore. Each pass reads a job's
 * state from its row, follows its trials (training jobs), stops those early stopping or Hyperband
 * condemn, checks the completion criteria, and proposes new trials for free slots. A proposal is
 * written to the row (compare-and-set) before its training job is created under a name fixed by
 * the trial's index, so a leader that dies at any point leaves nothing the next one cannot finish:
 * no trial is lost and none is created twice.
 */
export class TuningDriver {
  readonly holder: string;
  readonly #o: Required<Omit<TuningDriverOptions, 'holder' | 'events'>> & Pick<TuningDriverOptions, 'events'>;
  /** Curves of running trials, read each pass (ended trials keep theirs in the row). */
  readonly #curves = new Map<string, IntermediatePoint[]>();
  #loop: Promise<void> | undefined;
  #stopped = false;

  constructor(options: TuningDriverOptions) {
    this.holder = options.holder ?? `${process.pid}-${randomBytes(4).toString('hex')}`;
    this.#o = { log: silentLog, intervalMs: 500, ...options };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await this.#o.leases.release(leaseName, this.holder).catch(() => {});
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.passOnce();
      } catch (error) {
        this.#o.log.warn({ err: error }, 'tuner pass failed; retrying');
      }
      await sleep(this.#o.intervalMs);
    }
  }

  /** One pass over every running tuning job; a no-op unless this process holds the lease. */
  async passOnce(): Promise<void> {
    const leader = await this.#o.leases.acquire(
      leaseName,
      this.holder,
      Math.max(5000, this.#o.intervalMs * 10),
    );
    if (!leader) return;
    for (const status of ['InProgress', 'Stopping'] as const) {
      let pageToken: string | undefined;
      do {
        const page = await this.#o.store.list('tuning', { status, pageToken, limit: 100 });
        for (const job of page.items) {
          if (this.#stopped) return;
          try {
            await this.#drive(job);
          } catch (error) {
            if (!TrainyardError.is(error, 'CONFLICT'))
              this.#o.log.warn({ err: error, tuningJob: job.name }, 'tuning job pass failed; retrying');
          }
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
    }
  }

  async #drive(initial: JobRecord): Promise<void> {
    let job = initial;
    const spec = job.spec as ResolvedTuningSpec;
    const state: TuningState = structuredClone(stateOf(job));
    const before = JSON.stringify(state);
    const save = async (patch: Parameters<JobStore['update']>[1] = {}) => {
      const previous = job;
      job = await this.#o.store.update(job.id, { ...patch, result: state }, { version: job.version });
      const onError = (error: unknown) =>
        this.#o.log.warn({ err: error, tuningJob: job.name }, 'tuning job event not published');
      if (previous.status !== job.status) {
        await publishJobStateChange(this.#o.events, previous, job, onError);
      } else if (this.#o.events) {
        const best = bestTrial(spec, state.trials);
        const detail: Parameters<TuningEventSink['publish']>[3] = {
          state: job.status,
          trials: state.trials.length,
          trialsEnded: state.trials.filter((t) => !active(t)).length,
        };
        if (best?.objective !== undefined) detail.bestObjective = best.objective;
        await this.#o.events
          .publish(tuningProgressEventType, 'tuning-job', job.name, detail, job.updatedAt)
          .catch(onError);
      }
    };
    const stopping = job.status === 'Stopping';
    await this.#startPending(job, spec, state, stopping);
    await this.#follow(spec, state, stopping);
    if (!stopping && !state.finishing) {
      const reason = this.#completion(job, spec, state);
      if (reason)
        state.finishing = {
          reason: reason.reason,
          at: new Date().toISOString(),
          ...(reason.converged ? { converged: true } : {}),
        };
    }
    if (stopping || state.finishing) {
      for (const t of state.trials.filter((t) => t.status === 'InProgress')) await this.#stopTrial(t);
    }
    if (!state.trials.some(active)) {
      if (stopping)
        return save(JobLifecycle.advance(job, 'Stopped', new Date(), 'Stopped; every trial has ended'));
      if (state.finishing || state.trials.length >= spec.maxTrainingJobs) {
        const best = bestTrial(spec, state.trials);
        if (!best && state.trials.length > 0) {
          const first =
            state.trials.find((t) => t.failureReason)?.failureReason ??
            'no trial reported the objective metric';
          return save(
            JobLifecycle.fail(
              job,
              {
                code: 'FAILED_PRECONDITION',
                message: `no training job reported ${spec.objective.MetricName}: ${first}`,
                retryable: false,
              },
              new Date(),
            ),
          );
        }
        return save(
          JobLifecycle.advance(
            job,
            'Completed',
            new Date(),
            state.finishing?.reason ?? 'MaxNumberOfTrainingJobs reached',
          ),
        );
      }
    }
    // New trials for the free slots: stored first, created after.
    const free = spec.maxParallel - state.trials.filter(active).length;
    const room = spec.maxTrainingJobs - state.trials.length;
    const count = stopping || state.finishing ? 0 : Math.min(free, room);
    if (count > 0) {
      const space = new SearchSpace(spec.dimensions);
      const observations = [
        ...spec.priorObservations.map(({ values, objective }) => ({ values, objective })),
        ...state.trials
          .filter((t) => t.objective !== undefined)
          .map((t) => ({ values: t.values, objective: t.objective! })),
      ];
      // One proposal at a time, yielding between them: a model fit blocks this process's event
      // loop for up to a few hundred ms, and the API shares it.
      const proposals: ParameterValues[] = [];
      for (let k = 0; k < count; k++) {
        const [values] = proposeTrials(
          {
            space,
            strategy: spec.strategy,
            direction: spec.objective.Type,
            observations,
            pending: [...state.trials.filter(active).map((t) => t.values), ...proposals],
            trialIndex: state.trials.length + k,
            seed: spec.seed,
            budget: spec.maxTrainingJobs,
          },
          1,
        );
        if (!values) break;
        proposals.push(values);
        await new Promise((r) => setImmediate(r));
      }
      const at = new Date().toISOString();
      for (const values of proposals) {
        const index = state.trials.length;
        state.trials.push({
          index,
          name: childTrainingJobName(job.name, job.id, index),
          values,
          status: 'Pending',
          createdAt: at,
        });
      }
      await save();
      await this.#startPending(job, spec, state, false);
    }
    if (JSON.stringify(state) !== before) await save();
  }

  /** Creates the training jobs of stored proposals; a name that exists already is the trial's own. */
  async #startPending(
    job: JobRecord,
    spec: ResolvedTuningSpec,
    state: TuningState,
    stopping: boolean,
  ): Promise<void> {
    for (const t of state.trials.filter((t) => t.status === 'Pending')) {
      if (stopping || state.finishing) {
        try {
          await this.#o.trainingJobs.describe(t.name);
          t.status = 'InProgress'; // created before a restart: follow it, stop it
        } catch (error) {
          if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
          t.status = 'Stopped';
          t.endedAt = new Date().toISOString();
          t.failureReason = 'not started: the tuning job was stopping';
        }
        continue;
      }
      try {
        const body = childBody(spec.request, t.name, t.values, spec.fixedHyperParameters);
        // A built-in XGBoost trial judges itself at each round against the reference of the
        // trials so far, so the rule acts at the step even when its rounds outrun the tuner's pass.
        const launch = resolveTrainingLaunch(body);
        const reference = this.#reference(spec, state, t);
        const encoded = reference && encodeStoppingReference(reference);
        if (encoded && launch.mode === 'builtin' && launch.algorithm === 'xgboost')
          body.HyperParameters = { ...body.HyperParameters, [stopRuleHyperParameter]: encoded };
        await this.#o.trainingJobs.create(body);
        t.status = 'InProgress';
        this.#o.log.info({ tuningJob: job.name, trainingJob: t.name }, 'trial started');
      } catch (error) {
        if (TrainyardError.is(error, 'ALREADY_EXISTS')) t.status = 'InProgress';
        else if (
          TrainyardError.is(error, 'INVALID_ARGUMENT') ||
          TrainyardError.is(error, 'FAILED_PRECONDITION')
        ) {
          t.status = 'Failed';
          t.nonRetryable = true;
          t.endedAt = new Date().toISOString();
          t.failureReason = (error as Error).message;
        } else {
          t.retryableErrors = (t.retryableErrors ?? 0) + 1;
          if (t.retryableErrors >= maxCreateRetries) {
            t.status = 'Failed';
            t.endedAt = new Date().toISOString();
            t.failureReason = `could not create the training job: ${(error as Error).message}`;
          }
        }
      }
    }
  }

  async #curve(spec: ResolvedTuningSpec, name: string): Promise<IntermediatePoint[]> {
    const series = (await this.#o.trainingJobs.metrics(name)).metrics[spec.objective.MetricName] ?? [];
    return series.map((p, i) => ({ step: p.Iteration ?? i + 1, value: p.Value }));
  }

  /**
   * What trial `t` is judged against now: the median rule's reference from the completed trials, or
   * Hyperband's cut-offs from every other trial's curve; undefined when neither applies.
   */
  #reference(spec: ResolvedTuningSpec, state: TuningState, t: TrialState): StoppingReference | undefined {
    const direction = spec.objective.Type;
    if (spec.request.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType === 'Auto') {
      const completed = state.trials.filter((o) => o.status === 'Completed' && o.curve).map((o) => o.curve!);
      return { rule: 'median', direction, medians: medianReference(completed) };
    }
    if (!spec.hyperband) return undefined;
    const rungs = hyperbandRungs(spec.hyperband.minResource, spec.hyperband.maxResource);
    const others = state.trials
      .filter((o) => o !== t)
      .map((o) => o.curve ?? this.#curves.get(o.name))
      .filter((c): c is IntermediatePoint[] => c !== undefined);
    return { rule: 'hyperband', direction, cutoffs: hyperbandCutoffs(direction, rungs, others) };
  }

  /** Reads each running trial's training job; records ends and objectives; applies early stopping. */
  async #follow(spec: ResolvedTuningSpec, state: TuningState, stopping: boolean): Promise<void> {
    const judged =
      spec.request.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType === 'Auto' ||
      spec.hyperband !== undefined;
    for (const t of state.trials.filter((t) => t.status === 'InProgress' || t.status === 'Stopping')) {
      let view: TrainingJob;
      try {
        view = await this.#o.trainingJobs.describe(t.name);
      } catch (error) {
        if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
        t.status = 'Failed';
        t.endedAt = new Date().toISOString();
        t.failureReason = 'its training job was deleted';
        continue;
      }
      if (view.TrainingStartTime) t.startedAt = view.TrainingStartTime;
      if (JobLifecycle.isTerminal(view.TrainingJobStatus)) {
        t.status = view.TrainingJobStatus;
        t.endedAt = view.TrainingEndTime ?? new Date().toISOString();
        const final = view.FinalMetricDataList?.find((m) => m.MetricName === spec.objective.MetricName);
        if (final && Number.isFinite(final.Value) && view.TrainingJobStatus !== 'Failed')
          t.objective = final.Value;
        if (view.FailureReason) t.failureReason = view.FailureReason;
        else if (t.objective === undefined && view.TrainingJobStatus === 'Completed')
          t.failureReason = `the training job did not report ${spec.objective.MetricName}`;
        // A built-in trial that stopped itself by its stop rule says why in its Stopped transition.
        const message = view.SecondaryStatusTransitions?.at(-1)?.StatusMessage;
        if (t.status === 'Stopped' && !t.earlyStopReason && message?.startsWith(earlyStopMessagePrefix))
          t.earlyStopReason = message.slice(earlyStopMessagePrefix.length);
        if (judged) t.curve = await this.#curve(spec, t.name);
        this.#curves.delete(t.name);
        continue;
      }
      t.status = view.TrainingJobStatus;
      if (stopping || state.finishing || t.status === 'Stopping' || !judged) continue;
      const curve = await this.#curve(spec, t.name);
      this.#curves.set(t.name, curve);
      // A trial given a reference at launch stops itself where that reference condemns it (keeping
      // the model of its rounds); the tuner steps in only when newer trials condemn it.
      const launched = view.HyperParameters?.[stopRuleHyperParameter];
      if (launched !== undefined) {
        try {
          if (judgeTrial(parseStoppingReference(launched), curve)) continue;
        } catch {
          // Not a reference this tuner wrote: judge it live only.
        }
      }
      const reference = this.#reference(spec, state, t);
      const verdict = reference && judgeTrial(reference, curve);
      if (verdict) {
        t.earlyStopReason = stopReason(verdict);
        await this.#stopTrial(t);
      }
    }
  }

  async #stopTrial(t: TrialState): Promise<void> {
    try {
      const view = await this.#o.trainingJobs.stop(t.name);
      t.status = view.TrainingJobStatus;
    } catch (error) {
      // Ended meanwhile: the next pass records how.
      if (!TrainyardError.is(error, 'FAILED_PRECONDITION') && !TrainyardError.is(error, 'NOT_FOUND'))
        throw error;
    }
  }

  /** The completion criterion that holds now, if any. */
  #completion(
    job: JobRecord,
    spec: ResolvedTuningSpec,
    state: TuningState,
  ): { reason: string; converged?: boolean } | undefined {
    const config = spec.request.HyperParameterTuningJobConfig;
    const limit = config.ResourceLimits.MaxRuntimeInSeconds;
    if (limit !== undefined && Date.now() - job.createdAt.getTime() > limit * 1000)
      return { reason: `MaxRuntimeInSeconds (${limit}) reached` };
    const criteria = config.TuningJobCompletionCriteria;
    if (!criteria) return undefined;
    const direction = spec.objective.Type;
    const ended = state.trials
      .filter((t) => t.objective !== undefined && t.endedAt)
      .sort((a, b) => a.endedAt!.localeCompare(b.endedAt!) || a.index - b.index);
    if (ended.length === 0) return undefined;
    const best = bestTrial(spec, ended)!;
    const target = criteria.TargetObjectiveMetricValue;
    if (target !== undefined && (best.objective === target || better(direction, best.objective!, target)))
      return { reason: `TargetObjectiveMetricValue ${target} reached by ${best.name} (${best.objective})` };
    const patience = criteria.BestObjectiveNotImproving?.MaxNumberOfTrainingJobsNotImproving;
    if (patience !== undefined) {
      const since = ended.length - 1 - ended.indexOf(best);
      if (since >= patience)
        return { reason: `the best objective did not improve over ${since} training jobs` };
    }
    if (criteria.ConvergenceDetected?.CompleteOnConvergence === 'Enabled') {
      // Converged: the last W results moved the best by less than 0.01% of the spread seen.
      const window = Math.max(5, Math.ceil(spec.maxTrainingJobs / 5));
      if (ended.length >= 2 * window) {
        const before = bestTrial(spec, ended.slice(0, ended.length - window))!;
        const values = ended.map((t) => t.objective!);
        const spread = Math.max(...values) - Math.min(...values);
        if (Math.abs(best.objective! - before.objective!) <= 1e-4 * spread)
          return {
            reason: `converged: the last ${window} training jobs did not improve the best objective`,
            converged: true,
          };
      }
    }
    return undefined;
  }
}
