import type { CreateTuningJobInput, TuningJob, TuningTrial } from '@trainyard/contracts/tuning-jobs';
import { TuningJobStatus } from '@trainyard/contracts/tuning-jobs';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { readSpecFile, watchJob } from './job-follow.js';
import { printObject, printRows } from './output.js';

const ended = (job: TuningJob) =>
  ['Completed', 'Failed', 'Stopped'].includes(job.HyperParameterTuningJobStatus);
const num = (v: number | undefined) => (v === undefined ? '' : String(Number(v.toPrecision(6))));

/** The live progress line: trials done of the budget, running, failed, the best objective so far. */
export function tuningProgressLine(job: TuningJob): string {
  const c = job.TrainingJobStatusCounters;
  const limits = job.HyperParameterTuningJobConfig.ResourceLimits;
  const budget = limits.MaxNumberOfTrainingJobs === undefined ? '' : `/${limits.MaxNumberOfTrainingJobs}`;
  const objective = job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective;
  const best = job.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.Value;
  return [
    new Date().toISOString().slice(11, 19),
    job.HyperParameterTuningJobStatus.padEnd(10),
    `trials ${c.Completed + c.Stopped + c.NonRetryableError}${budget} done`,
    `${c.InProgress} running`,
    `${c.Stopped} stopped`,
    `${c.NonRetryableError} failed`,
    best === undefined
      ? 'best -'
      : `best ${objective?.MetricName ?? 'objective'}=${num(best)} (${job.BestTrainingJob!.TrainingJobName})`,
  ].join('  ');
}

function watch(client: TrainyardClient, name: string): Promise<TuningJob> {
  return watchJob<TuningJob>(
    {
      describe: () => client.call('describeTuningJob', { params: { name } }),
      key: (job) =>
        `${job.HyperParameterTuningJobStatus}/${JSON.stringify(job.TrainingJobStatusCounters)}/${job.BestTrainingJob?.TrainingJobName}`,
      line: tuningProgressLine,
      ended,
    },
    1000,
  );
}

function printTuningJob(job: TuningJob): void {
  const config = job.HyperParameterTuningJobConfig;
  const c = job.TrainingJobStatusCounters;
  const out: Record<string, unknown> = {
    HyperParameterTuningJobName: job.HyperParameterTuningJobName,
    Status: job.HyperParameterTuningJobStatus,
    Strategy: config.Strategy,
    Objective: `${config.HyperParameterTuningJobObjective?.Type} ${config.HyperParameterTuningJobObjective?.MetricName}`,
    Trials: `${c.Completed} completed, ${c.InProgress} running, ${c.Stopped} stopped, ${c.NonRetryableError} failed (${c.RetryableError} retryable errors)`,
    CreationTime: job.CreationTime,
  };
  if (job.HyperParameterTuningEndTime) out.EndTime = job.HyperParameterTuningEndTime;
  if (job.FailureReason) out.FailureReason = job.FailureReason;
  if (job.TuningJobCompletionDetails?.CompletionReason)
    out.CompletionReason = job.TuningJobCompletionDetails.CompletionReason;
  if (job.WarmStartObservations !== undefined) out.WarmStartObservations = job.WarmStartObservations;
  printObject(out, false);
  for (const [title, best] of [
    ['BEST TRAINING JOB', job.BestTrainingJob],
    ['OVERALL BEST (with warm-start parents)', job.OverallBestTrainingJob],
  ] as const) {
    if (!best) continue;
    process.stdout.write(`\n${title}\n`);
    printObject(
      {
        TrainingJobName: best.TrainingJobName,
        Objective: num(best.FinalHyperParameterTuningJobObjectiveMetric?.Value),
        ...best.TunedHyperParameters,
      },
      false,
    );
  }
}

/** Trials as a table: index, name, status, each tuned value, objective and the running best. */
export function trialRows(
  job: TuningJob,
  trials: TuningTrial[],
): { rows: Record<string, unknown>[]; columns: string[] } {
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.TunedHyperParameters)))];
  const maximize = job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective?.Type === 'Maximize';
  let best: number | undefined;
  const byIndex = [...trials].sort((a, b) => a.TrialIndex - b.TrialIndex);
  const running = new Map<string, number | undefined>();
  for (const t of byIndex) {
    const v = t.FinalHyperParameterTuningJobObjectiveMetric?.Value;
    if (v !== undefined && (best === undefined || (maximize ? v > best : v < best))) best = v;
    running.set(t.TrainingJobName, best);
  }
  const rows = trials.map((t) => ({
    trial: t.TrialIndex + 1,
    TrainingJobName: t.TrainingJobName,
    status: t.TrainingJobStatus,
    ...Object.fromEntries(names.map((n) => [n, t.TunedHyperParameters[n]])),
    objective: num(t.FinalHyperParameterTuningJobObjectiveMetric?.Value),
    'best so far': num(running.get(t.TrainingJobName)),
    note: t.EarlyStopReason ?? t.FailureReason ?? '',
  }));
  return {
    rows,
    columns: ['trial', 'TrainingJobName', 'status', ...names, 'objective', 'best so far', 'note'],
  };
}

export function addTuningCommands(program: Command): void {
  const jobs = program
    .command('tuning-jobs')
    .description('Hyperparameter tuning jobs: Bayesian, Random, Grid or Hyperband search over training jobs');

  clientCommand(
    jobs,
    'create',
    'Start a tuning job from a JSON spec (SageMaker CreateHyperParameterTuningJob fields)',
  )
    .requiredOption(
      '--spec <file>',
      'JSON with HyperParameterTuningJobName, HyperParameterTuningJobConfig, TrainingJobDefinition, ...',
    )
    .option('--name <name>', 'overrides HyperParameterTuningJobName')
    .option(
      '--wait',
      'show live progress (trials done, best so far) until it ends; exit 1 unless it completed',
    )
    .action(async (flags: ClientFlags & { spec: string; name?: string; wait?: boolean }) => {
      const body = readSpecFile<CreateTuningJobInput>(flags.spec);
      if (flags.name) body.HyperParameterTuningJobName = flags.name;
      const client = clientOf(flags);
      const job = await client.call('createTuningJob', { body });
      if (!flags.wait) {
        printObject(
          flags.json
            ? job
            : {
                HyperParameterTuningJobName: job.HyperParameterTuningJobName,
                HyperParameterTuningJobArn: job.HyperParameterTuningJobArn,
                Status: job.HyperParameterTuningJobStatus,
                Strategy: job.HyperParameterTuningJobConfig.Strategy,
              },
          flags.json ?? false,
        );
        return;
      }
      const final = await watch(client, job.HyperParameterTuningJobName);
      if (flags.json) printObject(final, true);
      else printTuningJob(final);
      if (final.HyperParameterTuningJobStatus !== 'Completed') process.exitCode = 1;
    });

  clientCommand(jobs, 'list', 'List tuning jobs, newest first, with counters and the best objective')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(TuningJobStatus.options))
    .option('--name-contains <text>', 'only jobs whose name contains this')
    .option('--limit <n>', 'at most this many', Number, 100)
    .action(
      async (flags: ClientFlags & { status?: TuningJobStatus; nameContains?: string; limit: number }) => {
        const rows = [];
        const query = { status: flags.status, nameContains: flags.nameContains };
        for await (const job of clientOf(flags).listAll('listTuningJobs', { query })) {
          rows.push(
            flags.json
              ? job
              : {
                  name: job.HyperParameterTuningJobName,
                  status: job.HyperParameterTuningJobStatus,
                  strategy: job.Strategy,
                  completed: job.TrainingJobStatusCounters.Completed,
                  running: job.TrainingJobStatusCounters.InProgress,
                  budget: job.ResourceLimits.MaxNumberOfTrainingJobs ?? '',
                  best: num(job.BestObjectiveValue),
                  created: job.CreationTime,
                },
          );
          if (rows.length >= flags.limit) break;
        }
        printRows(
          rows,
          ['name', 'status', 'strategy', 'completed', 'running', 'budget', 'best', 'created'],
          flags.json ?? false,
        );
      },
    );

  clientCommand(jobs, 'describe', 'Show a tuning job: status, counters, best training job')
    .argument('<name>')
    .option('--watch', 'show live progress until it ends')
    .action(async (name: string, flags: ClientFlags & { watch?: boolean }) => {
      const client = clientOf(flags);
      const job = flags.watch
        ? await watch(client, name)
        : await client.call('describeTuningJob', { params: { name } });
      if (flags.json) printObject(job, true);
      else printTuningJob(job);
    });

  clientCommand(jobs, 'trials', "A tuning job's trials: tuned values, objective and the running best")
    .argument('<name>')
    .addOption(
      new Option('--sort-by <key>', 'sort key')
        .choices(['Name', 'CreationTime', 'Status', 'FinalObjectiveMetricValue'])
        .default('CreationTime'),
    )
    .addOption(
      new Option('--order <order>', 'sort order').choices(['Ascending', 'Descending']).default('Ascending'),
    )
    .action(
      async (
        name: string,
        flags: ClientFlags & { sortBy: 'CreationTime'; order: 'Ascending' | 'Descending' },
      ) => {
        const client = clientOf(flags);
        const { items } = await client.call('listTuningJobTrials', {
          params: { name },
          query: { sortBy: flags.sortBy, order: flags.order },
        });
        if (flags.json) {
          printObject({ items }, true);
          return;
        }
        const job = await client.call('describeTuningJob', { params: { name } });
        const { rows, columns } = trialRows(job, items);
        printRows(rows, columns, false);
      },
    );

  clientCommand(jobs, 'stop', 'Stop a tuning job and its running trials')
    .argument('<name>')
    .option('--wait', 'wait until it has stopped')
    .action(async (name: string, flags: ClientFlags & { wait?: boolean }) => {
      const client = clientOf(flags);
      let job = await client.call('stopTuningJob', { params: { name } });
      if (flags.wait) job = await watch(client, name);
      printObject(
        {
          HyperParameterTuningJobName: job.HyperParameterTuningJobName,
          Status: job.HyperParameterTuningJobStatus,
        },
        flags.json ?? false,
      );
    });
}
