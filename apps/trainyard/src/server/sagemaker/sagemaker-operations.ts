import { parseOrRefuse, TrainyardError } from '@trainyard/contracts/errors';
import {
  CreateProcessingJobBody,
  type ProcessingJob,
  type ProcessingJobSummary,
} from '@trainyard/contracts/processing-jobs';
import type { Access } from '@trainyard/contracts/route';
import { CreateTrainingJobBody, type TrainingJob } from '@trainyard/contracts/training-jobs';
import type { Principal } from '@trainyard/core/access/access-key-service';
import type { ResourceTag } from '@trainyard/core/ports/tag-store';
import type { DoorServices } from '../door-services.js';
import { sageMakerEndpointOperations } from './sagemaker-endpoint-operations.js';
import { SageMakerError } from './sagemaker-error.js';
import { sageMakerExperimentOperations } from './sagemaker-experiment-operations.js';
import {
  defined,
  epochSeconds,
  instantOf,
  type Json,
  notSupported,
  orCouldNotFind,
  trainingDataAndResourcesOf,
} from './sagemaker-mapping.js';
import { sageMakerRegistryOperations } from './sagemaker-registry-operations.js';
import { sageMakerTagOperations } from './sagemaker-tag-operations.js';
import { sageMakerTuningOperations } from './sagemaker-tuning-operations.js';

/** One operation of the door: the access it needs and its mapping onto native services. */
export interface SageMakerOperation {
  access: Access;
  /** What it maps to, for the README's table. */
  summary: string;
  /** `caller` is who signed the request (operations that record a creator read it). */
  handle(input: Json, caller: { principal: Principal }): Promise<Json>;
}

/** ListX's NextToken/MaxResults, filters and order, as the native job lists take them. */
function listFilter(input: Json, statusMember = 'StatusEquals') {
  const sortBy = input.SortBy as 'CreationTime' | 'Name' | 'Status' | undefined;
  return {
    limit: (input.MaxResults as number | undefined) ?? 10,
    pageToken: input.NextToken as string | undefined,
    nameContains: input.NameContains as string | undefined,
    status: input[statusMember] as ProcessingJob['ProcessingJobStatus'] | undefined,
    sortBy,
    sortOrder: input.SortOrder as 'Ascending' | 'Descending' | undefined,
    createdAfter: instantOf(input.CreationTimeAfter, 'creationTimeAfter'),
    createdBefore: instantOf(input.CreationTimeBefore, 'creationTimeBefore'),
    modifiedAfter: instantOf(input.LastModifiedTimeAfter, 'lastModifiedTimeAfter'),
    modifiedBefore: instantOf(input.LastModifiedTimeBefore, 'lastModifiedTimeBefore'),
  };
}

function processingInputsOf(inputs: Json[] | undefined): Json[] {
  return (inputs ?? []).map((input, i) => {
    if (input.DatasetDefinition !== undefined) {
      throw notSupported(`processingInputs.${i + 1}.member.datasetDefinition`, 'use S3Input');
    }
    if (input.AppManaged === true)
      throw notSupported(`processingInputs.${i + 1}.member.appManaged`, 'use S3Input');
    const s3 = input.S3Input as Json | undefined;
    return {
      InputName: input.InputName as string,
      ...(s3
        ? {
            S3Input: defined({
              S3Uri: s3.S3Uri,
              LocalPath: s3.LocalPath,
              S3DataType: s3.S3DataType,
              S3InputMode: s3.S3InputMode,
              S3DataDistributionType: s3.S3DataDistributionType,
              S3CompressionType: s3.S3CompressionType,
            }),
          }
        : {}),
    };
  });
}

function processingOutputsOf(config: Json | undefined): Json | undefined {
  if (!config) return undefined;
  const outputs = (config.Outputs as Json[]).map((output, i) => {
    if (output.FeatureStoreOutput !== undefined) {
      throw notSupported(`processingOutputConfig.outputs.${i + 1}.member.featureStoreOutput`, 'use S3Output');
    }
    const s3 = output.S3Output as Json | undefined;
    return {
      OutputName: output.OutputName as string,
      ...(s3
        ? {
            S3Output: defined({
              S3Uri: s3.S3Uri,
              LocalPath: s3.LocalPath,
              S3UploadMode: s3.S3UploadMode,
            }),
          }
        : {}),
    };
  });
  return { Outputs: outputs };
}

/** DescribeProcessingJobResponse: the members of SageMaker's model, timestamps in epoch seconds. */
function describedProcessingJob(job: ProcessingJob): Json {
  return defined({
    ProcessingJobName: job.ProcessingJobName,
    ProcessingJobArn: job.ProcessingJobArn,
    ProcessingJobStatus: job.ProcessingJobStatus,
    ProcessingInputs: job.ProcessingInputs.filter((i) => i.S3Input !== undefined).map((i) => ({
      InputName: i.InputName,
      S3Input: i.S3Input,
    })),
    ProcessingOutputConfig: job.ProcessingOutputConfig
      ? {
          Outputs: job.ProcessingOutputConfig.Outputs.filter((o) => o.S3Output !== undefined).map((o) => ({
            OutputName: o.OutputName,
            S3Output: o.S3Output,
          })),
        }
      : undefined,
    ProcessingResources: job.ProcessingResources,
    StoppingCondition: job.StoppingCondition,
    AppSpecification: job.AppSpecification,
    Environment: job.Environment,
    RoleArn: job.RoleArn,
    ExitMessage: job.ExitMessage,
    FailureReason: job.FailureReason,
    CreationTime: epochSeconds(job.CreationTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
    ProcessingStartTime: epochSeconds(job.ProcessingStartTime),
    ProcessingEndTime: epochSeconds(job.ProcessingEndTime),
  });
}

function processingJobSummary(job: ProcessingJobSummary): Json {
  return defined({
    ProcessingJobName: job.ProcessingJobName,
    ProcessingJobArn: job.ProcessingJobArn,
    ProcessingJobStatus: job.ProcessingJobStatus,
    CreationTime: epochSeconds(job.CreationTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
    ProcessingEndTime: epochSeconds(job.ProcessingEndTime),
    FailureReason: job.FailureReason,
    ExitMessage: job.ExitMessage,
  });
}

/** CreateTrainingJob's members that the native contract knows, picked from SageMaker's input. */
function trainingJobBody(input: Json): Json {
  const algorithm = input.AlgorithmSpecification as Json;
  const experiment = input.ExperimentConfig as Json | undefined;
  return defined({
    TrainingJobName: input.TrainingJobName,
    AlgorithmSpecification: defined({
      TrainingImage: algorithm.TrainingImage,
      AlgorithmName: algorithm.AlgorithmName,
      TrainingInputMode: algorithm.TrainingInputMode,
      MetricDefinitions: algorithm.MetricDefinitions,
      ContainerEntrypoint: algorithm.ContainerEntrypoint,
      ContainerArguments: algorithm.ContainerArguments,
    }),
    RoleArn: input.RoleArn,
    HyperParameters: input.HyperParameters,
    ...trainingDataAndResourcesOf(
      input,
      (i) => `inputDataConfig.${i}.member.dataSource.fileSystemDataSource`,
    ),
    Environment: input.Environment,
    Tags: input.Tags,
    ExperimentConfig: experiment
      ? defined({
          ExperimentName: experiment.ExperimentName,
          RunName: experiment.RunName,
          TrialName: experiment.TrialName,
          TrialComponentDisplayName: experiment.TrialComponentDisplayName,
        })
      : undefined,
  });
}

/**
 * SageMaker has no `Pending` secondary status for training: a queued job reports `Starting`, so
 * the native Pending and Starting read as one Starting transition.
 */
function trainingTransitions(job: TrainingJob): Json[] {
  const out: Json[] = [];
  for (const transition of job.SecondaryStatusTransitions) {
    const status = transition.Status === 'Pending' ? 'Starting' : transition.Status;
    const previous = out[out.length - 1];
    if (previous && previous.Status === status) {
      previous.EndTime = epochSeconds(transition.EndTime);
      if (previous.EndTime === undefined) delete previous.EndTime;
      continue;
    }
    out.push(
      defined({
        Status: status,
        StartTime: epochSeconds(transition.StartTime),
        EndTime: epochSeconds(transition.EndTime),
        StatusMessage: transition.StatusMessage,
      }),
    );
  }
  return out;
}

/** DescribeTrainingJobResponse: the members of SageMaker's model, timestamps in epoch seconds. */
function describedTrainingJob(job: TrainingJob): Json {
  return defined({
    TrainingJobName: job.TrainingJobName,
    TrainingJobArn: job.TrainingJobArn,
    ModelArtifacts: job.ModelArtifacts,
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus === 'Pending' ? 'Starting' : job.SecondaryStatus,
    FailureReason: job.FailureReason,
    HyperParameters: job.HyperParameters,
    AlgorithmSpecification: job.AlgorithmSpecification,
    RoleArn: job.RoleArn,
    InputDataConfig: job.InputDataConfig?.filter((c) => c.DataSource.S3DataSource !== undefined).map((c) =>
      defined({
        ChannelName: c.ChannelName,
        DataSource: { S3DataSource: c.DataSource.S3DataSource },
        ContentType: c.ContentType,
        CompressionType: c.CompressionType,
        RecordWrapperType: c.RecordWrapperType,
        InputMode: c.InputMode,
      }),
    ),
    OutputDataConfig: job.OutputDataConfig,
    ResourceConfig: job.ResourceConfig,
    StoppingCondition: job.StoppingCondition,
    CreationTime: epochSeconds(job.CreationTime),
    TrainingStartTime: epochSeconds(job.TrainingStartTime),
    TrainingEndTime: epochSeconds(job.TrainingEndTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
    SecondaryStatusTransitions: trainingTransitions(job),
    FinalMetricDataList: job.FinalMetricDataList?.map((m) => ({
      MetricName: m.MetricName,
      Value: m.Value,
      Timestamp: epochSeconds(m.Timestamp),
    })),
    CheckpointConfig: job.CheckpointConfig,
    TrainingTimeInSeconds: job.TrainingTimeInSeconds,
    BillableTimeInSeconds: job.BillableTimeInSeconds,
    ExperimentConfig: job.ExperimentConfig,
    Environment: job.Environment,
  });
}

/**
 * The dispatcher's table: `SageMaker.<Operation>` to a mapping onto the native services (the
 * same ones the REST API calls, never a second implementation). The README's list of supported
 * operations is generated from this table.
 */
export function sageMakerOperations(
  services: Pick<
    DoorServices,
    'processingJobs' | 'trainingJobs' | 'endpoints' | 'experiments' | 'tags' | 'modelPackages' | 'tuningJobs'
  >,
): Record<string, SageMakerOperation> {
  const { processingJobs, trainingJobs, tags, modelPackages, tuningJobs } = services;
  return {
    ...sageMakerRegistryOperations({ modelPackages }),
    ...sageMakerTuningOperations({ tuningJobs }),
    CreateProcessingJob: {
      access: 'write',
      summary:
        'processing job create (`S3Input`/`S3Output`; `DatasetDefinition`, `FeatureStoreOutput` refused); ResourceInUse on a taken name',
      async handle(input) {
        const resources = input.ProcessingResources as { ClusterConfig: Json };
        const cluster = resources.ClusterConfig;
        const app = input.AppSpecification as Json;
        const stopping = input.StoppingCondition as Json | undefined;
        const body = parseOrRefuse(
          CreateProcessingJobBody,
          defined({
            ProcessingJobName: input.ProcessingJobName as string,
            ProcessingResources: {
              ClusterConfig: defined({
                InstanceCount: cluster.InstanceCount,
                InstanceType: cluster.InstanceType,
                VolumeSizeInGB: cluster.VolumeSizeInGB,
              }),
            },
            AppSpecification: defined({
              ImageUri: app.ImageUri,
              ContainerEntrypoint: app.ContainerEntrypoint,
              ContainerArguments: app.ContainerArguments,
            }),
            RoleArn: input.RoleArn as string | undefined,
            ProcessingInputs: processingInputsOf(input.ProcessingInputs as Json[] | undefined),
            ProcessingOutputConfig: processingOutputsOf(input.ProcessingOutputConfig as Json | undefined),
            StoppingCondition: stopping
              ? { MaxRuntimeInSeconds: stopping.MaxRuntimeInSeconds as number }
              : undefined,
            Environment: input.Environment as Record<string, string> | undefined,
            Tags: input.Tags,
          }),
          'request',
        );
        const job = await processingJobs.create(body).catch((error: unknown) => {
          if (TrainyardError.is(error, 'ALREADY_EXISTS')) {
            throw new SageMakerError(
              'ResourceInUse',
              400,
              `Job name must be unique within an AWS account and region, and a job with this name already exists (${String(input.ProcessingJobName)})`,
            );
          }
          throw error;
        });
        await tags.replace(job.ProcessingJobArn, input.Tags as ResourceTag[] | undefined);
        return { ProcessingJobArn: job.ProcessingJobArn };
      },
    },
    DescribeProcessingJob: {
      access: 'read',
      summary: 'processing job describe; a missing job is ValidationException "Could not find …"',
      async handle(input) {
        const name = input.ProcessingJobName as string;
        return describedProcessingJob(
          await orCouldNotFind('requested job', name, () => processingJobs.describe(name)),
        );
      },
    },
    ListProcessingJobs: {
      access: 'read',
      summary:
        'processing job list: `NameContains`, `StatusEquals`, creation and modification time bounds, `SortBy` (`CreationTime`, `Name`, `Status`) and `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const page = await processingJobs.list(listFilter(input));
        return defined({
          ProcessingJobSummaries: page.items.map(processingJobSummary),
          NextToken: page.nextPageToken,
        });
      },
    },
    StopProcessingJob: {
      access: 'write',
      summary: 'processing job stop (SIGTERM, then SIGKILL after the grace period)',
      async handle(input) {
        const name = input.ProcessingJobName as string;
        await orCouldNotFind('requested job', name, () => processingJobs.stop(name));
        return {};
      },
    },
    CreateTrainingJob: {
      access: 'write',
      summary:
        'training job create: built-in image URIs of any registry and region (`…/sagemaker-xgboost:1.7-1`, `…/linear-learner:1`, `…/kmeans:1`, `…/pca:1`, `…/knn:1`, `…/randomcutforest:1`), scikit-learn/PyTorch images in script mode, `AlgorithmName`; `S3DataSource` channels (`FileSystemDataSource` refused)',
      async handle(input) {
        const body = parseOrRefuse(CreateTrainingJobBody, trainingJobBody(input), 'request');
        const job = await trainingJobs.create(body).catch((error: unknown) => {
          if (TrainyardError.is(error, 'ALREADY_EXISTS')) {
            throw new SageMakerError(
              'ResourceInUse',
              400,
              `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${String(input.TrainingJobName)})`,
            );
          }
          throw error;
        });
        await tags.replace(job.TrainingJobArn, input.Tags as ResourceTag[] | undefined);
        return { TrainingJobArn: job.TrainingJobArn };
      },
    },
    DescribeTrainingJob: {
      access: 'read',
      summary:
        'training job describe: statuses, secondary status transitions, `ModelArtifacts`, `FinalMetricDataList`; a missing job is ValidationException "Could not find …"',
      async handle(input) {
        const name = input.TrainingJobName as string;
        return describedTrainingJob(
          await orCouldNotFind('requested job', name, () => trainingJobs.describe(name)),
        );
      },
    },
    ListTrainingJobs: {
      access: 'read',
      summary:
        'training job list: `NameContains`, `StatusEquals`, creation and modification time bounds, `SortBy` (`CreationTime`, `Name`, `Status`) and `SortOrder`, `MaxResults`/`NextToken` (`WarmPoolStatusEquals` refused: there are no warm pools)',
      async handle(input) {
        if (input.WarmPoolStatusEquals !== undefined) {
          throw notSupported('WarmPoolStatusEquals', 'there are no warm pools');
        }
        const page = await trainingJobs.list(listFilter(input));
        return defined({
          TrainingJobSummaries: page.items.map((job) =>
            defined({
              TrainingJobName: job.TrainingJobName,
              TrainingJobArn: job.TrainingJobArn,
              TrainingJobStatus: job.TrainingJobStatus,
              CreationTime: epochSeconds(job.CreationTime),
              LastModifiedTime: epochSeconds(job.LastModifiedTime),
              TrainingEndTime: epochSeconds(job.TrainingEndTime),
            }),
          ),
          NextToken: page.nextPageToken,
        });
      },
    },
    StopTrainingJob: {
      access: 'write',
      summary: 'training job stop',
      async handle(input) {
        const name = input.TrainingJobName as string;
        await orCouldNotFind('requested job', name, () => trainingJobs.stop(name));
        return {};
      },
    },
    ...sageMakerEndpointOperations(services),
    ...sageMakerExperimentOperations(services),
    ...sageMakerTagOperations(services),
  };
}
