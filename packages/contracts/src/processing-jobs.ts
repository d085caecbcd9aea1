import { z } from 'zod';
import { DatasetName, parseDeliveryContentType } from './datasets.js';
import { JobFailure, JobName, JobStatus, SecondaryStatus, SecondaryStatusTransition } from './jobs.js';

const S3Uri = z
  .string()
  .max(1024)
  .regex(/^s3:\/\/[^/]+(\/.*)?$/, 'must be an s3://bucket/key address');
/** Paths a script sees; the local executor maps `/opt/ml/` onto the job's working folder. */
const OptMlPath = z
  .string()
  .max(256)
  .regex(/^\/opt\/ml\/processing\/[^\0]+$/, 'must be a folder under /opt/ml/processing/')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments');

export const ProcessingS3Input = z.object({
  S3Uri,
  /** Default `/opt/ml/processing/input/<InputName>`. */
  LocalPath: OptMlPath.optional(),
  S3DataType: z.enum(['S3Prefix', 'ManifestFile']).default('S3Prefix'),
  S3InputMode: z.enum(['File', 'Pipe']).default('File'),
  S3DataDistributionType: z.enum(['FullyReplicated', 'ShardedByS3Key']).default('FullyReplicated'),
  S3CompressionType: z.enum(['None', 'Gzip']).default('None'),
});

/** Trainyard extension: a dataset version (its Parquet files) as an input. */
export const ProcessingDatasetInput = z.object({
  DatasetName,
  /** Default: the latest version. */
  Version: z.number().int().min(1).optional(),
  LocalPath: OptMlPath.optional(),
  /**
   * The file the script receives, as SageMaker channels' ContentType: absent or
   * `application/x-parquet` gives `data.parquet`; `text/csv` gives `data.csv` with a header row,
   * `text/csv;header=absent` without, `text/csv;label_size=1` headerless with the target first
   * (the built-in algorithms' convention); `application/jsonlines` gives `data.jsonl`.
   */
  ContentType: z
    .string()
    .max(256)
    .superRefine((value, ctx) => {
      const parsed = parseDeliveryContentType(value);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    })
    .optional(),
});

export const ProcessingInput = z
  .object({
    InputName: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-zA-Z0-9_-]+$/, 'use letters, digits, "_" and "-"'),
    S3Input: ProcessingS3Input.optional(),
    DatasetInput: ProcessingDatasetInput.optional(),
  })
  .refine((i) => (i.S3Input === undefined) !== (i.DatasetInput === undefined), {
    message: 'give exactly one of S3Input and DatasetInput',
  });
export type ProcessingInput = z.output<typeof ProcessingInput>;

export const ProcessingOutput = z
  .object({
    OutputName: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-zA-Z0-9_-]+$/, 'use letters, digits, "_" and "-"'),
    /** Optional with DatasetOutput: the files then go to `s3://trainyard/jobs/processing/<job>/output/<OutputName>/`. */
    S3Output: z
      .object({
        /** Files under LocalPath land under this prefix, keeping their relative paths. */
        S3Uri,
        /** Default `/opt/ml/processing/output/<OutputName>`. */
        LocalPath: OptMlPath.optional(),
        S3UploadMode: z.enum(['EndOfJob', 'Continuous']).default('EndOfJob'),
      })
      .optional(),
    /** Trainyard extension: also register the uploaded files as a new version of this dataset. */
    DatasetOutput: z.object({ DatasetName }).optional(),
  })
  .refine((o) => o.S3Output !== undefined || o.DatasetOutput !== undefined, {
    message: 'give S3Output, DatasetOutput or both',
  });
export type ProcessingOutput = z.output<typeof ProcessingOutput>;

export const AppSpecification = z.object({
  /**
   * There is no container runtime: the "image" is a label, and ContainerEntrypoint is the command
   * (`["python3", "/opt/ml/processing/input/code/prep.py"]`). Built-in: `trainyard/recipe-processor`.
   */
  ImageUri: z.string().min(1).max(255),
  ContainerEntrypoint: z.array(z.string().max(256)).min(1).max(100).optional(),
  ContainerArguments: z.array(z.string().max(256)).max(100).optional(),
});

export const CreateProcessingJobBody = z
  .object({
    ProcessingJobName: JobName,
    ProcessingResources: z.object({
      ClusterConfig: z.object({
        InstanceCount: z.number().int().min(1).max(100).default(1),
        InstanceType: z.string().min(1).max(64),
        VolumeSizeInGB: z.number().int().min(1).max(16384).default(30),
      }),
    }),
    AppSpecification,
    RoleArn: z.string().max(2048).optional(),
    ProcessingInputs: z.array(ProcessingInput).max(10).default([]),
    ProcessingOutputConfig: z.object({ Outputs: z.array(ProcessingOutput).max(10) }).optional(),
    StoppingCondition: z.object({ MaxRuntimeInSeconds: z.number().int().min(1).max(777600) }).optional(),
    Environment: z.record(z.string().max(256), z.string().max(256)).optional(),
    Tags: z
      .array(z.object({ Key: z.string().max(128), Value: z.string().max(256) }))
      .max(50)
      .optional(),
  })
  .strict();
export type CreateProcessingJobBody = z.output<typeof CreateProcessingJobBody>;
export type CreateProcessingJobInput = z.input<typeof CreateProcessingJobBody>;

export const ProcessingOutputResult = z.object({
  OutputName: z.string(),
  S3Uri: z.string(),
  Objects: z.number().int(),
  Bytes: z.number().int(),
  DatasetName: z.string().optional(),
  DatasetVersion: z.number().int().optional(),
});

/** DescribeProcessingJob, plus Trainyard's secondary statuses, structured failure and attempts. */
export const ProcessingJob = z.object({
  ProcessingJobName: z.string(),
  ProcessingJobArn: z.string(),
  ProcessingJobStatus: JobStatus,
  SecondaryStatus,
  SecondaryStatusTransitions: z.array(SecondaryStatusTransition),
  FailureReason: z.string().optional(),
  Failure: JobFailure.optional(),
  ExitMessage: z.string().optional(),
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
  ProcessingStartTime: z.string().optional(),
  ProcessingEndTime: z.string().optional(),
  ProcessingResources: CreateProcessingJobBody.shape.ProcessingResources,
  AppSpecification,
  RoleArn: z.string().optional(),
  ProcessingInputs: z.array(ProcessingInput),
  ProcessingOutputConfig: z.object({ Outputs: z.array(ProcessingOutput) }).optional(),
  StoppingCondition: z.object({ MaxRuntimeInSeconds: z.number().int() }).optional(),
  Environment: z.record(z.string(), z.string()).optional(),
  /** How many times a worker has started this job (more than 1 after a worker was lost). */
  Attempts: z.number().int(),
  ProcessingOutputs: z.array(ProcessingOutputResult).optional(),
});
export type ProcessingJob = z.infer<typeof ProcessingJob>;

export const ProcessingJobSummary = ProcessingJob.pick({
  ProcessingJobName: true,
  ProcessingJobArn: true,
  ProcessingJobStatus: true,
  SecondaryStatus: true,
  CreationTime: true,
  LastModifiedTime: true,
  ProcessingEndTime: true,
  FailureReason: true,
  ExitMessage: true,
});
export type ProcessingJobSummary = z.infer<typeof ProcessingJobSummary>;
