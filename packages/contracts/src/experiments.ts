import { z } from 'zod';
import { JobStatus } from './jobs.js';
import { MetricPoint } from './training-jobs.js';

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
  Runs: z.number().int(),
  /** ISO 8601 creation time of its newest run. */
  LastRunTime: z.string(),
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
