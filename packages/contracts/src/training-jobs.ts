import { z } from 'zod';
import { DatasetName } from './datasets.js';
import { JobFailure, JobName, JobStatus, SecondaryStatus, SecondaryStatusTransition } from './jobs.js';

const S3Uri = z
  .string()
  .max(1024)
  .regex(/^s3:\/\/[^/]+(\/.*)?$/, 'must be an s3://bucket/key address');

export const MetricDefinition = z.object({
  Name: z.string().min(1).max(255),
  /** A regular expression over each log line; its first capture group is the value. */
  Regex: z.string().min(1).max(500),
});
export type MetricDefinition = z.infer<typeof MetricDefinition>;

export const AlgorithmSpecification = z
  .object({
    /**
     * There is no container runtime: an image URI names a built-in algorithm (`…/sagemaker-xgboost:1.7-1`,
     * `…/linear-learner:1`, `…/kmeans:1`, `…/pca:1`, `…/knn:1`, `…/randomcutforest:1`) or a framework
     * (scikit-learn, PyTorch, plain Python images run Debian's python3) for script mode.
     */
    TrainingImage: z.string().min(1).max(255).optional(),
    /** A built-in algorithm by name: `xgboost`, `linear-learner`, `kmeans`, `pca`, `knn`, `randomcutforest`. */
    AlgorithmName: z.string().min(1).max(170).optional(),
    TrainingInputMode: z.enum(['File', 'Pipe', 'FastFile']).default('File'),
    MetricDefinitions: z.array(MetricDefinition).max(40).optional(),
    /** Any command (e.g. `["python3", "/opt/ml/code/train.py"]`); `/opt/ml` paths are rewritten. */
    ContainerEntrypoint: z.array(z.string().max(256)).min(1).max(100).optional(),
    ContainerArguments: z.array(z.string().max(256)).max(100).optional(),
  })
  .refine((a) => (a.TrainingImage === undefined) !== (a.AlgorithmName === undefined), {
    message: 'give exactly one of TrainingImage and AlgorithmName',
  });

export const TrainingChannel = z
  .object({
    ChannelName: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9.\-_]+$/, 'use letters, digits, ".", "-" and "_"'),
    DataSource: z
      .object({
        S3DataSource: z
          .object({
            S3DataType: z.enum(['S3Prefix', 'ManifestFile', 'AugmentedManifestFile']).default('S3Prefix'),
            S3Uri,
            S3DataDistributionType: z.enum(['FullyReplicated', 'ShardedByS3Key']).default('FullyReplicated'),
          })
          .optional(),
        /** Trainyard extension: a dataset version's Parquet file as the channel. */
        DatasetSource: z.object({ DatasetName, Version: z.number().int().min(1).optional() }).optional(),
      })
      .refine((d) => (d.S3DataSource === undefined) !== (d.DatasetSource === undefined), {
        message: 'give exactly one of S3DataSource and DatasetSource',
      }),
    /** e.g. `text/csv`, `text/libsvm`, `application/x-parquet`. */
    ContentType: z.string().max(256).optional(),
    CompressionType: z.enum(['None', 'Gzip']).default('None'),
    RecordWrapperType: z.enum(['None', 'RecordIO']).default('None'),
    InputMode: z.enum(['File', 'Pipe', 'FastFile']).optional(),
  })
  .strict();
export type TrainingChannel = z.output<typeof TrainingChannel>;

export const ExperimentName = z
  .string()
  .min(1)
  .max(120)
  .regex(
    /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$/,
    'use letters, digits and hyphens, starting with a letter or digit',
  );

/** SageMaker's ExperimentConfig: the job is a run of this experiment (compare runs with `/experiments/:name/runs`). */
export const ExperimentConfig = z
  .object({
    ExperimentName,
    /** Default: the training job's name. */
    RunName: z.string().min(1).max(120).optional(),
    TrialName: z.string().max(120).optional(),
    TrialComponentDisplayName: z.string().max(120).optional(),
  })
  .strict();

export const TrainingResourceConfig = z.object({
  InstanceType: z.string().min(1).max(64),
  InstanceCount: z.number().int().min(1).max(16).default(1),
  VolumeSizeInGB: z.number().int().min(1).max(16384).default(30),
});

export const CreateTrainingJobBody = z
  .object({
    TrainingJobName: JobName,
    AlgorithmSpecification,
    RoleArn: z.string().max(2048).optional(),
    /** Values are strings, as SageMaker passes them. */
    HyperParameters: z.record(z.string().min(1).max(256), z.string().max(2500)).optional(),
    InputDataConfig: z.array(TrainingChannel).min(1).max(20).optional(),
    OutputDataConfig: z.object({
      /** `model.tar.gz` goes to `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz`. */
      S3OutputPath: S3Uri,
      KmsKeyId: z.string().max(2048).optional(),
      CompressionType: z.enum(['GZIP', 'NONE']).default('GZIP'),
    }),
    ResourceConfig: TrainingResourceConfig,
    StoppingCondition: z
      .object({ MaxRuntimeInSeconds: z.number().int().min(1).max(2419200).default(86400) })
      .default({ MaxRuntimeInSeconds: 86400 }),
    Environment: z.record(z.string().max(512), z.string().max(512)).optional(),
    CheckpointConfig: z
      .object({ S3Uri, LocalPath: z.string().max(4096).default('/opt/ml/checkpoints') })
      .optional(),
    Tags: z
      .array(z.object({ Key: z.string().max(128), Value: z.string().max(256) }))
      .max(50)
      .optional(),
    ExperimentConfig: ExperimentConfig.optional(),
  })
  .strict();
export type CreateTrainingJobBody = z.output<typeof CreateTrainingJobBody>;
export type CreateTrainingJobInput = z.input<typeof CreateTrainingJobBody>;

/** One observation of a metric: from a built-in's per-iteration log or a MetricDefinitions regex. */
export const MetricPoint = z.object({
  /** ISO 8601 time of the log line. */
  Timestamp: z.string(),
  Value: z.number(),
  /** The iteration (round, epoch) when the algorithm reports one. */
  Iteration: z.number().int().optional(),
});
export type MetricPoint = z.infer<typeof MetricPoint>;

export const FinalMetric = z.object({ MetricName: z.string(), Value: z.number(), Timestamp: z.string() });

/** A histogram over `edges` (length bins + 1). */
const Histogram = z.object({ edges: z.array(z.number()), counts: z.array(z.number().int()) });

export const ClassificationReport = z.object({
  type: z.literal('classification'),
  channel: z.string(),
  rows: z.number().int(),
  labels: z.array(z.number()),
  /** Rows are true labels, columns predicted labels, both in `labels` order. */
  confusionMatrix: z.array(z.array(z.number().int())),
  accuracy: z.number(),
  perClass: z.array(
    z.object({
      label: z.number(),
      precision: z.number(),
      recall: z.number(),
      f1: z.number(),
      support: z.number().int(),
      falsePositiveRate: z.number(),
      falseNegativeRate: z.number(),
    }),
  ),
  /** Binary only: the positive class's score against the labels. */
  roc: z.object({ fpr: z.array(z.number()), tpr: z.array(z.number()), auc: z.number() }).optional(),
  pr: z
    .object({ precision: z.array(z.number()), recall: z.array(z.number()), averagePrecision: z.number() })
    .optional(),
  calibration: z
    .array(z.object({ meanPredicted: z.number(), fractionPositive: z.number(), count: z.number().int() }))
    .optional(),
  threshold: z.number().optional(),
});

export const RegressionReport = z.object({
  type: z.literal('regression'),
  channel: z.string(),
  rows: z.number().int(),
  rmse: z.number(),
  mae: z.number(),
  r2: z.number(),
  residualHistogram: Histogram,
});

/** What a job with a validation or test channel reports about its model on that channel. */
export const EvaluationReport = z.discriminatedUnion('type', [ClassificationReport, RegressionReport]);
export type EvaluationReport = z.infer<typeof EvaluationReport>;

/** DescribeTrainingJob, plus Trainyard's structured failure, attempts, metric series and evaluation. */
export const TrainingJob = z.object({
  TrainingJobName: z.string(),
  TrainingJobArn: z.string(),
  TrainingJobStatus: JobStatus,
  SecondaryStatus,
  SecondaryStatusTransitions: z.array(SecondaryStatusTransition),
  FailureReason: z.string().optional(),
  Failure: JobFailure.optional(),
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
  TrainingStartTime: z.string().optional(),
  TrainingEndTime: z.string().optional(),
  AlgorithmSpecification,
  RoleArn: z.string().optional(),
  HyperParameters: z.record(z.string(), z.string()).optional(),
  InputDataConfig: z.array(TrainingChannel).optional(),
  OutputDataConfig: CreateTrainingJobBody.shape.OutputDataConfig,
  ResourceConfig: TrainingResourceConfig,
  StoppingCondition: z.object({ MaxRuntimeInSeconds: z.number().int() }),
  Environment: z.record(z.string(), z.string()).optional(),
  CheckpointConfig: z.object({ S3Uri: z.string(), LocalPath: z.string() }).optional(),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
  ExperimentConfig: ExperimentConfig.optional(),
  /** `S3ModelArtifacts` is where model.tar.gz is (or will be) written. */
  ModelArtifacts: z.object({ S3ModelArtifacts: z.string() }),
  /** The last value of each metric. */
  FinalMetricDataList: z.array(FinalMetric).optional(),
  /** Seconds from the first process start to its end (SageMaker's TrainingTimeInSeconds). */
  TrainingTimeInSeconds: z.number().int().optional(),
  /** Seconds the job held its instances (Starting to the end), times InstanceCount. */
  BillableTimeInSeconds: z.number().int().optional(),
  /** BillableTimeInSeconds priced at the instance type's pricePerHour, USD. */
  EstimatedCostUsd: z.number().optional(),
  Attempts: z.number().int(),
  EvaluationReport: EvaluationReport.optional(),
});
export type TrainingJob = z.infer<typeof TrainingJob>;

export const TrainingJobSummary = TrainingJob.pick({
  TrainingJobName: true,
  TrainingJobArn: true,
  TrainingJobStatus: true,
  SecondaryStatus: true,
  CreationTime: true,
  LastModifiedTime: true,
  TrainingEndTime: true,
  FailureReason: true,
});
export type TrainingJobSummary = z.infer<typeof TrainingJobSummary>;

/** Every stored point of the job's metrics, by name. */
export const TrainingJobMetrics = z.object({
  metrics: z.record(z.string(), z.array(MetricPoint)),
});
export type TrainingJobMetrics = z.infer<typeof TrainingJobMetrics>;
