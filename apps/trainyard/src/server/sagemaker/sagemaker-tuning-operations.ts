import { parseOrRefuse, TrainyardError } from '@trainyard/contracts/errors';
import { CreateTuningJobBody, type TuningJob, type TuningTrial } from '@trainyard/contracts/tuning-jobs';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import {
  defined,
  epochSeconds,
  type Json,
  notSupported,
  orCouldNotFind,
  trainingDataAndResourcesOf,
} from './sagemaker-mapping.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

/** CreateHyperParameterTuningJob's input onto the native request (one training definition). */
function tuningJobBody(input: Json): Json {
  for (const member of ['TrainingJobDefinitions', 'Autotune'])
    if (input[member] !== undefined)
      throw notSupported(member, 'give one TrainingJobDefinition and explicit ranges');
  const config = (input.HyperParameterTuningJobConfig ?? {}) as Json;
  const definition = input.TrainingJobDefinition as Json | undefined;
  if (!definition) throw new SageMakerError('ValidationException', 400, 'TrainingJobDefinition is required');
  for (const member of [
    'VpcConfig',
    'HyperParameterTuningResourceConfig',
    'RetryStrategy',
    'TuningObjective',
    'HyperParameterRanges',
  ])
    if (definition[member] !== undefined)
      throw notSupported(`TrainingJobDefinition.${member}`, 'not applicable here');
  const algorithm = (definition.AlgorithmSpecification ?? {}) as Json;
  const ranges = config.ParameterRanges as Json | undefined;
  if (ranges?.AutoParameters !== undefined)
    throw notSupported('ParameterRanges.AutoParameters', 'give explicit ranges');
  return defined({
    HyperParameterTuningJobName: input.HyperParameterTuningJobName,
    HyperParameterTuningJobConfig: defined({
      Strategy: config.Strategy,
      StrategyConfig: config.StrategyConfig,
      HyperParameterTuningJobObjective: config.HyperParameterTuningJobObjective,
      ResourceLimits: config.ResourceLimits,
      ParameterRanges: ranges,
      TrainingJobEarlyStoppingType: config.TrainingJobEarlyStoppingType,
      TuningJobCompletionCriteria: config.TuningJobCompletionCriteria,
      RandomSeed: config.RandomSeed,
    }),
    TrainingJobDefinition: defined({
      DefinitionName: definition.DefinitionName,
      AlgorithmSpecification: defined({
        TrainingImage: algorithm.TrainingImage,
        AlgorithmName: algorithm.AlgorithmName,
        TrainingInputMode: algorithm.TrainingInputMode,
        MetricDefinitions: algorithm.MetricDefinitions,
      }),
      RoleArn: definition.RoleArn,
      StaticHyperParameters: definition.StaticHyperParameters,
      ...trainingDataAndResourcesOf(
        definition,
        (i) => `TrainingJobDefinition.InputDataConfig.${i}.DataSource.FileSystemDataSource`,
      ),
      Environment: definition.Environment,
    }),
    WarmStartConfig: input.WarmStartConfig,
    Tags: input.Tags,
  });
}

/** A trial as SageMaker's HyperParameterTrainingJobSummary (a not-yet-created trial reads InProgress). */
function trainingJobSummary(trial: TuningTrial): Json {
  return defined({
    TrainingJobName: trial.TrainingJobName,
    TrainingJobArn: trial.TrainingJobArn,
    TuningJobName: trial.TuningJobName,
    CreationTime: epochSeconds(trial.CreationTime),
    TrainingStartTime: epochSeconds(trial.TrainingStartTime),
    TrainingEndTime: epochSeconds(trial.TrainingEndTime),
    TrainingJobStatus: trial.TrainingJobStatus === 'Pending' ? 'InProgress' : trial.TrainingJobStatus,
    TunedHyperParameters: trial.TunedHyperParameters,
    FailureReason: trial.FailureReason ?? trial.EarlyStopReason,
    FinalHyperParameterTuningJobObjectiveMetric: trial.FinalHyperParameterTuningJobObjectiveMetric,
    ObjectiveStatus: trial.ObjectiveStatus,
  });
}

function describedTuningJob(job: TuningJob): Json {
  const details = job.TuningJobCompletionDetails;
  return defined({
    HyperParameterTuningJobName: job.HyperParameterTuningJobName,
    HyperParameterTuningJobArn: job.HyperParameterTuningJobArn,
    HyperParameterTuningJobConfig: job.HyperParameterTuningJobConfig,
    TrainingJobDefinition: job.TrainingJobDefinition,
    HyperParameterTuningJobStatus: job.HyperParameterTuningJobStatus,
    CreationTime: epochSeconds(job.CreationTime),
    HyperParameterTuningEndTime: epochSeconds(job.HyperParameterTuningEndTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
    TrainingJobStatusCounters: job.TrainingJobStatusCounters,
    ObjectiveStatusCounters: job.ObjectiveStatusCounters,
    BestTrainingJob: job.BestTrainingJob ? trainingJobSummary(job.BestTrainingJob) : undefined,
    OverallBestTrainingJob: job.OverallBestTrainingJob
      ? trainingJobSummary(job.OverallBestTrainingJob)
      : undefined,
    WarmStartConfig: job.WarmStartConfig,
    FailureReason: job.FailureReason,
    TuningJobCompletionDetails: details
      ? defined({
          NumberOfTrainingJobsObjectiveNotImproving: details.NumberOfTrainingJobsObjectiveNotImproving,
          ConvergenceDetectedTime: epochSeconds(details.ConvergenceDetectedTime),
        })
      : undefined,
    ConsumedResources: job.ConsumedResources,
  });
}

/** A page of an in-memory list: NextToken is the offset. */
function pageOf<T>(items: T[], input: Json): { items: T[]; next: string | undefined } {
  const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw new SageMakerError('ValidationException', 400, 'NextToken is not one this list returned');
  const size = (input.MaxResults as number | undefined) ?? 10;
  const end = start + size;
  return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined };
}

/**
 * The tuning operations of the SageMaker door, onto the native TuningJobService (the same one the
 * REST API calls). Merged into the dispatcher's table beside `sageMakerOperations`.
 */
export function sageMakerTuningOperations({
  tuningJobs,
}: Pick<DoorServices, 'tuningJobs'>): Record<string, SageMakerOperation> {
  return {
    CreateHyperParameterTuningJob: {
      access: 'write',
      summary:
        'tuning job create: Bayesian, Random, Grid, Hyperband; early stopping, completion criteria, warm start; one `TrainingJobDefinition` (`TrainingJobDefinitions`, `Autotune` refused); ResourceInUse on a taken name',
      async handle(input) {
        const body = parseOrRefuse(CreateTuningJobBody, tuningJobBody(input), 'request');
        const job = await tuningJobs.create(body).catch((error: unknown) => {
          if (TrainyardError.is(error, 'ALREADY_EXISTS'))
            throw new SageMakerError(
              'ResourceInUse',
              400,
              `Hyper-parameter tuning job names must be unique within an AWS account and region, and a job with this name already exists (${String(input.HyperParameterTuningJobName)})`,
            );
          throw error;
        });
        return { HyperParameterTuningJobArn: job.HyperParameterTuningJobArn };
      },
    },
    DescribeHyperParameterTuningJob: {
      access: 'read',
      summary:
        'tuning job describe: status, counters, `BestTrainingJob`, `OverallBestTrainingJob`, completion details',
      async handle(input) {
        const name = input.HyperParameterTuningJobName as string;
        return describedTuningJob(
          await orCouldNotFind('hyper-parameter tuning job', name, () => tuningJobs.describe(name)),
        );
      },
    },
    ListHyperParameterTuningJobs: {
      access: 'read',
      summary:
        'tuning job list, newest first: `NameContains`, `StatusEquals`, `MaxResults`/`NextToken` (time bounds and other sorts refused)',
      async handle(input) {
        for (const member of [
          'CreationTimeAfter',
          'CreationTimeBefore',
          'LastModifiedTimeAfter',
          'LastModifiedTimeBefore',
        ])
          if (input[member] !== undefined) throw notSupported(member, 'filter by name or status');
        if (input.SortBy !== undefined && input.SortBy !== 'CreationTime')
          throw notSupported(`SortBy ${String(input.SortBy)}`, 'lists are sorted by CreationTime');
        if (input.SortOrder !== undefined && input.SortOrder !== 'Descending')
          throw notSupported(`SortOrder ${String(input.SortOrder)}`, 'lists are newest first (Descending)');
        const page = await tuningJobs.list({
          limit: (input.MaxResults as number | undefined) ?? 10,
          pageToken: input.NextToken as string | undefined,
          nameContains: input.NameContains as string | undefined,
          status: input.StatusEquals as TuningJob['HyperParameterTuningJobStatus'] | undefined,
        });
        return defined({
          HyperParameterTuningJobSummaries: page.items.map((job) =>
            defined({
              HyperParameterTuningJobName: job.HyperParameterTuningJobName,
              HyperParameterTuningJobArn: job.HyperParameterTuningJobArn,
              HyperParameterTuningJobStatus: job.HyperParameterTuningJobStatus,
              Strategy: job.Strategy,
              CreationTime: epochSeconds(job.CreationTime),
              HyperParameterTuningEndTime: epochSeconds(job.HyperParameterTuningEndTime),
              LastModifiedTime: epochSeconds(job.LastModifiedTime),
              TrainingJobStatusCounters: job.TrainingJobStatusCounters,
              ObjectiveStatusCounters: job.ObjectiveStatusCounters,
              ResourceLimits: job.ResourceLimits,
            }),
          ),
          NextToken: page.nextPageToken,
        });
      },
    },
    StopHyperParameterTuningJob: {
      access: 'write',
      summary: 'tuning job stop: every running trial is stopped, then the job ends Stopped',
      async handle(input) {
        const name = input.HyperParameterTuningJobName as string;
        await orCouldNotFind('hyper-parameter tuning job', name, () => tuningJobs.stop(name));
        return {};
      },
    },
    ListTrainingJobsForHyperParameterTuningJob: {
      access: 'read',
      summary:
        "a tuning job's trials with `TunedHyperParameters` and `FinalHyperParameterTuningJobObjectiveMetric`: `StatusEquals`, `SortBy` (Name, CreationTime, Status, FinalObjectiveMetricValue), `SortOrder`, `MaxResults`/`NextToken`",
      async handle(input) {
        const name = input.HyperParameterTuningJobName as string;
        const trials = await orCouldNotFind('hyper-parameter tuning job', name, () =>
          tuningJobs.trials(name, {
            ...(input.StatusEquals ? { status: input.StatusEquals as TuningTrial['TrainingJobStatus'] } : {}),
            sortBy:
              (input.SortBy as
                | 'Name'
                | 'CreationTime'
                | 'Status'
                | 'FinalObjectiveMetricValue'
                | undefined) ?? 'CreationTime',
            order: (input.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Ascending',
          }),
        );
        const page = pageOf(trials, input);
        return defined({ TrainingJobSummaries: page.items.map(trainingJobSummary), NextToken: page.next });
      },
    },
  };
}
