import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogPage } from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import { isPlatformUri, platformBucket } from '@trainyard/contracts/platform-namespace';
import type {
  CreateProcessingJobBody,
  ProcessingJob,
  ProcessingJobSummary,
} from '@trainyard/contracts/processing-jobs';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobListFilter, JobRecord, JobStore } from '../ports/job-store.js';
import type { InstanceTypeStore } from '../ports/metadata-store.js';
import type { JobDatasetCatalog } from './job-dataset-catalog.js';
import { type JobDispatchMessage, jobArn, jobQueueName, newJobId } from './job-dispatch.js';
import { type JobEventSink, publishJobStateChange } from './job-events.js';
import { JobLifecycle } from './job-lifecycle.js';

/** What a worker stores in `result` when a processing job completes. */
export interface ProcessingJobResult {
  outputs: NonNullable<ProcessingJob['ProcessingOutputs']>;
}

export interface ProcessingJobServiceOptions {
  jobs: JobStore;
  queue: JobQueue;
  instanceTypes: InstanceTypeStore;
  /** Absent until datasets are wired: DatasetInput/DatasetOutput are then refused. */
  datasets?: JobDatasetCatalog | undefined;
  /** Images the runtime implements itself (no ContainerEntrypoint needed). */
  builtInImages?: readonly string[];
  /** Receives `trainyard.processing-job.state-change` events (queued, stop requested). */
  events?: JobEventSink | undefined;
}

function iso(d: Date | undefined): string | undefined {
  return d?.toISOString();
}

/** The DescribeProcessingJob view of a job row. */
export function toProcessingJob(job: JobRecord): ProcessingJob {
  const spec = job.spec as CreateProcessingJobBody;
  const result = job.result as ProcessingJobResult | undefined;
  const out: ProcessingJob = {
    ProcessingJobName: job.name,
    ProcessingJobArn: job.arn,
    ProcessingJobStatus: job.status,
    SecondaryStatus: job.secondaryStatus,
    SecondaryStatusTransitions: job.transitions,
    CreationTime: job.createdAt.toISOString(),
    LastModifiedTime: job.updatedAt.toISOString(),
    ProcessingResources: spec.ProcessingResources,
    AppSpecification: spec.AppSpecification,
    ProcessingInputs: spec.ProcessingInputs,
    Attempts: job.attempts,
  };
  if (job.failure) {
    out.Failure = job.failure;
    out.FailureReason = job.failure.message;
  }
  if (job.exitMessage !== undefined) out.ExitMessage = job.exitMessage;
  if (job.startedAt) out.ProcessingStartTime = iso(job.startedAt);
  if (job.endedAt) out.ProcessingEndTime = iso(job.endedAt);
  if (spec.RoleArn !== undefined) out.RoleArn = spec.RoleArn;
  if (spec.ProcessingOutputConfig) out.ProcessingOutputConfig = spec.ProcessingOutputConfig;
  if (spec.StoppingCondition) out.StoppingCondition = spec.StoppingCondition;
  if (spec.Environment) out.Environment = spec.Environment;
  if (result?.outputs) out.ProcessingOutputs = result.outputs;
  return out;
}

function toSummary(job: JobRecord): ProcessingJobSummary {
  const full = toProcessingJob(job);
  const summary: ProcessingJobSummary = {
    ProcessingJobName: full.ProcessingJobName,
    ProcessingJobArn: full.ProcessingJobArn,
    ProcessingJobStatus: full.ProcessingJobStatus,
    SecondaryStatus: full.SecondaryStatus,
    CreationTime: full.CreationTime,
    LastModifiedTime: full.LastModifiedTime,
  };
  if (full.ProcessingEndTime) summary.ProcessingEndTime = full.ProcessingEndTime;
  if (full.FailureReason) summary.FailureReason = full.FailureReason;
  if (full.ExitMessage) summary.ExitMessage = full.ExitMessage;
  return summary;
}

/**
 * Processing jobs: validates and queues them, describes, lists and stops them. The work itself
 * happens in a worker (`@trainyard/runtime/jobs/job-worker`) that takes the queued message.
 */
export class ProcessingJobService {
  constructor(private readonly options: ProcessingJobServiceOptions) {}

  /** Validates the request, stores the job as InProgress/Pending and queues it. */
  async create(body: CreateProcessingJobBody): Promise<ProcessingJob> {
    const spec = await this.#validate(body);
    const at = new Date();
    const job = await this.options.jobs.create({
      id: newJobId(at),
      kind: 'processing',
      name: spec.ProcessingJobName,
      arn: jobArn('processing', spec.ProcessingJobName),
      spec,
      transitions: JobLifecycle.queued(at),
      createdAt: at,
    });
    const message: JobDispatchMessage = { jobId: job.id, kind: 'processing' };
    try {
      await this.options.queue.send(jobQueueName, JSON.stringify(message));
    } catch (error) {
      // Without its message no worker would ever take the job: record that instead of a silent Pending.
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
    return toProcessingJob(job);
  }

  async describe(name: string): Promise<ProcessingJob> {
    return toProcessingJob(await this.options.jobs.get('processing', name));
  }

  async list(filter: JobListFilter = {}): Promise<Page<ProcessingJobSummary>> {
    const page = await this.options.jobs.list('processing', filter);
    const out: Page<ProcessingJobSummary> = { items: page.items.map(toSummary) };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /**
   * Asks the job to stop. A job no worker holds stops at once; a running one moves to Stopping
   * and its worker sends SIGTERM, then SIGKILL after the grace period, and ends it Stopped.
   * @throws FAILED_PRECONDITION when the job has already ended
   */
  async stop(name: string): Promise<ProcessingJob> {
    for (;;) {
      const job = await this.options.jobs.get('processing', name);
      if (JobLifecycle.isTerminal(job.status)) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `processing job "${name}" has already ended (${job.status}); only a running job can be stopped`,
          { name },
        );
      }
      if (job.status === 'Stopping') return toProcessingJob(job);
      const now = new Date();
      const held = job.claimHolder !== undefined && (job.claimExpiresAt?.getTime() ?? 0) >= now.getTime();
      const patch = held
        ? JobLifecycle.advance(job, 'Stopping', now, 'Stop requested')
        : JobLifecycle.advance(job, 'Stopped', now, 'Stopped before a worker ran it');
      try {
        const updated = await this.options.jobs.update(job.id, patch, { version: job.version });
        await publishJobStateChange(this.options.events, job, updated);
        return toProcessingJob(updated);
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT')) throw error;
        // A worker moved it meanwhile (claimed it, changed status): decide again on the new state.
      }
    }
  }

  /** A page of the job's log after `cursor`; `complete` once the job ended and all is read. */
  async logs(name: string, cursor: number, limit: number): Promise<JobLogPage> {
    // Status first, then events: a worker writes its last lines before it ends the job, so a
    // reader that sees the end also sees every line.
    const job = await this.options.jobs.get('processing', name);
    const events = await this.options.jobs.readLogs(job.id, cursor, limit);
    const last = events.at(-1);
    return {
      events,
      nextCursor: last ? last.seq : cursor,
      complete: JobLifecycle.isTerminal(job.status) && events.length < limit,
    };
  }

  async #validate(body: CreateProcessingJobBody): Promise<CreateProcessingJobBody> {
    const cluster = body.ProcessingResources.ClusterConfig;
    const typeField = 'ProcessingResources.ClusterConfig.InstanceType';
    try {
      await this.options.instanceTypes.get(cluster.InstanceType);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      throw invalidArgument(typeField, `"${cluster.InstanceType}" is not in the instance type catalog`);
    }
    if (cluster.InstanceCount !== 1) {
      throw invalidArgument(
        'ProcessingResources.ClusterConfig.InstanceCount',
        'the local executor runs one instance per job; use 1',
      );
    }
    const app = body.AppSpecification;
    const builtIn = (this.options.builtInImages ?? []).includes(app.ImageUri);
    if (!builtIn && !app.ContainerEntrypoint) {
      throw invalidArgument(
        'AppSpecification.ContainerEntrypoint',
        `is required: there is no container runtime, so the entrypoint is the command to run (e.g. ["python3", "/opt/ml/processing/input/code/prep.py"])${
          this.options.builtInImages?.length
            ? `; built-in images: ${this.options.builtInImages.join(', ')}`
            : ''
        }`,
      );
    }
    const paths = new Map<string, string>();
    const claimPath = (path: string, field: string) => {
      const normalized = path.replace(/\/+$/, '');
      for (const [other, otherField] of paths) {
        if (
          normalized === other ||
          normalized.startsWith(`${other}/`) ||
          other.startsWith(`${normalized}/`)
        ) {
          throw invalidArgument(field, `"${path}" overlaps ${otherField} ("${other}")`);
        }
      }
      paths.set(normalized, field);
      return normalized;
    };
    const inputNames = new Set<string>();
    const inputs = body.ProcessingInputs.map((input, i) => {
      const field = `ProcessingInputs.${i}`;
      if (inputNames.has(input.InputName))
        throw invalidArgument(`${field}.InputName`, `"${input.InputName}" is used twice`);
      inputNames.add(input.InputName);
      const fallback = `/opt/ml/processing/input/${input.InputName}`;
      if (input.S3Input) {
        const s3 = input.S3Input;
        if (s3.S3InputMode !== 'File') {
          throw invalidArgument(`${field}.S3Input.S3InputMode`, 'only File mode is supported (no Pipe mode)');
        }
        if (s3.S3DataType !== 'S3Prefix') {
          throw invalidArgument(`${field}.S3Input.S3DataType`, 'only S3Prefix is supported');
        }
        if (s3.S3CompressionType !== 'None') {
          throw invalidArgument(
            `${field}.S3Input.S3CompressionType`,
            'Gzip applies to Pipe mode only; use None',
          );
        }
        const LocalPath = claimPath(s3.LocalPath ?? fallback, `${field}.S3Input.LocalPath`);
        return { ...input, S3Input: { ...s3, LocalPath } };
      }
      if (!this.options.datasets) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${field}.DatasetInput: datasets are not available on this server`,
          { field: `${field}.DatasetInput` },
        );
      }
      const ds = input.DatasetInput!;
      const LocalPath = claimPath(ds.LocalPath ?? fallback, `${field}.DatasetInput.LocalPath`);
      return { ...input, DatasetInput: { ...ds, LocalPath } };
    });
    const outputNames = new Set<string>();
    const outputs = body.ProcessingOutputConfig?.Outputs.map((output, i) => {
      const field = `ProcessingOutputConfig.Outputs.${i}`;
      if (outputNames.has(output.OutputName)) {
        throw invalidArgument(`${field}.OutputName`, `"${output.OutputName}" is used twice`);
      }
      outputNames.add(output.OutputName);
      if (output.S3Output && isPlatformUri(output.S3Output.S3Uri)) {
        throw new TrainyardError(
          'PERMISSION_DENIED',
          `${field}.S3Output.S3Uri: bucket "${platformBucket}" is the platform's own (dataset versions, job outputs); choose a bucket of your own, or leave S3Output out with DatasetOutput`,
          { field: `${field}.S3Output.S3Uri` },
        );
      }
      const s3 = output.S3Output ?? {
        S3Uri: `s3://${platformBucket}/jobs/processing/${body.ProcessingJobName}/output/${output.OutputName}/`,
        S3UploadMode: 'EndOfJob' as const,
      };
      if (s3.S3UploadMode !== 'EndOfJob') {
        throw invalidArgument(`${field}.S3Output.S3UploadMode`, 'only EndOfJob is supported');
      }
      if (output.DatasetOutput && !this.options.datasets) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${field}.DatasetOutput: datasets are not available on this server`,
          { field: `${field}.DatasetOutput` },
        );
      }
      const LocalPath = claimPath(
        s3.LocalPath ?? `/opt/ml/processing/output/${output.OutputName}`,
        `${field}.S3Output.LocalPath`,
      );
      return { ...output, S3Output: { ...s3, LocalPath } };
    });
    const spec: CreateProcessingJobBody = { ...body, ProcessingInputs: inputs };
    if (outputs) spec.ProcessingOutputConfig = { Outputs: outputs };
    return spec;
  }
}
