import {
  CreateProcessingJobBody,
  type ProcessingJob,
  type ProcessingJobSummary,
} from '@trainyard/contracts/processing-jobs';
import type { JobRecord } from '../ports/job-store.js';
import type { JobKindDefinition } from './job-kinds.js';

/** What a worker stores in `result` when a processing job completes. */
export interface ProcessingJobResult {
  outputs: NonNullable<ProcessingJob['ProcessingOutputs']>;
}

function processingView(job: JobRecord, spec: CreateProcessingJobBody): ProcessingJob {
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
  if (job.startedAt) out.ProcessingStartTime = job.startedAt.toISOString();
  if (job.endedAt) out.ProcessingEndTime = job.endedAt.toISOString();
  if (spec.RoleArn !== undefined) out.RoleArn = spec.RoleArn;
  if (spec.ProcessingOutputConfig) out.ProcessingOutputConfig = spec.ProcessingOutputConfig;
  if (spec.StoppingCondition) out.StoppingCondition = spec.StoppingCondition;
  if (spec.Environment) out.Environment = spec.Environment;
  if (result?.outputs) out.ProcessingOutputs = result.outputs;
  return out;
}

function processingSummary(job: JobRecord, spec: CreateProcessingJobBody): ProcessingJobSummary {
  const full = processingView(job, spec);
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

/** SageMaker processing jobs as a job kind. */
export const processingJobKind: JobKindDefinition<
  CreateProcessingJobBody,
  ProcessingJob,
  ProcessingJobSummary
> = {
  kind: 'processing',
  label: 'processing job',
  specSchema: CreateProcessingJobBody,
  view: processingView,
  summary: processingSummary,
  instanceTypeOf: (spec) => spec.ProcessingResources.ClusterConfig.InstanceType,
  maxRuntimeSeconds: (spec) => spec.StoppingCondition?.MaxRuntimeInSeconds,
};
