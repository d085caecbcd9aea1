import { parseDeliveryContentType } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogPage } from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import { refusePlatformUri } from '@trainyard/contracts/platform-namespace';
import type { StreamEvent } from '@trainyard/contracts/route';
import {
  CreateTrainingJobBody,
  type EvaluationReport,
  type MetricPoint,
  type TrainingJob,
  type TrainingJobMetrics,
  type TrainingJobSummary,
} from '@trainyard/contracts/training-jobs';
import type { TrainingLogStreamEvent } from '@trainyard/contracts/training-routes';
import type { JobDatasetCatalog } from '../jobs/job-dataset-catalog.js';
import type { JobKindDefinition } from '../jobs/job-kinds.js';
import { JobLifecycle } from '../jobs/job-lifecycle.js';
import type { JobService, KindJobs } from '../jobs/job-service.js';
import type { JobListFilter, JobRecord, JobStore } from '../ports/job-store.js';
import type { InstanceTypeStore } from '../ports/metadata-store.js';
import type { ExperimentService } from './experiment-service.js';
import { MetricCollector, pythonRegex } from './metric-extraction.js';
import { resolveTrainingLaunch, validateBuiltIn } from './training-algorithms.js';

/** What a worker stores in `result` when a training job ends (also after Failed or Stopped, when it got that far). */
export interface TrainingJobResult {
  /** s3:// URI of model.tar.gz once uploaded. */
  modelArtifacts?: string;
  /** s3:// URI of output.tar.gz, when the job wrote files to /opt/ml/output/data. */
  outputArtifacts?: string;
  metrics: Record<string, MetricPoint[]>;
  evaluation?: EvaluationReport;
  /** Seconds the training process(es) ran. */
  trainingSeconds?: number;
}

export interface TrainingJobServiceOptions {
  /** The kind-generic job operations ('training' must be registered). */
  jobs: JobService;
  /** Job rows, for the stored metric series. */
  store: JobStore;
  instanceTypes: InstanceTypeStore;
  datasets?: JobDatasetCatalog | undefined;
  /** GPUs on this installation's workers; instance types with more are refused. Default 0. */
  availableGpus?: number;
  /** Where a job's ExperimentConfig creates or joins its experiment and trial. */
  experiments?: Pick<ExperimentService, 'joinRun' | 'leaveTrials'> | undefined;
}

/** Where SageMaker puts a job's model: `<S3OutputPath>/<job>/output/model.tar.gz`. */
export function modelArtifactsUri(spec: CreateTrainingJobBody, name: string): string {
  return `${spec.OutputDataConfig.S3OutputPath.replace(/\/+$/, '')}/${name}/output/model.tar.gz`;
}

/** Log lines read for the metrics of a running job (the stored series replace them at the end). */
export const liveLogLines = 50_000;

/** The last value of each metric, as SageMaker's FinalMetricDataList (at most 40). */
function finalMetrics(
  metrics: Record<string, MetricPoint[]>,
): NonNullable<TrainingJob['FinalMetricDataList']> {
  return Object.entries(metrics)
    .filter(([, points]) => points.length > 0)
    .map(([name, points]) => {
      const last = points.at(-1)!;
      return { MetricName: name, Value: last.Value, Timestamp: last.Timestamp };
    })
    .slice(0, 40);
}

function seconds(from: Date | undefined, to: Date | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

/** The DescribeTrainingJob view of a job row; `pricePerHour` prices the billable time. */
export function toTrainingJob(
  job: JobRecord,
  spec: CreateTrainingJobBody,
  pricePerHour?: number,
): TrainingJob {
  const result = job.result as TrainingJobResult | undefined;
  const out: TrainingJob = {
    TrainingJobName: job.name,
    TrainingJobArn: job.arn,
    TrainingJobStatus: job.status,
    SecondaryStatus: job.secondaryStatus,
    SecondaryStatusTransitions: job.transitions,
    CreationTime: job.createdAt.toISOString(),
    LastModifiedTime: job.updatedAt.toISOString(),
    AlgorithmSpecification: spec.AlgorithmSpecification,
    OutputDataConfig: spec.OutputDataConfig,
    ResourceConfig: spec.ResourceConfig,
    StoppingCondition: spec.StoppingCondition,
    ModelArtifacts: { S3ModelArtifacts: result?.modelArtifacts ?? modelArtifactsUri(spec, job.name) },
    Attempts: job.attempts,
  };
  if (job.failure) {
    out.Failure = job.failure;
    out.FailureReason = job.failure.message;
  }
  if (job.startedAt) out.TrainingStartTime = job.startedAt.toISOString();
  if (job.endedAt) out.TrainingEndTime = job.endedAt.toISOString();
  if (spec.RoleArn !== undefined) out.RoleArn = spec.RoleArn;
  if (spec.HyperParameters) out.HyperParameters = spec.HyperParameters;
  if (spec.InputDataConfig) out.InputDataConfig = spec.InputDataConfig;
  if (spec.Environment) out.Environment = spec.Environment;
  if (spec.CheckpointConfig) out.CheckpointConfig = spec.CheckpointConfig;
  if (spec.Tags) out.Tags = spec.Tags;
  if (spec.ExperimentConfig) out.ExperimentConfig = spec.ExperimentConfig;
  if (result) {
    const finals = finalMetrics(result.metrics);
    if (finals.length > 0) out.FinalMetricDataList = finals;
    if (result.trainingSeconds !== undefined) out.TrainingTimeInSeconds = Math.round(result.trainingSeconds);
    if (result.evaluation) out.EvaluationReport = result.evaluation;
  }
  const billable = JobLifecycle.isTerminal(job.status) ? seconds(job.startedAt, job.endedAt) : undefined;
  if (billable !== undefined) {
    out.BillableTimeInSeconds = billable * spec.ResourceConfig.InstanceCount;
    if (pricePerHour !== undefined)
      out.EstimatedCostUsd = estimatedCost(out.BillableTimeInSeconds, pricePerHour);
  }
  return out;
}

/** USD for `seconds` at `pricePerHour`, to the micro-dollar. */
function estimatedCost(seconds: number, pricePerHour: number): number {
  return Math.round((seconds / 3600) * pricePerHour * 1e6) / 1e6;
}

export function toTrainingJobSummary(job: JobRecord): TrainingJobSummary {
  const summary: TrainingJobSummary = {
    TrainingJobName: job.name,
    TrainingJobArn: job.arn,
    TrainingJobStatus: job.status,
    SecondaryStatus: job.secondaryStatus,
    CreationTime: job.createdAt.toISOString(),
    LastModifiedTime: job.updatedAt.toISOString(),
  };
  if (job.endedAt) summary.TrainingEndTime = job.endedAt.toISOString();
  if (job.failure) summary.FailureReason = job.failure.message;
  return summary;
}

/** Training jobs as the API sees them: validation and create, the kind-generic operations, metrics. */
export class TrainingJobService {
  readonly #kind: KindJobs<TrainingJob, TrainingJobSummary>;

  constructor(private readonly options: TrainingJobServiceOptions) {
    this.#kind = options.jobs.forKind<TrainingJob, TrainingJobSummary>('training');
  }

  /** Validates the request (naming the field on refusal), stores the job InProgress/Pending and queues it. */
  async create(body: CreateTrainingJobBody): Promise<TrainingJob> {
    const pricePerHour = await this.#validate(body);
    const undoJoin = body.ExperimentConfig
      ? await this.options.experiments?.joinRun(body.ExperimentConfig, body.TrainingJobName)
      : undefined;
    try {
      const job = await this.options.jobs.enqueue('training', body.TrainingJobName, body);
      return toTrainingJob(job, body, pricePerHour);
    } catch (error) {
      await undoJoin?.();
      throw error;
    }
  }

  /**
   * DescribeTrainingJob, with the estimated cost of an ended job at its instance type's price.
   * Until the worker stores the series (a completed job), FinalMetricDataList holds the latest
   * values read from the job's log: live while it runs, and for a failed or stopped job.
   */
  async describe(name: string): Promise<TrainingJob> {
    const view = await this.#priced(await this.#kind.describe(name));
    if (view.FinalMetricDataList) return view;
    const live = await this.#liveMetrics(await this.options.store.get('training', name));
    const finals = finalMetrics(live);
    return finals.length > 0 ? { ...view, FinalMetricDataList: finals } : view;
  }

  /**
   * Checks a request as create does, without storing anything (the tuner checks its training
   * definition at create time). @throws INVALID_ARGUMENT naming the field
   */
  async validate(body: CreateTrainingJobBody): Promise<void> {
    await this.#validate(body);
  }

  list(filter: JobListFilter = {}): Promise<Page<TrainingJobSummary>> {
    return this.#kind.list(filter);
  }

  /**
   * Asks the job to stop: one no worker holds stops at once; a running one moves to Stopping, its
   * worker sends SIGTERM, then SIGKILL after the grace period, and ends it Stopped.
   * @throws FAILED_PRECONDITION when the job has already ended
   */
  async stop(name: string): Promise<TrainingJob> {
    return this.#priced(await this.#kind.stop(name));
  }

  /**
   * Deletes an ended training job and its log (its model.tar.gz and checkpoints stay where they
   * were written); the name can then be used again.
   * @throws NOT_FOUND; FAILED_PRECONDITION while the job has not ended (stop it first)
   */
  async delete(name: string): Promise<{ TrainingJobName: string; TrainingJobArn: string }> {
    const job = await this.options.store.get('training', name);
    await this.options.store.delete(job.id);
    await this.options.experiments?.leaveTrials(job.name);
    return { TrainingJobName: job.name, TrainingJobArn: job.arn };
  }

  /** A page of the job's log after `cursor`; `complete` once the job ended and all is read. */
  logs(name: string, cursor: number, limit: number): Promise<JobLogPage> {
    return this.#kind.logs(name, cursor, limit);
  }

  /**
   * Follows the job's log as stream events: its status now and on each change (`status`), each
   * line after `cursor` (`log`, id = the line's seq), and `end` once the job has ended and every
   * line was sent. Polls every `pollMs`.
   * @throws NOT_FOUND (before the first event) when there is no such job
   */
  async followLogs(
    name: string,
    cursor = 0,
    pollMs = 250,
  ): Promise<AsyncIterable<StreamEvent<TrainingLogStreamEvent>>> {
    await this.options.store.get('training', name);
    const store = this.options.store;
    const logs = (c: number) => this.logs(name, c, 1000);
    return {
      async *[Symbol.asyncIterator]() {
        let seen = '';
        let at = cursor;
        for (;;) {
          const job = await store.get('training', name);
          const status = {
            TrainingJobStatus: job.status,
            SecondaryStatus: job.secondaryStatus,
            ...(job.transitions.at(-1)?.StatusMessage
              ? { StatusMessage: job.transitions.at(-1)!.StatusMessage! }
              : {}),
          };
          const key = `${job.status}/${job.secondaryStatus}/${job.transitions.length}`;
          if (key !== seen) {
            yield { event: 'status', data: status };
            seen = key;
          }
          const page = await logs(at);
          for (const line of page.events) yield { event: 'log', id: String(line.seq), data: line };
          at = page.nextCursor;
          if (page.complete) {
            yield { event: 'end', data: status };
            return;
          }
          if (page.events.length < 1000) await new Promise((r) => setTimeout(r, pollMs));
        }
      },
    };
  }

  /**
   * Every metric point, by metric name: stored with a completed job; otherwise (running, failed,
   * stopped) read from its log (the first {@link liveLogLines} lines).
   */
  async metrics(name: string): Promise<TrainingJobMetrics> {
    const job = await this.options.store.get('training', name);
    const stored = (job.result as TrainingJobResult | undefined)?.metrics;
    return { metrics: stored ?? (await this.#liveMetrics(job)) };
  }

  async #liveMetrics(job: JobRecord): Promise<Record<string, MetricPoint[]>> {
    const spec = job.spec as CreateTrainingJobBody;
    let builtIns = false;
    try {
      builtIns = resolveTrainingLaunch(spec).mode === 'builtin';
    } catch {
      // A spec that no longer resolves has no built-in metric lines.
    }
    const collector = new MetricCollector(spec.AlgorithmSpecification.MetricDefinitions ?? [], { builtIns });
    let cursor = 0;
    while (cursor < liveLogLines) {
      const events = await this.options.store.readLogs(job.id, cursor, Math.min(5000, liveLogLines - cursor));
      for (const event of events)
        if (event.stream !== 'system') collector.line(event.message, new Date(event.at));
      if (events.length === 0) break;
      cursor = events.at(-1)!.seq;
    }
    return collector.series();
  }

  async #priced(view: TrainingJob): Promise<TrainingJob> {
    if (view.BillableTimeInSeconds === undefined) return view;
    try {
      const { pricePerHour } = await this.options.instanceTypes.get(view.ResourceConfig.InstanceType);
      return { ...view, EstimatedCostUsd: estimatedCost(view.BillableTimeInSeconds, pricePerHour) };
    } catch {
      return view;
    }
  }

  /** @returns the instance type's price per hour */
  async #validate(body: CreateTrainingJobBody): Promise<number> {
    const resource = body.ResourceConfig;
    let instanceType: Awaited<ReturnType<InstanceTypeStore['get']>>;
    try {
      instanceType = await this.options.instanceTypes.get(resource.InstanceType);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      throw invalidArgument(
        'ResourceConfig.InstanceType',
        `"${resource.InstanceType}" is not in the instance type catalog (trainyard instance-types list)`,
      );
    }
    const gpus = this.options.availableGpus ?? 0;
    if (instanceType.gpus > gpus) {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `ResourceConfig.InstanceType: "${resource.InstanceType}" has ${instanceType.gpus} GPU(s); the workers here have ${gpus}`,
        { field: 'ResourceConfig.InstanceType' },
      );
    }
    const algo = body.AlgorithmSpecification;
    if (algo.TrainingInputMode !== 'File') {
      throw invalidArgument('AlgorithmSpecification.TrainingInputMode', 'only File mode is supported');
    }
    (algo.MetricDefinitions ?? []).forEach((definition, i) => {
      try {
        new RegExp(pythonRegex(definition.Regex));
      } catch (error) {
        throw invalidArgument(
          `AlgorithmSpecification.MetricDefinitions.${i}.Regex`,
          `is not a valid regular expression: ${(error as Error).message}`,
        );
      }
    });
    const names = new Set<string>();
    (body.InputDataConfig ?? []).forEach((channel, i) => {
      const field = `InputDataConfig.${i}`;
      if (names.has(channel.ChannelName))
        throw invalidArgument(`${field}.ChannelName`, `"${channel.ChannelName}" is used twice`);
      names.add(channel.ChannelName);
      if ((channel.InputMode ?? 'File') !== 'File')
        throw invalidArgument(`${field}.InputMode`, 'only File mode is supported');
      if (channel.CompressionType !== 'None')
        throw invalidArgument(`${field}.CompressionType`, 'only None is supported');
      if (channel.RecordWrapperType !== 'None')
        throw invalidArgument(`${field}.RecordWrapperType`, 'only None is supported');
      const s3 = channel.DataSource.S3DataSource;
      if (s3 && s3.S3DataType !== 'S3Prefix')
        throw invalidArgument(`${field}.DataSource.S3DataSource.S3DataType`, 'only S3Prefix is supported');
      if (channel.DataSource.DatasetSource) {
        const delivery = parseDeliveryContentType(channel.ContentType);
        if (typeof delivery === 'string') throw invalidArgument(`${field}.ContentType`, delivery);
      }
      if (channel.DataSource.DatasetSource && !this.options.datasets) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${field}.DataSource.DatasetSource: datasets are not available on this server`,
          {
            field: `${field}.DataSource.DatasetSource`,
          },
        );
      }
    });
    // What a job writes goes where its creator says, never over the platform's own objects.
    refusePlatformUri(body.OutputDataConfig?.S3OutputPath, 'OutputDataConfig.S3OutputPath');
    refusePlatformUri(body.CheckpointConfig?.S3Uri, 'CheckpointConfig.S3Uri');
    const checkpoint = body.CheckpointConfig?.LocalPath;
    if (checkpoint !== undefined && !/^\/opt\/ml\/[A-Za-z0-9_./-]+$/.test(checkpoint)) {
      throw invalidArgument('CheckpointConfig.LocalPath', `"${checkpoint}" must be a folder under /opt/ml`);
    }
    const launch = resolveTrainingLaunch(body);
    if (launch.mode === 'builtin') validateBuiltIn(launch.algorithm, body);
    return instanceType.pricePerHour;
  }
}

/** SageMaker training jobs as a job kind. */
export const trainingJobKind: JobKindDefinition<CreateTrainingJobBody, TrainingJob, TrainingJobSummary> = {
  kind: 'training',
  label: 'training job',
  specSchema: CreateTrainingJobBody,
  view: (job, spec) => toTrainingJob(job, spec),
  summary: (job) => toTrainingJobSummary(job),
  instanceTypeOf: (spec) => spec.ResourceConfig.InstanceType,
  instanceCountOf: (spec) => spec.ResourceConfig.InstanceCount,
  maxRuntimeSeconds: (spec) => spec.StoppingCondition.MaxRuntimeInSeconds,
};
