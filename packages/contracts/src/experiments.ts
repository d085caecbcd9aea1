import { z } from 'zod';
import { JobStatus } from './jobs.js';
import { ExperimentName, MetricPoint } from './training-jobs.js';

/** One run of an experiment: a training job with its parameters, final metrics and artifacts. */
export const ExperimentRun = z.object({
  RunName: z.string(),
  TrainingJobName: z.string(),
  Status: JobStatus,
  CreationTime: z.string(),
  TrainingEndTime: z.string().optional(),
  /** The job's hyperparameters (SageMaker's own `sagemaker_*` keys left out). */
  Parameters: z.record(z.string(), z.string()),
  /** The last value of each metric. */
  FinalMetrics: z.record(z.string(), z.number()),
  /** With `curves=true`: every point of each metric, as chart data. */
  MetricCurves: z.record(z.string(), z.array(MetricPoint)).optional(),
  ModelArtifacts: z.string().optional(),
  FailureReason: z.string().optional(),
});
export type ExperimentRun = z.infer<typeof ExperimentRun>;

export const ExperimentSummary = z.object({
  ExperimentName: z.string(),
  DisplayName: z.string().optional(),
  Description: z.string().optional(),
  /** ISO 8601: when it was created (by a client, or by the first training job naming it). */
  CreationTime: z.string().optional(),
  /** Its training jobs (runs of the compare view). */
  Runs: z.number().int(),
  /** ISO 8601 creation time of its newest run; absent while it has none. */
  LastRunTime: z.string().optional(),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

export const CompareRunsQuery = z.object({
  /** A metric name (e.g. `validation:auc`) or `CreationTime`; runs without the metric come last. */
  sortBy: z.string().max(255).default('CreationTime'),
  order: z.enum(['asc', 'desc']).default('desc'),
  /** Include every metric point (chart data). */
  curves: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  status: JobStatus.optional(),
});

export const ExperimentRuns = z.object({
  ExperimentName: z.string(),
  /** Parameter names that differ between runs: the columns worth comparing. */
  VaryingParameters: z.array(z.string()),
  MetricNames: z.array(z.string()),
  Runs: z.array(ExperimentRun),
});
export type ExperimentRuns = z.infer<typeof ExperimentRuns>;

const Tag = z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) });

/** An experiment kept as a record: created by a client, or by the first training job that names it. */
export const Experiment = z.object({
  ExperimentName,
  DisplayName: z.string(),
  Description: z.string().optional(),
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
  /** The access key that created it (absent when a training job did). */
  CreatedBy: z.object({ KeyId: z.string(), KeyName: z.string() }).optional(),
});
export type Experiment = z.infer<typeof Experiment>;

export const CreateExperimentBody = z
  .object({
    ExperimentName,
    /** Default: the name. */
    DisplayName: ExperimentName.optional(),
    Description: z.string().max(3072).optional(),
    Tags: z.array(Tag).max(50).optional(),
  })
  .strict();
export type CreateExperimentBody = z.output<typeof CreateExperimentBody>;

/** A trial (a run group) of one experiment; its trial components are linked to it. */
export const Trial = z.object({
  TrialName: ExperimentName,
  DisplayName: z.string(),
  ExperimentName,
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
  MetadataProperties: z.record(z.string(), z.string()).optional(),
});
export type Trial = z.infer<typeof Trial>;

export const trialComponentStatuses = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;

/** SageMaker's TrialComponentParameterValue: a string or a number. */
export const TrialComponentParameterValue = z.union([
  z.object({ StringValue: z.string().max(2500) }).strict(),
  z.object({ NumberValue: z.number() }).strict(),
]);
export type TrialComponentParameterValue = z.infer<typeof TrialComponentParameterValue>;

export const TrialComponentArtifact = z.object({
  MediaType: z.string().max(64).optional(),
  Value: z.string().max(2048),
});

/**
 * A trial component a client created (parameters, status, times, artifacts). The trial component
 * of a training job is not stored: it is read from the job (`<job>-aws-training-job`).
 */
export const TrialComponent = z.object({
  TrialComponentName: ExperimentName,
  DisplayName: z.string(),
  Status: z
    .object({ PrimaryStatus: z.enum(trialComponentStatuses).optional(), Message: z.string().optional() })
    .optional(),
  StartTime: z.string().optional(),
  EndTime: z.string().optional(),
  Parameters: z.record(z.string(), TrialComponentParameterValue),
  InputArtifacts: z.record(z.string(), TrialComponentArtifact),
  OutputArtifacts: z.record(z.string(), TrialComponentArtifact),
  MetadataProperties: z.record(z.string(), z.string()).optional(),
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
});
export type TrialComponent = z.infer<typeof TrialComponent>;
