import type { ExperimentRun } from '@trainyard/contracts/experiments';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import { defined, epochSeconds, type Json, listPage, orMissing, sageMakerArn } from './sagemaker-mapping.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

/** SageMaker names the trial component of a training job `<job name>-aws-training-job`. */
export const trainingComponentSuffix = '-aws-training-job';

type ExperimentServices = Pick<DoorServices, 'experiments' | 'trainingJobs'>;

interface RunOf {
  experiment: string;
  run: ExperimentRun;
}

/** Every run of every experiment (experiments exist through their training jobs' ExperimentConfig). */
async function allRuns({ experiments }: ExperimentServices, experiment?: string): Promise<RunOf[]> {
  const names =
    experiment !== undefined ? [experiment] : (await experiments.list()).map((e) => e.ExperimentName);
  const out: RunOf[] = [];
  for (const name of names) {
    for (const run of (await experiments.runs(name)).Runs) out.push({ experiment: name, run });
  }
  return out;
}

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

function componentOfJob(job: TrainingJob): Json {
  const name = `${job.TrainingJobName}${trainingComponentSuffix}`;
  return defined({
    TrialComponentName: name,
    TrialComponentArn: sageMakerArn('experiment-trial-component', name),
    DisplayName: name,
    Source: { SourceArn: job.TrainingJobArn, SourceType: 'SageMakerTrainingJob' },
    Status: defined({ PrimaryStatus: job.TrainingJobStatus, Message: job.FailureReason }),
    StartTime: epochSeconds(job.TrainingStartTime),
    EndTime: epochSeconds(job.TrainingEndTime),
    CreationTime: epochSeconds(job.CreationTime),
    LastModifiedTime: epochSeconds(job.LastModifiedTime),
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

/**
 * SageMaker Experiments read over the native experiments: an experiment is the ExperimentName
 * its training jobs name in ExperimentConfig, a trial is one run (its RunName), and a trial
 * component is a training job, named `<job>-aws-training-job` as SageMaker names it. They appear
 * with the jobs that name them, so there is no CreateExperiment: CreateTrainingJob with an
 * ExperimentConfig creates both.
 */
export function sageMakerExperimentOperations(
  services: ExperimentServices,
): Record<string, SageMakerOperation> {
  const { experiments, trainingJobs } = services;
  const experimentView = async (name: string): Promise<Json | undefined> => {
    const runs = (await experiments.runs(name)).Runs;
    if (runs.length === 0) return undefined;
    const times = runs.map((r) => r.CreationTime).sort();
    return {
      ExperimentName: name,
      ExperimentArn: sageMakerArn('experiment', name),
      DisplayName: name,
      CreationTime: times[0],
      LastModifiedTime: times.at(-1),
    };
  };
  const trialView = ({ experiment, run }: RunOf): Json => ({
    TrialName: run.RunName,
    TrialArn: sageMakerArn('experiment-trial', run.RunName),
    DisplayName: run.RunName,
    ExperimentName: experiment,
    Source: {
      SourceArn: sageMakerArn('training-job', run.TrainingJobName),
      SourceType: 'SageMakerTrainingJob',
    },
    CreationTime: epochSeconds(run.CreationTime),
    LastModifiedTime: epochSeconds(run.TrainingEndTime ?? run.CreationTime),
  });
  return {
    ListExperiments: {
      access: 'read',
      summary:
        'experiments: the `ExperimentName`s training jobs give in `ExperimentConfig` (there is no CreateExperiment: a training job with an ExperimentConfig creates it); `CreatedAfter`/`Before`, `SortBy`, `SortOrder`, `MaxResults`/`NextToken`',
      async handle(input) {
        const views = (
          await Promise.all((await experiments.list()).map((e) => experimentView(e.ExperimentName)))
        ).filter((v): v is Json => v !== undefined);
        const { page, next } = listPage(views, createdBounds(input), (v) => ({
          name: v.ExperimentName as string,
          creationTime: v.CreationTime as string,
        }));
        return defined({
          ExperimentSummaries: page.map((v) => ({
            ...v,
            CreationTime: epochSeconds(v.CreationTime as string),
            LastModifiedTime: epochSeconds(v.LastModifiedTime as string),
          })),
          NextToken: next,
        });
      },
    },
    DescribeExperiment: {
      access: 'read',
      summary:
        'an experiment: its name, ARN, first and last run times; ResourceNotFound when no job names it',
      async handle(input) {
        const name = input.ExperimentName as string;
        const view = await experimentView(name);
        if (!view) throw resourceNotFound(`Experiment '${name}'`);
        return {
          ...view,
          CreationTime: epochSeconds(view.CreationTime as string),
          LastModifiedTime: epochSeconds(view.LastModifiedTime as string),
        };
      },
    },
    ListTrials: {
      access: 'read',
      summary:
        "trials: one per run (`RunName`, or the job name) of an experiment (`ExperimentName`) or of all; `TrialComponentName` filters to its job's run",
      async handle(input) {
        let runs = await allRuns(services, input.ExperimentName as string | undefined);
        const component = input.TrialComponentName as string | undefined;
        if (component !== undefined)
          runs = runs.filter((r) => `${r.run.TrainingJobName}${trainingComponentSuffix}` === component);
        const { page, next } = listPage(runs, createdBounds(input), (r) => ({
          name: r.run.RunName,
          creationTime: r.run.CreationTime,
        }));
        return defined({
          TrialSummaries: page.map((r) => {
            const { ExperimentName: _e, Source: _s, ...summary } = trialView(r);
            return summary;
          }),
          NextToken: next,
        });
      },
    },
    DescribeTrial: {
      access: 'read',
      summary:
        'a trial (a run): its experiment and its training job as `Source`; ResourceNotFound when no run has the name',
      async handle(input) {
        const name = input.TrialName as string;
        const run = (await allRuns(services)).find((r) => r.run.RunName === name);
        if (!run) throw resourceNotFound(`Trial '${name}'`);
        return trialView(run);
      },
    },
    ListTrialComponents: {
      access: 'read',
      summary:
        'trial components: one per training job of an experiment (`ExperimentName`), a trial (`TrialName`) or all experiments; `SourceArn` filters to one job',
      async handle(input) {
        let runs = await allRuns(services, input.ExperimentName as string | undefined);
        if (input.TrialName !== undefined) runs = runs.filter((r) => r.run.RunName === input.TrialName);
        if (input.SourceArn !== undefined)
          runs = runs.filter((r) => sageMakerArn('training-job', r.run.TrainingJobName) === input.SourceArn);
        const { page, next } = listPage(runs, createdBounds(input), (r) => ({
          name: r.run.TrainingJobName,
          creationTime: r.run.CreationTime,
        }));
        return defined({
          TrialComponentSummaries: page.map(({ run }) => {
            const name = `${run.TrainingJobName}${trainingComponentSuffix}`;
            return defined({
              TrialComponentName: name,
              TrialComponentArn: sageMakerArn('experiment-trial-component', name),
              DisplayName: name,
              TrialComponentSource: {
                SourceArn: sageMakerArn('training-job', run.TrainingJobName),
                SourceType: 'SageMakerTrainingJob',
              },
              Status: { PrimaryStatus: run.Status },
              StartTime: epochSeconds(run.CreationTime),
              EndTime: epochSeconds(run.TrainingEndTime),
              CreationTime: epochSeconds(run.CreationTime),
              LastModifiedTime: epochSeconds(run.TrainingEndTime ?? run.CreationTime),
            });
          }),
          NextToken: next,
        });
      },
    },
    DescribeTrialComponent: {
      access: 'read',
      summary:
        'a training job as its trial component `<job>-aws-training-job`: status, hyperparameters as `Parameters`, final metrics, the model artifact',
      async handle(input) {
        const name = input.TrialComponentName as string;
        const job = name.endsWith(trainingComponentSuffix)
          ? name.slice(0, -trainingComponentSuffix.length)
          : undefined;
        if (job === undefined) throw resourceNotFound(`TrialComponent '${name}'`);
        return componentOfJob(
          await orMissing(
            () => resourceNotFound(`TrialComponent '${name}'`),
            () => trainingJobs.describe(job),
          ),
        );
      },
    },
  };
}
