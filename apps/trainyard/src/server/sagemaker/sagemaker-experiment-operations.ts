import type { Experiment, Trial, TrialComponent } from '@trainyard/contracts/experiments';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import type { ResourceTag } from '@trainyard/core/ports/tag-store';
import {
  jobOfComponent,
  type TrialComponentChange,
  trainingComponentSuffix,
} from '@trainyard/core/training/experiment-service';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import {
  allPages,
  defined,
  epochSeconds,
  instantOf,
  type Json,
  listPage,
  orMissing,
  sageMakerArn,
} from './sagemaker-mapping.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

type ExperimentServices = Pick<DoorServices, 'experiments' | 'trainingJobs' | 'tags'>;

/** The time bounds of ListExperiments/ListTrials/ListTrialComponents, in the shared list's names. */
function createdBounds(input: Json): Json {
  return defined({
    CreationTimeAfter: input.CreatedAfter,
    CreationTimeBefore: input.CreatedBefore,
    SortBy: input.SortBy,
    SortOrder: input.SortOrder,
    MaxResults: input.MaxResults,
    NextToken: input.NextToken,
  });
}

function resourceNotFound(what: string): SageMakerError {
  return new SageMakerError('ResourceNotFound', 400, `${what} does not exist.`);
}

/** A name member that may also be given as its ARN (`…:experiment-trial-component/<name>`). */
function nameOf(value: unknown): string {
  const text = String(value);
  return text.startsWith('arn:') ? text.slice(text.lastIndexOf('/') + 1) : text;
}

const experimentArn = (name: string) => sageMakerArn('experiment', name);
const trialArn = (name: string) => sageMakerArn('experiment-trial', name);
const componentArn = (name: string) => sageMakerArn('experiment-trial-component', name);

function experimentView(e: Experiment): Json {
  return defined({
    ExperimentName: e.ExperimentName,
    ExperimentArn: experimentArn(e.ExperimentName),
    DisplayName: e.DisplayName,
    Description: e.Description,
    CreationTime: epochSeconds(e.CreationTime),
    LastModifiedTime: epochSeconds(e.LastModifiedTime),
  });
}

/** DescribeExperiment: the summary plus who created it (the key's name as the user profile). */
function describedExperiment(e: Experiment): Json {
  return defined({
    ...experimentView(e),
    CreatedBy: e.CreatedBy ? { UserProfileName: e.CreatedBy.KeyName } : undefined,
  });
}

function trialView(t: Trial): Json {
  return defined({
    TrialName: t.TrialName,
    TrialArn: trialArn(t.TrialName),
    DisplayName: t.DisplayName,
    ExperimentName: t.ExperimentName,
    CreationTime: epochSeconds(t.CreationTime),
    LastModifiedTime: epochSeconds(t.LastModifiedTime),
    MetadataProperties: t.MetadataProperties,
  });
}

function storedComponentView(c: TrialComponent): Json {
  return defined({
    TrialComponentName: c.TrialComponentName,
    TrialComponentArn: componentArn(c.TrialComponentName),
    DisplayName: c.DisplayName,
    Status: c.Status,
    StartTime: epochSeconds(c.StartTime),
    EndTime: epochSeconds(c.EndTime),
    CreationTime: epochSeconds(c.CreationTime),
    LastModifiedTime: epochSeconds(c.LastModifiedTime),
    Parameters: c.Parameters,
    InputArtifacts: c.InputArtifacts,
    OutputArtifacts: c.OutputArtifacts,
    MetadataProperties: c.MetadataProperties,
  });
}

/** The summary members of a job's trial component, from a job or its list summary. */
function jobComponentSummary(
  job: Pick<
    TrainingJob,
    | 'TrainingJobName'
    | 'TrainingJobArn'
    | 'TrainingJobStatus'
    | 'CreationTime'
    | 'LastModifiedTime'
    | 'TrainingEndTime'
    | 'FailureReason'
  > & { TrainingStartTime?: string | undefined },
): Json {
  const name = `${job.TrainingJobName}${trainingComponentSuffix}`;
  return defined({
    TrialComponentName: name,
    TrialComponentArn: componentArn(name),
    DisplayName: name,
    Status: defined({ PrimaryStatus: job.TrainingJobStatus, Message: job.FailureReason }),
    StartTime: epochSeconds(job.TrainingStartTime ?? job.CreationTime),
    EndTime: epochSeconds(job.TrainingEndTime),
    CreationTime: epochSeconds(job.CreationTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
  });
}

function componentOfJob(job: TrainingJob): Json {
  const source = { SourceArn: job.TrainingJobArn, SourceType: 'SageMakerTrainingJob' };
  const displayName = job.ExperimentConfig?.TrialComponentDisplayName;
  return defined({
    ...jobComponentSummary(job),
    ...(displayName ? { DisplayName: displayName } : {}),
    Source: source,
    Parameters: Object.fromEntries(
      Object.entries(job.HyperParameters ?? {}).map(([k, v]) => [k, { StringValue: v }]),
    ),
    OutputArtifacts: job.ModelArtifacts
      ? { 'SageMaker.ModelArtifact': { Value: job.ModelArtifacts.S3ModelArtifacts } }
      : undefined,
    Metrics: job.FinalMetricDataList?.map((m) => ({
      MetricName: m.MetricName,
      SourceArn: job.TrainingJobArn,
      TimeStamp: epochSeconds(m.Timestamp),
      Last: m.Value,
    })),
  });
}

/** A parameter map of the request: each value is a string or a number, exactly one of the two. */
function parametersOf(value: unknown, member: string): TrialComponent['Parameters'] | undefined {
  if (value === undefined) return undefined;
  const out: TrialComponent['Parameters'] = {};
  for (const [key, v] of Object.entries(value as Record<string, Json>)) {
    const hasString = v.StringValue !== undefined;
    const hasNumber = v.NumberValue !== undefined;
    if (hasString === hasNumber)
      throw new SageMakerError(
        'ValidationException',
        400,
        `Value at '${member}.${key}' failed to satisfy constraint: Member must have exactly one of StringValue or NumberValue`,
      );
    out[key] = hasString ? { StringValue: String(v.StringValue) } : { NumberValue: Number(v.NumberValue) };
  }
  return out;
}

function artifactsOf(value: unknown): TrialComponent['InputArtifacts'] | undefined {
  if (value === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(value as Record<string, Json>).map(([key, a]) => [
      key,
      defined({ MediaType: a.MediaType, Value: a.Value }) as { Value: string; MediaType?: string },
    ]),
  );
}

/** The members CreateTrialComponent and UpdateTrialComponent share. */
function componentChange(input: Json): TrialComponentChange {
  const status = input.Status as Json | undefined;
  return defined({
    DisplayName: input.DisplayName,
    Status: status ? defined({ PrimaryStatus: status.PrimaryStatus, Message: status.Message }) : undefined,
    StartTime: instantOf(input.StartTime, 'startTime'),
    EndTime: instantOf(input.EndTime, 'endTime'),
    Parameters: parametersOf(input.Parameters, 'parameters'),
    InputArtifacts: artifactsOf(input.InputArtifacts),
    OutputArtifacts: artifactsOf(input.OutputArtifacts),
    MetadataProperties: input.MetadataProperties,
    ParametersToRemove: input.ParametersToRemove,
    InputArtifactsToRemove: input.InputArtifactsToRemove,
    OutputArtifactsToRemove: input.OutputArtifactsToRemove,
  }) as TrialComponentChange;
}

function jobComponentIsReadOnly(name: string): SageMakerError {
  return new SageMakerError(
    'ValidationException',
    400,
    `Trial component '${name}' is a training job's: it follows its job and cannot be changed or deleted here (delete the training job, or disassociate it from its trials)`,
  );
}

/**
 * SageMaker Experiments over the native experiment records: experiments, trials and trial
 * components are created, updated, associated and deleted as SageMaker does; a training job with
 * an ExperimentConfig creates or joins its experiment and trial, and its trial component
 * `<job>-aws-training-job` is read from the job.
 */
export function sageMakerExperimentOperations(
  services: ExperimentServices,
): Record<string, SageMakerOperation> {
  const { experiments, trainingJobs, tags } = services;
  const experimentOf = (name: string) =>
    orMissing(
      () => resourceNotFound(`Experiment '${experimentArn(name)}'`),
      () => experiments.describeExperiment(name),
    );
  const trialOf = (name: string) =>
    orMissing(
      () => resourceNotFound(`Trial '${trialArn(name)}'`),
      () => experiments.describeTrial(name),
    );
  const missingComponent = (name: string) => resourceNotFound(`TrialComponent '${componentArn(name)}'`);
  /** Summaries of the named components (a client's or a job's) that exist, in the given order. */
  const componentSummaries = async (names: string[]): Promise<Json[]> => {
    const stored = new Map((await experiments.listComponents()).map((c) => [c.TrialComponentName, c]));
    const jobNames = new Set(names.map(jobOfComponent).filter((j): j is string => j !== undefined));
    const jobs = new Map(
      jobNames.size === 0
        ? []
        : (await allPages((p) => trainingJobs.list(p)))
            .filter((j) => jobNames.has(j.TrainingJobName))
            .map((j) => [j.TrainingJobName, j]),
    );
    const out: Json[] = [];
    for (const name of new Set(names)) {
      const job = jobOfComponent(name);
      const summary = job !== undefined ? jobs.get(job) : undefined;
      if (summary) {
        out.push({
          ...jobComponentSummary(summary),
          TrialComponentSource: { SourceArn: summary.TrainingJobArn, SourceType: 'SageMakerTrainingJob' },
        });
        continue;
      }
      const component = stored.get(name);
      if (component) {
        const {
          Parameters: _p,
          InputArtifacts: _i,
          OutputArtifacts: _o,
          MetadataProperties: _m,
          ...view
        } = storedComponentView(component);
        out.push(view);
      }
    }
    return out;
  };
  return {
    CreateExperiment: {
      access: 'write',
      summary:
        'experiment create (`DisplayName`, `Description`, `Tags`) before any job runs; ResourceInUse on a taken name (names are unique ignoring case)',
      async handle(input, caller) {
        const experiment = await experiments.createExperiment(
          {
            ExperimentName: input.ExperimentName as string,
            DisplayName: input.DisplayName as string | undefined,
            Description: input.Description as string | undefined,
          },
          { KeyId: caller.principal.keyId, KeyName: caller.principal.name },
        );
        const arn = experimentArn(experiment.ExperimentName);
        await tags.replace(arn, input.Tags as ResourceTag[] | undefined);
        return { ExperimentArn: arn };
      },
    },
    DescribeExperiment: {
      access: 'read',
      summary:
        'an experiment: name, ARN, display name, description, times; ResourceNotFound for a name never created (by CreateExperiment or a training job)',
      async handle(input) {
        return describedExperiment(await experimentOf(input.ExperimentName as string));
      },
    },
    ListExperiments: {
      access: 'read',
      summary:
        "experiments created by CreateExperiment or by a training job's `ExperimentConfig`: `CreatedAfter`/`Before`, `SortBy` (Name, CreationTime), `SortOrder`, `MaxResults`/`NextToken`",
      async handle(input) {
        const { page, next } = listPage(
          await experiments.listExperimentRecords(),
          createdBounds(input),
          (e) => ({
            name: e.ExperimentName,
            creationTime: e.CreationTime,
          }),
        );
        return defined({ ExperimentSummaries: page.map(experimentView), NextToken: next });
      },
    },
    UpdateExperiment: {
      access: 'write',
      summary: 'experiment update: `DisplayName`, `Description`',
      async handle(input) {
        const name = input.ExperimentName as string;
        await experimentOf(name);
        const updated = await experiments.updateExperiment(name, {
          DisplayName: input.DisplayName as string | undefined,
          Description: input.Description as string | undefined,
        });
        return { ExperimentArn: experimentArn(updated.ExperimentName) };
      },
    },
    DeleteExperiment: {
      access: 'write',
      summary:
        'experiment delete; refused (ValidationException) while it has trials, as SageMaker does; its tags go with it',
      async handle(input) {
        const name = input.ExperimentName as string;
        await experimentOf(name);
        const deleted = await experiments.deleteExperiment(name);
        const arn = experimentArn(deleted.ExperimentName);
        await tags.replace(arn, undefined);
        return { ExperimentArn: arn };
      },
    },
    CreateTrial: {
      access: 'write',
      summary:
        'trial create in an experiment (`DisplayName`, `MetadataProperties`, `Tags`); ResourceNotFound for a missing experiment, ResourceInUse on a taken name',
      async handle(input) {
        const experiment = await experimentOf(input.ExperimentName as string);
        const trial = await orMissing(
          () => resourceNotFound(`Experiment '${experimentArn(experiment.ExperimentName)}'`),
          () =>
            experiments.createTrial({
              TrialName: input.TrialName as string,
              ExperimentName: experiment.ExperimentName,
              DisplayName: input.DisplayName as string | undefined,
              MetadataProperties: input.MetadataProperties as Record<string, string> | undefined,
            }),
        );
        const arn = trialArn(trial.TrialName);
        await tags.replace(arn, input.Tags as ResourceTag[] | undefined);
        return { TrialArn: arn };
      },
    },
    DescribeTrial: {
      access: 'read',
      summary:
        "a trial: its experiment, display name, times; a training job's ExperimentConfig makes one per `TrialName` (else `RunName`, else the job name)",
      async handle(input) {
        return trialView(await trialOf(input.TrialName as string));
      },
    },
    ListTrials: {
      access: 'read',
      summary:
        'trials of an experiment (`ExperimentName`) or of all; `TrialComponentName` keeps the trials it is associated with; `CreatedAfter`/`Before`, `SortBy`, `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const experiment = input.ExperimentName as string | undefined;
        if (experiment !== undefined) await experimentOf(experiment);
        let trials = await experiments.listTrials(experiment);
        const component = input.TrialComponentName as string | undefined;
        if (component !== undefined) {
          const linked = new Set(
            (await experiments.links({ component })).map((l) => l.trialName.toLowerCase()),
          );
          trials = trials.filter((t) => linked.has(t.TrialName.toLowerCase()));
        }
        const { page, next } = listPage(trials, createdBounds(input), (t) => ({
          name: t.TrialName,
          creationTime: t.CreationTime,
        }));
        return defined({
          TrialSummaries: page.map((t) => {
            const { ExperimentName: _e, MetadataProperties: _m, ...summary } = trialView(t);
            return summary;
          }),
          NextToken: next,
        });
      },
    },
    UpdateTrial: {
      access: 'write',
      summary: 'trial update: `DisplayName`',
      async handle(input) {
        const name = input.TrialName as string;
        await trialOf(name);
        const updated = await experiments.updateTrial(name, {
          DisplayName: input.DisplayName as string | undefined,
        });
        return { TrialArn: trialArn(updated.TrialName) };
      },
    },
    DeleteTrial: {
      access: 'write',
      summary:
        'trial delete; refused (ValidationException) while trial components are associated with it; its tags go with it',
      async handle(input) {
        const name = input.TrialName as string;
        await trialOf(name);
        const deleted = await experiments.deleteTrial(name);
        const arn = trialArn(deleted.TrialName);
        await tags.replace(arn, undefined);
        return { TrialArn: arn };
      },
    },
    CreateTrialComponent: {
      access: 'write',
      summary:
        'trial component create: `Status`, `StartTime`/`EndTime`, `Parameters` (string or number), `InputArtifacts`/`OutputArtifacts`, `Tags`; ResourceInUse on a taken name; names ending in `-aws-training-job` are kept for training jobs',
      async handle(input) {
        const component = await experiments.createComponent(
          input.TrialComponentName as string,
          componentChange(input),
        );
        const arn = componentArn(component.TrialComponentName);
        await tags.replace(arn, input.Tags as ResourceTag[] | undefined);
        return { TrialComponentArn: arn };
      },
    },
    DescribeTrialComponent: {
      access: 'read',
      summary:
        "a trial component by name or ARN: one a client created, or a training job's `<job>-aws-training-job` (status, hyperparameters as `Parameters`, final metrics, the model artifact, the job as `Source`)",
      async handle(input) {
        const name = nameOf(input.TrialComponentName);
        const job = jobOfComponent(name);
        if (job !== undefined)
          return componentOfJob(
            await orMissing(
              () => missingComponent(name),
              () => trainingJobs.describe(job),
            ),
          );
        return storedComponentView(
          await orMissing(
            () => missingComponent(name),
            () => experiments.describeComponent(name),
          ),
        );
      },
    },
    ListTrialComponents: {
      access: 'read',
      summary:
        "trial components of an experiment (`ExperimentName`), a trial (`TrialName`) or all (clients' and experiment jobs'); `SourceArn` keeps one training job's; `CreatedAfter`/`Before`, `SortBy`, `SortOrder`, `MaxResults`/`NextToken`",
      async handle(input) {
        const experiment = input.ExperimentName as string | undefined;
        const trial = input.TrialName as string | undefined;
        if (experiment !== undefined) await experimentOf(experiment);
        if (trial !== undefined) await trialOf(trial);
        const links = await experiments.links(
          defined({ experiment, trial }) as { experiment?: string; trial?: string },
        );
        const names = links.map((l) => l.componentName);
        if (experiment === undefined && trial === undefined)
          names.push(...(await experiments.listComponents()).map((c) => c.TrialComponentName));
        let summaries = await componentSummaries(names);
        if (input.SourceArn !== undefined)
          summaries = summaries.filter(
            (s) => (s.TrialComponentSource as Json | undefined)?.SourceArn === input.SourceArn,
          );
        const { page, next } = listPage(summaries, createdBounds(input), (s) => ({
          name: s.TrialComponentName as string,
          creationTime: new Date((s.CreationTime as number) * 1000).toISOString(),
        }));
        return defined({ TrialComponentSummaries: page, NextToken: next });
      },
    },
    UpdateTrialComponent: {
      access: 'write',
      summary:
        "trial component update: `DisplayName`, `Status`, times, `Parameters`/`InputArtifacts`/`OutputArtifacts` (merged by key) and their `…ToRemove` lists; a training job's component is refused",
      async handle(input) {
        const name = input.TrialComponentName as string;
        if (jobOfComponent(name) !== undefined) throw jobComponentIsReadOnly(name);
        const updated = await orMissing(
          () => missingComponent(name),
          () => experiments.updateComponent(name, componentChange(input)),
        );
        return { TrialComponentArn: componentArn(updated.TrialComponentName) };
      },
    },
    DeleteTrialComponent: {
      access: 'write',
      summary:
        "trial component delete; refused (ValidationException) while associated with a trial; a training job's component goes with its job",
      async handle(input) {
        const name = input.TrialComponentName as string;
        if (jobOfComponent(name) !== undefined) throw jobComponentIsReadOnly(name);
        const deleted = await orMissing(
          () => missingComponent(name),
          () => experiments.deleteComponent(name),
        );
        const arn = componentArn(deleted.TrialComponentName);
        await tags.replace(arn, undefined);
        return { TrialComponentArn: arn };
      },
    },
    AssociateTrialComponent: {
      access: 'write',
      summary:
        "associates a trial component (a client's or a training job's) with a trial; a component may be in several trials; ResourceNotFound for either missing",
      async handle(input) {
        const name = input.TrialComponentName as string;
        const trial = await trialOf(input.TrialName as string);
        if (!(await experiments.componentExists(name))) throw missingComponent(name);
        await experiments.associate(name, trial.TrialName);
        return { TrialComponentArn: componentArn(name), TrialArn: trialArn(trial.TrialName) };
      },
    },
    DisassociateTrialComponent: {
      access: 'write',
      summary: 'removes a trial component from a trial; ResourceNotFound when it is not associated with it',
      async handle(input) {
        const name = input.TrialComponentName as string;
        const trial = await trialOf(input.TrialName as string);
        await orMissing(
          () =>
            resourceNotFound(
              `TrialComponent '${componentArn(name)}' associated with Trial '${trialArn(trial.TrialName)}'`,
            ),
          () => experiments.disassociate(name, trial.TrialName),
        );
        return { TrialComponentArn: componentArn(name), TrialArn: trialArn(trial.TrialName) };
      },
    },
  };
}
