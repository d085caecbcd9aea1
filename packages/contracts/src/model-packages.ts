import { z } from 'zod';
import { ResourceName } from './endpoints.js';
import { EvaluationReport, FinalMetric } from './training-jobs.js';

/**
 * The model registry: ModelPackageGroups holding numbered ModelPackage versions, each with an
 * approval status (SageMaker's CreateModelPackageGroup / CreateModelPackage shapes).
 */

export const ModelPackageGroupName = ResourceName;

const Tag = z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) });
const Tags = z.array(Tag).max(50);

export const modelApprovalStatuses = ['PendingManualApproval', 'Approved', 'Rejected'] as const;
export const ModelApprovalStatus = z.enum(modelApprovalStatuses);
export type ModelApprovalStatus = z.infer<typeof ModelApprovalStatus>;

/** Who did something: the access key that called (its id and name). */
export const Actor = z.object({ KeyId: z.string(), KeyName: z.string() });
export type Actor = z.infer<typeof Actor>;

/**
 * A package's address: its ARN (`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`)
 * or `<group>/<version>`.
 */
export const ModelPackageRef = z
  .string()
  .min(1)
  .max(2048)
  .regex(
    /^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model-package\/)?[a-zA-Z0-9](-*[a-zA-Z0-9])*\/[0-9]{1,9}$/,
    'use "<group>/<version>" or the package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)',
  );

export const CreateModelPackageGroupBody = z
  .object({
    ModelPackageGroupName,
    ModelPackageGroupDescription: z.string().max(1024).optional(),
    Tags: Tags.optional(),
  })
  .strict();
export type CreateModelPackageGroupBody = z.output<typeof CreateModelPackageGroupBody>;

export const ModelPackageGroup = z.object({
  ModelPackageGroupName,
  ModelPackageGroupArn: z.string(),
  ModelPackageGroupDescription: z.string().optional(),
  /** SageMaker reports Completed once the group exists. */
  ModelPackageGroupStatus: z.literal('Completed'),
  CreationTime: z.string(),
  CreatedBy: Actor,
  Tags: Tags.optional(),
  /** Trainyard extension: the highest version handed out so far (versions are never reused). */
  LatestVersion: z.number().int(),
});
export type ModelPackageGroup = z.infer<typeof ModelPackageGroup>;

/** One serving container of a package: what CreateModel copies into PrimaryContainer. */
export const ModelPackageContainer = z
  .object({
    Image: z.string().min(1).max(255),
    ModelDataUrl: z
      .string()
      .max(1024)
      .regex(/^s3:\/\/[^/]+\/.+$/, 'must be an s3://bucket/key address')
      .optional(),
    Environment: z
      .record(
        z
          .string()
          .max(1024)
          .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'environment names are letters, digits and "_"'),
        z.string().max(1024),
      )
      .refine((env) => Object.keys(env).length <= 100, 'at most 100 variables')
      .optional(),
  })
  .strict();
export type ModelPackageContainer = z.infer<typeof ModelPackageContainer>;

const MimeType = z.string().min(1).max(256);
export const InferenceSpecification = z.object({
  /** The first container is what a model deployed from the package runs (Trainyard serves one). */
  Containers: z.array(ModelPackageContainer).min(1).max(15),
  SupportedContentTypes: z.array(MimeType).max(10).optional(),
  SupportedResponseMIMETypes: z.array(MimeType).max(10).optional(),
  SupportedRealtimeInferenceInstanceTypes: z.array(z.string().max(64)).max(20).optional(),
});
export type InferenceSpecification = z.infer<typeof InferenceSpecification>;

/** SageMaker's MetricsSource: a metrics document in the blob store. */
const MetricsSource = z.object({
  ContentType: z.string().min(1).max(256),
  ContentDigest: z.string().max(72).optional(),
  S3Uri: z.string().max(1024),
});
const qualityOf = (names: string[]) =>
  z.object(Object.fromEntries(names.map((n) => [n, MetricsSource.optional()]))).strict();

/** SageMaker's ModelMetrics: documents describing the model's quality, bias and explainability. */
export const ModelMetrics = z
  .object({
    ModelQuality: qualityOf(['Statistics', 'Constraints']).optional(),
    ModelDataQuality: qualityOf(['Statistics', 'Constraints']).optional(),
    Bias: qualityOf(['Report', 'PreTrainingReport', 'PostTrainingReport']).optional(),
    Explainability: qualityOf(['Report']).optional(),
  })
  .strict();
export type ModelMetrics = z.infer<typeof ModelMetrics>;

const CustomerMetadataProperties = z
  .record(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u, 'letters, digits, spaces and _.:/=+-@'),
    z.string().min(1).max(256),
  )
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 properties');

export const CreateModelPackageBody = z
  .object({
    ModelPackageGroupName,
    ModelPackageDescription: z.string().max(1024).optional(),
    /** The serving containers; optional when `SourceTrainingJobName` is given (the job's image and model.tar.gz). */
    InferenceSpecification: InferenceSpecification.optional(),
    /**
     * Trainyard extension: register what a Completed training job produced. The container is
     * the job's image (built-ins: `trainyard/model-server`) and its model.tar.gz; its final
     * metrics and evaluation report are attached; the job and its datasets become the lineage.
     */
    SourceTrainingJobName: z.string().min(1).max(63).optional(),
    ModelApprovalStatus: ModelApprovalStatus.default('PendingManualApproval'),
    ApprovalDescription: z.string().max(1024).optional(),
    ModelMetrics: ModelMetrics.optional(),
    CustomerMetadataProperties: CustomerMetadataProperties.optional(),
    Domain: z.string().max(256).optional(),
    Task: z.string().max(256).optional(),
    Tags: Tags.optional(),
    /** A retry with the same token returns the version the first call made, instead of a new one. */
    ClientToken: z
      .string()
      .min(1)
      .max(36)
      .regex(/^[a-zA-Z0-9-]+$/, 'letters, digits and "-"')
      .optional(),
  })
  .strict()
  .refine((b) => b.InferenceSpecification !== undefined || b.SourceTrainingJobName !== undefined, {
    message: 'give InferenceSpecification, SourceTrainingJobName or both',
    path: ['InferenceSpecification'],
  });
export type CreateModelPackageInput = z.input<typeof CreateModelPackageBody>;
export type CreateModelPackageBody = z.output<typeof CreateModelPackageBody>;

export const UpdateModelPackageBody = z
  .object({
    ModelApprovalStatus: ModelApprovalStatus.optional(),
    ApprovalDescription: z.string().max(1024).optional(),
    CustomerMetadataProperties: CustomerMetadataProperties.optional(),
    CustomerMetadataPropertiesToRemove: z.array(z.string().min(1).max(128)).max(50).optional(),
  })
  .strict()
  .refine(
    (b) =>
      b.ModelApprovalStatus !== undefined ||
      b.ApprovalDescription !== undefined ||
      b.CustomerMetadataProperties !== undefined ||
      b.CustomerMetadataPropertiesToRemove !== undefined,
    { message: 'give ModelApprovalStatus, ApprovalDescription or metadata to change' },
  );
export type UpdateModelPackageBody = z.output<typeof UpdateModelPackageBody>;

/** One approval decision, kept in order (Trainyard extension: SageMaker shows only the last). */
export const ApprovalEvent = z.object({
  ModelApprovalStatus,
  ApprovalDescription: z.string().optional(),
  By: Actor,
  Time: z.string(),
});
export type ApprovalEvent = z.infer<typeof ApprovalEvent>;

/** A dataset version a training job read (lineage). `Version` is absent when the job took the latest at run time. */
export const DatasetInput = z.object({
  ChannelName: z.string(),
  DatasetName: z.string(),
  Version: z.number().int().optional(),
});

export const SourceTrainingJob = z.object({
  TrainingJobName: z.string(),
  TrainingJobArn: z.string(),
  /** The job's channels that were dataset versions. */
  Datasets: z.array(DatasetInput),
  /** The job's channels that were s3:// prefixes. */
  S3Inputs: z.array(z.object({ ChannelName: z.string(), S3Uri: z.string() })),
});

export const ModelPackage = z.object({
  /** A versioned package is named by its group, as SageMaker does. */
  ModelPackageName: z.string(),
  ModelPackageGroupName,
  ModelPackageVersion: z.number().int(),
  ModelPackageArn: z.string(),
  ModelPackageDescription: z.string().optional(),
  ModelPackageStatus: z.literal('Completed'),
  InferenceSpecification,
  ModelApprovalStatus,
  ApprovalDescription: z.string().optional(),
  ApprovalHistory: z.array(ApprovalEvent),
  CreationTime: z.string(),
  CreatedBy: Actor,
  LastModifiedTime: z.string(),
  LastModifiedBy: Actor,
  ModelMetrics: ModelMetrics.optional(),
  /** From the source training job: the last value of each metric. */
  FinalMetricDataList: z.array(FinalMetric).optional(),
  /** From the source training job: its evaluation on the validation or test channel. */
  EvaluationReport: EvaluationReport.optional(),
  CustomerMetadataProperties: z.record(z.string(), z.string()).optional(),
  Domain: z.string().optional(),
  Task: z.string().optional(),
  SourceTrainingJob: SourceTrainingJob.optional(),
  Tags: Tags.optional(),
  /** The CreateModelPackage idempotency token it was made with. */
  ClientToken: z.string().optional(),
});
export type ModelPackage = z.infer<typeof ModelPackage>;

export const ModelPackageSummary = ModelPackage.pick({
  ModelPackageName: true,
  ModelPackageGroupName: true,
  ModelPackageVersion: true,
  ModelPackageArn: true,
  ModelPackageDescription: true,
  ModelPackageStatus: true,
  ModelApprovalStatus: true,
  CreationTime: true,
});
export type ModelPackageSummary = z.infer<typeof ModelPackageSummary>;

export const lineageKinds = ['dataset', 'training-job', 'model-package', 'model', 'endpoint'] as const;

/** Where a lineage walk starts: a dataset (version), a job, a package (`<group>/<version>` or ARN), a model or an endpoint. */
export const LineageQuery = z
  .object({
    kind: z.enum(lineageKinds),
    name: z.string().min(1).max(2048),
    /** Datasets only: one version; all versions when absent. */
    version: z.coerce.number().int().min(1).optional(),
  })
  .strict();
export type LineageQuery = z.input<typeof LineageQuery>;

export const LineageNode = z.object({
  /** e.g. `dataset:churn@3`, `training-job:churn-xgb`, `model-package:churn/2`, `model:churn-v2`, `endpoint:churn`. */
  id: z.string(),
  kind: z.enum(lineageKinds),
  name: z.string(),
  /** Dataset version or package version. */
  version: z.number().int().optional(),
  /** Status worth showing: a job's, a package's approval, an endpoint's. */
  status: z.string().optional(),
});
export type LineageNode = z.infer<typeof LineageNode>;

/**
 * Everything upstream (what it was made from) and downstream (what uses it) of the start node:
 * dataset version -> training job -> model package -> model -> endpoint. Edges point downstream.
 */
export const Lineage = z.object({
  start: z.string(),
  nodes: z.array(LineageNode),
  edges: z.array(z.object({ from: z.string(), to: z.string() })),
});
export type Lineage = z.infer<typeof Lineage>;

/** `arn:aws:sagemaker:us-east-1:000000000000:model-package/<group lowercased>/<version>` and friends. */
export const registryArns = {
  group: (prefix: string, group: string) => `${prefix}:model-package-group/${group.toLowerCase()}`,
  modelPackage: (prefix: string, group: string, version: number) =>
    `${prefix}:model-package/${group.toLowerCase()}/${version}`,
};
