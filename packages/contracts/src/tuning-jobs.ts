import { z } from 'zod';
import { JobStatus } from './jobs.js';
import {
  AlgorithmSpecification,
  CreateTrainingJobBody,
  TrainingChannel,
  TrainingResourceConfig,
} from './training-jobs.js';

/** SageMaker's tuning job name rule: 1-32 letters, digits and hyphens inside. */
export const TuningJobName = z
  .string()
  .max(32)
  .regex(
    /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/,
    'use 1-32 letters, digits and hyphens, starting with a letter or digit',
  );

export const ScalingType = z.enum(['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic']);
const ParameterName = z.string().min(1).max(256);
/** Range bounds are strings, as in SageMaker (`"0.01"`, `"10"`). */
const Bound = z.string().min(1).max(256);

export const IntegerParameterRange = z
  .object({ Name: ParameterName, MinValue: Bound, MaxValue: Bound, ScalingType: ScalingType.optional() })
  .strict();
export const ContinuousParameterRange = IntegerParameterRange;
export const CategoricalParameterRange = z
  .object({ Name: ParameterName, Values: z.array(z.string().max(256)).min(1).max(30) })
  .strict();

export const ParameterRanges = z
  .object({
    IntegerParameterRanges: z.array(IntegerParameterRange).max(30).optional(),
    ContinuousParameterRanges: z.array(ContinuousParameterRange).max(30).optional(),
    CategoricalParameterRanges: z.array(CategoricalParameterRange).max(30).optional(),
  })
  .strict();
export type ParameterRanges = z.infer<typeof ParameterRanges>;

export const TuningObjective = z
  .object({ Type: z.enum(['Minimize', 'Maximize']), MetricName: z.string().min(1).max(255) })
  .strict();
export type TuningObjective = z.infer<typeof TuningObjective>;

export const TuningJobConfig = z
  .object({
    Strategy: z.enum(['Bayesian', 'Random', 'Grid', 'Hyperband']),
    StrategyConfig: z
      .object({
        HyperbandStrategyConfig: z
          .object({
            /** Training iterations (num_round, epochs) of the first rung. */
            MinResource: z.number().int().min(1).optional(),
            /** Iterations a trial runs at most; set as the algorithm's iteration hyperparameter. */
            MaxResource: z.number().int().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    HyperParameterTuningJobObjective: TuningObjective.optional(),
    ResourceLimits: z
      .object({
        /** Default for Grid: the size of the grid. Required for the other strategies. */
        MaxNumberOfTrainingJobs: z.number().int().min(1).max(10000).optional(),
        MaxParallelTrainingJobs: z.number().int().min(1).max(100),
        MaxRuntimeInSeconds: z.number().int().min(120).max(15768000).optional(),
      })
      .strict(),
    ParameterRanges: ParameterRanges.optional(),
    TrainingJobEarlyStoppingType: z.enum(['Off', 'Auto']).default('Off'),
    TuningJobCompletionCriteria: z
      .object({
        TargetObjectiveMetricValue: z.number().optional(),
        BestObjectiveNotImproving: z
          .object({ MaxNumberOfTrainingJobsNotImproving: z.number().int().min(3).optional() })
          .strict()
          .optional(),
        ConvergenceDetected: z
          .object({ CompleteOnConvergence: z.enum(['Disabled', 'Enabled']).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    RandomSeed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
  })
  .strict();
export type TuningJobConfig = z.output<typeof TuningJobConfig>;

/** SageMaker's HyperParameterTrainingJobDefinition (one definition per tuning job). */
export const TuningTrainingJobDefinition = z
  .object({
    DefinitionName: z.string().max(64).optional(),
    AlgorithmSpecification,
    RoleArn: z.string().max(2048).optional(),
    StaticHyperParameters: z.record(z.string().min(1).max(256), z.string().max(2500)).optional(),
    InputDataConfig: z.array(TrainingChannel).min(1).max(20).optional(),
    OutputDataConfig: CreateTrainingJobBody.shape.OutputDataConfig,
    ResourceConfig: TrainingResourceConfig,
    StoppingCondition: CreateTrainingJobBody.shape.StoppingCondition,
    Environment: z.record(z.string().max(512), z.string().max(512)).optional(),
    CheckpointConfig: CreateTrainingJobBody.shape.CheckpointConfig,
  })
  .strict();
export type TuningTrainingJobDefinition = z.output<typeof TuningTrainingJobDefinition>;

export const WarmStartConfig = z
  .object({
    ParentHyperParameterTuningJobs: z
      .array(z.object({ HyperParameterTuningJobName: TuningJobName }).strict())
      .min(1)
      .max(5),
    WarmStartType: z.enum(['IdenticalDataAndAlgorithm', 'TransferLearning']),
  })
  .strict();
export type WarmStartConfig = z.infer<typeof WarmStartConfig>;

export const CreateTuningJobBody = z
  .object({
    HyperParameterTuningJobName: TuningJobName,
    HyperParameterTuningJobConfig: TuningJobConfig,
    TrainingJobDefinition: TuningTrainingJobDefinition,
    WarmStartConfig: WarmStartConfig.optional(),
    Tags: z
      .array(z.object({ Key: z.string().max(128), Value: z.string().max(256) }))
      .max(50)
      .optional(),
  })
  .strict();
export type CreateTuningJobBody = z.output<typeof CreateTuningJobBody>;
export type CreateTuningJobInput = z.input<typeof CreateTuningJobBody>;

/** SageMaker's HyperParameterTuningJobStatus (no Deleting: tuning jobs are not deleted here). */
export const TuningJobStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);
export type TuningJobStatus = z.infer<typeof TuningJobStatus>;

export const TrainingJobStatusCounters = z.object({
  Completed: z.number().int(),
  InProgress: z.number().int(),
  RetryableError: z.number().int(),
  NonRetryableError: z.number().int(),
  Stopped: z.number().int(),
});
export const ObjectiveStatusCounters = z.object({
  Succeeded: z.number().int(),
  Pending: z.number().int(),
  Failed: z.number().int(),
});

/** One trial: SageMaker's HyperParameterTrainingJobSummary plus the trial's index. */
export const TuningTrial = z.object({
  TrialIndex: z.number().int(),
  TrainingJobName: z.string(),
  TrainingJobArn: z.string(),
  TuningJobName: z.string(),
  CreationTime: z.string(),
  TrainingStartTime: z.string().optional(),
  TrainingEndTime: z.string().optional(),
  /** `Pending` until its training job exists (a moment after it is proposed). */
  TrainingJobStatus: z.union([JobStatus, z.literal('Pending')]),
  TunedHyperParameters: z.record(z.string(), z.string()),
  FailureReason: z.string().optional(),
  FinalHyperParameterTuningJobObjectiveMetric: z
    .object({ Type: z.enum(['Minimize', 'Maximize']), MetricName: z.string(), Value: z.number() })
    .optional(),
  ObjectiveStatus: z.enum(['Succeeded', 'Pending', 'Failed']),
  /** Why the tuner stopped it early (median rule or a Hyperband rung), when it did. */
  EarlyStopReason: z.string().optional(),
  /** The trial came from a warm-start parent (its objective counts toward the model, it is not rerun). */
  ParentTuningJobName: z.string().optional(),
});
export type TuningTrial = z.infer<typeof TuningTrial>;

export const TuningJob = z.object({
  HyperParameterTuningJobName: z.string(),
  HyperParameterTuningJobArn: z.string(),
  HyperParameterTuningJobConfig: TuningJobConfig,
  TrainingJobDefinition: TuningTrainingJobDefinition,
  WarmStartConfig: WarmStartConfig.optional(),
  HyperParameterTuningJobStatus: TuningJobStatus,
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
  HyperParameterTuningEndTime: z.string().optional(),
  TrainingJobStatusCounters,
  ObjectiveStatusCounters,
  BestTrainingJob: TuningTrial.optional(),
  /** With IdenticalDataAndAlgorithm warm start: the best over this job and its parents. */
  OverallBestTrainingJob: TuningTrial.optional(),
  FailureReason: z.string().optional(),
  TuningJobCompletionDetails: z
    .object({
      NumberOfTrainingJobsObjectiveNotImproving: z.number().int().optional(),
      ConvergenceDetectedTime: z.string().optional(),
      /** Trainyard: which criterion ended the job, in words. */
      CompletionReason: z.string().optional(),
    })
    .optional(),
  ConsumedResources: z.object({ RuntimeInSeconds: z.number().int() }).optional(),
  /** Trainyard: observations taken from warm-start parents. */
  WarmStartObservations: z.number().int().optional(),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
});
export type TuningJob = z.infer<typeof TuningJob>;

export const TuningJobSummary = TuningJob.pick({
  HyperParameterTuningJobName: true,
  HyperParameterTuningJobArn: true,
  HyperParameterTuningJobStatus: true,
  CreationTime: true,
  LastModifiedTime: true,
  HyperParameterTuningEndTime: true,
  TrainingJobStatusCounters: true,
  ObjectiveStatusCounters: true,
}).extend({
  Strategy: TuningJobConfig.shape.Strategy,
  ResourceLimits: TuningJobConfig.shape.ResourceLimits,
  /** The best objective value so far, when any trial has one. */
  BestObjectiveValue: z.number().optional(),
});
export type TuningJobSummary = z.infer<typeof TuningJobSummary>;

export const TuningTrialsQuery = z.object({
  status: z.union([JobStatus, z.literal('Pending')]).optional(),
  sortBy: z.enum(['Name', 'CreationTime', 'Status', 'FinalObjectiveMetricValue']).default('CreationTime'),
  order: z.enum(['Ascending', 'Descending']).default('Ascending'),
});
export type TuningTrialsQuery = z.output<typeof TuningTrialsQuery>;
