import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogPage } from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import type {
  CreateTrainingJobBody,
  EvaluationReport,
  MetricPoint,
  TrainingJob,
  TrainingJobMetrics,
  TrainingJobSummary,
} from '@trainyard/contracts/training-jobs';
import type { JobDatasetCatalog } from '../jobs/job-dataset-catalog.js';
import { type JobDispatchMessage, jobArn, jobQueueName, newJobId } from '../jobs/job-dispatch.js';
import { type JobEventSink, publishJobStateChange } from '../jobs/job-events.js';
import { JobLifecycle } from '../jobs/job-lifecycle.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobListFilter, JobRecord, JobStore } from '../ports/job-store.js';
import type { InstanceTypeStore } from '../ports/metadata-store.js';
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
  jobs: JobStore;
  queue: JobQueue;
  instanceTypes: InstanceTypeStore;
  datasets?: JobDatasetCatalog | undefined;
  events?: JobEventSink | undefined;
  /** GPUs on this installation's workers; instance types with more are refused. Default 0. */
  availableGpus?: number;
}

/** Where SageMaker puts a job's model: `<S3OutputPath>/<job>/output/model.tar.gz`. */
export function modelArtifactsUri(spec: CreateTrainingJobBody, name: string): string {
  return `${spec.OutputDataConfig.S3OutputPath.replace(/\/+$/, '')}/${name}/output/model.tar.gz`;
}

function seconds(from: Date | undefined, to: Date | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

/** The DescribeTrainingJob view of a job row; `pricePerHour` prices the billable time. */
export function toTrainingJob(job: JobRecord, pricePerHour?: number): TrainingJob {
  const spec = job.spec as CreateTrainingJobBody;
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
  if (result) {
    const finals = Object.entries(result.metrics)
      .filter(([, points]) => points.length > 0)
      .map(([name, points]) => {
        const last = points.at(-1)!;
        return { MetricName: name, Value: last.Value, Timestamp: last.Timestamp };
      });
    if (finals.length > 0) out.FinalMetricDataList = finals.slice(0, 40);
    if (result.trainingSeconds !== undefined) out.TrainingTimeInSeconds = Math.round(result.trainingSeconds);
    if (result.evaluation) out.EvaluationReport = result.evaluation;
  }
  const billable = JobLifecycle.isTerminal(job.status) ? seconds(job.startedAt, job.endedAt) : undefined;
  if (billable !== undefined) {
    out.BillableTimeInSeconds = billable * spec.ResourceConfig.InstanceCount;
    if (pricePerHour !== undefined) {
      out.EstimatedCostUsd = Math.round((out.BillableTimeInSeconds / 3600) * pricePerHour * 1e6) / 1e6;
    }
  }
  return out;
}

function toSummary(job: JobRecord): TrainingJobSummary {
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

/**
 * Training jobs: validates and queues them (a job kind on the shared job queue and worker, beside
 * processing jobs), describes, lists and stops them, and serves their logs and metrics.
 */
export class TrainingJobService {
  constructor(private readonly options: TrainingJobServiceOptions) {}

  /** Validates the request (naming the field on refusal), stores the job InProgress/Pending and queues it. */
  async create(body: CreateTrainingJobBody): Promise<TrainingJob> {
    const pricePerHour = await this.#validate(body);
    const at = new Date();
    const job = await this.options.jobs.create({
      id: newJobId(at),
      kind: 'training',
      name: body.TrainingJobName,
      arn: jobArn('training', body.TrainingJobName),
      spec: body,
      transitions: JobLifecycle.queued(at),
      createdAt: at,
    });
    const message: JobDispatchMessage = { jobId: job.id, kind: 'training' };
    try {
      await this.options.queue.send(jobQueueName, JSON.stringify(message));
    } catch (error) {
      await this.options.jobs.update(
        job.id,
        JobLifecycle.fail(
          job,
          {
            code: 'UNAVAILABLE',
            message: `could not queue the job: ${(error as Error).message}`,
            retryable: true,
          },
          new Date(),
        ),
      );
      throw error;
    }
    await publishJobStateChange(this.options.events, undefined, job);
    return toTrainingJob(job, pricePerHour);
  }

  async describe(name: string): Promise<TrainingJob> {
    const job = await this.options.jobs.get('training', name);
    return toTrainingJob(job, await this.#price(job));
  }

  async list(filter: JobListFilter = {}): Promise<Page<TrainingJobSummary>> {
    const page = await this.options.jobs.list('training', filter);
    const out: Page<TrainingJobSummary> = { items: page.items.map(toSummary) };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /**
   * Asks the job to stop: one no worker holds stops at once; a running one moves to Stopping, its
   * worker sends SIGTERM, then SIGKILL after the grace period, and ends it Stopped.
   * @throws FAILED_PRECONDITION when the job has already ended
   */
  async stop(name: string): Promise<TrainingJob> {
    for (;;) {
      const job = await this.options.jobs.get('training', name);
      if (JobLifecycle.isTerminal(job.status)) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `training job "${name}" has already ended (${job.status}); only a running job can be stopped`,
          { name },
        );
      }
      if (job.status === 'Stopping') return toTrainingJob(job);
      const now = new Date();
      const held = job.claimHolder !== undefined && (job.claimExpiresAt?.getTime() ?? 0) >= now.getTime();
      const patch = held
        ? JobLifecycle.advance(job, 'Stopping', now, 'Stop requested')
        : JobLifecycle.advance(job, 'Stopped', now, 'Stopped before a worker ran it');
      try {
        const updated = await this.options.jobs.update(job.id, patch, { version: job.version });
        await publishJobStateChange(this.options.events, job, updated);
        return toTrainingJob(updated, await this.#price(updated));
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT')) throw error;
      }
    }
  }

  /** A page of the job's log after `cursor`; `complete` once the job ended and all is read. */
  async logs(name: string, cursor: number, limit: number): Promise<JobLogPage> {
    const job = await this.options.jobs.get('training', name);
    const events = await this.options.jobs.readLogs(job.id, cursor, limit);
    const last = events.at(-1);
    return {
      events,
      nextCursor: last ? last.seq : cursor,
      complete: JobLifecycle.isTerminal(job.status) && events.length < limit,
    };
  }

  /** Every stored metric point, by metric name (written when the job ends). */
  async metrics(name: string): Promise<TrainingJobMetrics> {
    const job = await this.options.jobs.get('training', name);
    return { metrics: (job.result as TrainingJobResult | undefined)?.metrics ?? {} };
  }

  async #price(job: JobRecord): Promise<number | undefined> {
    const spec = job.spec as CreateTrainingJobBody;
    try {
      return (await this.options.instanceTypes.get(spec.ResourceConfig.InstanceType)).pricePerHour;
    } catch {
      return undefined;
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
    const checkpoint = body.CheckpointConfig?.LocalPath;
    if (checkpoint !== undefined && !/^\/opt\/ml\/[A-Za-z0-9_./-]+$/.test(checkpoint)) {
      throw invalidArgument('CheckpointConfig.LocalPath', `"${checkpoint}" must be a folder under /opt/ml`);
    }
    const launch = resolveTrainingLaunch(body);
    if (launch.mode === 'builtin') validateBuiltIn(launch.algorithm, body);
    return instanceType.pricePerHour;
  }
}

/** Python's named groups `(?P<name>…)` in JavaScript's syntax; the rest of SageMaker's regexes is common. */
export function pythonRegex(source: string): string {
  return source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
}
