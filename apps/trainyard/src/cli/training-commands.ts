import type {
  CreateTrainingJobInput,
  EvaluationReport,
  TrainingJob,
  TrainingJobSummary,
} from '@trainyard/contracts/training-jobs';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { type Command, Option } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { readSpecFile, watchJob } from './job-follow.js';
import { addJobKindCommands, type JobKindCli, streamJobLog } from './job-kind-commands.js';
import { printObject, printRows } from './output.js';

/** One progress line: time, status, secondary status, elapsed seconds, the latest metrics. */
function progressLine(job: TrainingJob): string {
  const last = job.SecondaryStatusTransitions.at(-1);
  const started = job.TrainingStartTime ? Date.parse(job.TrainingStartTime) : undefined;
  const end = job.TrainingEndTime ? Date.parse(job.TrainingEndTime) : Date.now();
  const elapsed = started === undefined ? '' : `${((end - started) / 1000).toFixed(1)}s`;
  const metrics = (job.FinalMetricDataList ?? [])
    .map((m) => `${m.MetricName}=${Number(m.Value.toPrecision(5))}`)
    .join(' ');
  return [
    new Date().toISOString().slice(11, 19),
    job.TrainingJobStatus.padEnd(10),
    job.SecondaryStatus.padEnd(18),
    elapsed.padStart(7),
    last?.StatusMessage ?? '',
    metrics,
  ]
    .join('  ')
    .trimEnd();
}

/** Shows progress until the job ends; with `logs`, interleaves the job's output. */
function watch(client: TrainyardClient, name: string, logs: boolean): Promise<TrainingJob> {
  return watchJob<TrainingJob>(
    {
      describe: () => client.call('describeTrainingJob', { params: { name } }),
      // Metrics move while the status stays Training: a new line when either changes.
      key: (job) =>
        `${job.TrainingJobStatus}/${job.SecondaryStatus}/${job.SecondaryStatusTransitions.length}/${JSON.stringify(job.FinalMetricDataList?.map((m) => m.Value))}`,
      line: progressLine,
      ended: (job) => JobLifecycle.isTerminal(job.TrainingJobStatus),
      ...(logs ? { logs: (cursor: number) => streamJobLog(trainingCli, client, name, false, cursor) } : {}),
    },
    500,
  );
}

const trainingCli: JobKindCli<TrainingJob, TrainingJobSummary> = {
  noun: 'training',
  listColumns: [
    'TrainingJobName',
    'TrainingJobStatus',
    'SecondaryStatus',
    'CreationTime',
    'TrainingEndTime',
    'FailureReason',
  ],
  list: (client, query) => client.listAll('listTrainingJobs', { query }),
  stop: (client, name) => client.call('stopTrainingJob', { params: { name } }),
  logPage: (client, name, cursor) =>
    client.call('getTrainingJobLogs', { params: { name }, query: { cursor, limit: 1000 } }),
  watch,
  brief: (job) => ({
    TrainingJobName: job.TrainingJobName,
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
  }),
  followPollMs: 500,
};

const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** The evaluation report as tables: confusion matrix and per-class rates, or regression errors. */
export function printEvaluation(report: EvaluationReport): void {
  process.stdout.write(`\nEVALUATION (${report.channel}, ${report.rows} rows)\n`);
  if (report.type === 'regression') {
    printObject({ RMSE: fixed(report.rmse), MAE: fixed(report.mae), R2: fixed(report.r2) }, false);
    process.stdout.write('\nRESIDUALS\n');
    printRows(
      report.residualHistogram.counts.map((count, i) => ({
        from: fixed(report.residualHistogram.edges[i]!),
        to: fixed(report.residualHistogram.edges[i + 1]!),
        count,
      })),
      ['from', 'to', 'count'],
      false,
    );
    return;
  }
  const summary: Record<string, unknown> = { accuracy: fixed(report.accuracy) };
  if (report.roc) summary['ROC AUC'] = fixed(report.roc.auc);
  if (report.pr) summary['average precision'] = fixed(report.pr.averagePrecision);
  if (report.threshold !== undefined) summary.threshold = report.threshold;
  printObject(summary, false);
  process.stdout.write('\nCONFUSION MATRIX (rows: true, columns: predicted)\n');
  printRows(
    report.confusionMatrix.map((row, i) => ({
      true: report.labels[i],
      ...Object.fromEntries(row.map((v, j) => [`pred ${report.labels[j]}`, v])),
    })),
    ['true', ...report.labels.map((l) => `pred ${l}`)],
    false,
  );
  process.stdout.write('\nPER CLASS\n');
  printRows(
    report.perClass.map((c) => ({
      label: c.label,
      precision: fixed(c.precision),
      recall: fixed(c.recall),
      f1: fixed(c.f1),
      support: c.support,
      FPR: fixed(c.falsePositiveRate),
      FNR: fixed(c.falseNegativeRate),
    })),
    ['label', 'precision', 'recall', 'f1', 'support', 'FPR', 'FNR'],
    false,
  );
  if (report.calibration) {
    process.stdout.write('\nCALIBRATION\n');
    printRows(
      report.calibration.map((b) => ({
        predicted: fixed(b.meanPredicted),
        observed: fixed(b.fractionPositive),
        count: b.count,
      })),
      ['predicted', 'observed', 'count'],
      false,
    );
  }
}

function printJob(job: TrainingJob): void {
  const { SecondaryStatusTransitions, FinalMetricDataList, EvaluationReport: report, ...rest } = job;
  printObject(rest, false);
  process.stdout.write('\nTRANSITIONS\n');
  printRows(SecondaryStatusTransitions, ['Status', 'StartTime', 'EndTime', 'StatusMessage'], false);
  if (FinalMetricDataList?.length) {
    process.stdout.write('\nFINAL METRICS\n');
    printRows(FinalMetricDataList, ['MetricName', 'Value', 'Timestamp'], false);
  }
  if (report) printEvaluation(report);
}

export function addTrainingCommands(program: Command): void {
  const jobs = program
    .command('training-jobs')
    .description('Train built-in algorithms, SageMaker-style scripts or any command as queued jobs');

  clientCommand(jobs, 'create', 'Queue a training job from a CreateTrainingJob JSON file')
    .requiredOption(
      '--spec <file>',
      'JSON with SageMaker CreateTrainingJob fields (TrainingJobName, AlgorithmSpecification, ...)',
    )
    .option('--name <name>', 'overrides TrainingJobName')
    .option(
      '--wait',
      'show progress (status, elapsed time, metrics) until the job ends; exit 1 unless it completed',
    )
    .option('--logs', 'with --wait, also print the job output')
    .action(async (flags: ClientFlags & { spec: string; name?: string; wait?: boolean; logs?: boolean }) => {
      const body = readSpecFile<CreateTrainingJobInput>(flags.spec);
      if (flags.name) body.TrainingJobName = flags.name;
      const client = clientOf(flags);
      const job = await client.call('createTrainingJob', { body });
      if (!flags.wait) {
        printObject(
          flags.json
            ? job
            : {
                TrainingJobName: job.TrainingJobName,
                TrainingJobArn: job.TrainingJobArn,
                TrainingJobStatus: job.TrainingJobStatus,
                SecondaryStatus: job.SecondaryStatus,
                S3ModelArtifacts: job.ModelArtifacts.S3ModelArtifacts,
              },
          flags.json ?? false,
        );
        return;
      }
      const final = await watch(client, job.TrainingJobName, flags.logs ?? false);
      if (flags.json) printObject(final, true);
      else if (final.FailureReason) process.stderr.write(`FailureReason: ${final.FailureReason}\n`);
      else printJob(final);
      if (final.TrainingJobStatus !== 'Completed') process.exitCode = 1;
    });

  addJobKindCommands(jobs, trainingCli);

  clientCommand(
    jobs,
    'describe',
    'Show a training job: status, transitions, final metrics, evaluation report',
  )
    .argument('<name>')
    .option('--watch', 'show progress until the job ends')
    .action(async (name: string, flags: ClientFlags & { watch?: boolean }) => {
      const client = clientOf(flags);
      const job = flags.watch
        ? await watch(client, name, false)
        : await client.call('describeTrainingJob', { params: { name } });
      if (flags.json) printObject(job, true);
      else printJob(job);
    });

  clientCommand(jobs, 'metrics', "Print a training job's metric series (one row per point)")
    .argument('<name>')
    .option('--metric <name>', 'only this metric')
    .action(async (name: string, flags: ClientFlags & { metric?: string }) => {
      const { metrics } = await clientOf(flags).call('getTrainingJobMetrics', { params: { name } });
      const rows = Object.entries(metrics)
        .filter(([metric]) => flags.metric === undefined || metric === flags.metric)
        .flatMap(([metric, points]) => points.map((p) => ({ metric, ...p })));
      printRows(rows, ['metric', 'Iteration', 'Value', 'Timestamp'], flags.json ?? false);
    });

  clientCommand(jobs, 'delete', 'Delete an ended training job and its log (artifacts stay)')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      printObject(await clientOf(flags).call('deleteTrainingJob', { params: { name } }), flags.json ?? false);
    });

  const experiments = program
    .command('experiments')
    .description(
      'Experiments: created before any run or by a training job ExperimentConfig; runs compared side by side',
    );

  clientCommand(experiments, 'create', 'Create an experiment before any run (SageMaker CreateExperiment)')
    .argument('<name>')
    .option('--display-name <text>', 'shown instead of the name (default: the name)')
    .option('--description <text>', 'what the experiment is about')
    .action(async (name: string, flags: ClientFlags & { displayName?: string; description?: string }) => {
      const created = await clientOf(flags).call('createExperiment', {
        body: { ExperimentName: name, DisplayName: flags.displayName, Description: flags.description },
      });
      printObject(created, flags.json ?? false);
    });

  clientCommand(experiments, 'delete', 'Delete an experiment that has no trials (runs)')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteExperiment', { params: { name } });
      if (flags.json) printObject({ deleted: true }, true);
      else process.stdout.write(`deleted ${name}\n`);
    });

  clientCommand(experiments, 'list', 'List experiments, newest run first (those without runs last)')
    .option('--name-contains <text>', 'only experiments whose name contains this')
    .action(async (flags: ClientFlags & { nameContains?: string }) => {
      const { items } = await clientOf(flags).call('listExperiments', {
        query: { nameContains: flags.nameContains },
      });
      printRows(items, ['ExperimentName', 'Runs', 'LastRunTime', 'CreationTime'], flags.json ?? false);
    });

  clientCommand(experiments, 'compare', "Compare an experiment's runs: varying parameters and final metrics")
    .argument('<name>')
    .option('--sort-by <metric>', 'a metric name (e.g. validation:auc) or CreationTime', 'CreationTime')
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']).default('desc'))
    .option('--curves', 'with --json, include every metric point (chart data)')
    .action(
      async (
        name: string,
        flags: ClientFlags & { sortBy: string; order: 'asc' | 'desc'; curves?: boolean },
      ) => {
        const runs = await clientOf(flags).call('compareExperimentRuns', {
          params: { name },
          query: { sortBy: flags.sortBy, order: flags.order, curves: flags.curves ? 'true' : 'false' },
        });
        if (flags.json) {
          printObject(runs, true);
          return;
        }
        const fixed4 = (v: number | undefined) => (v === undefined ? undefined : Number(v.toPrecision(6)));
        printRows(
          runs.Runs.map((r) => ({
            run: r.RunName,
            status: r.Status,
            ...Object.fromEntries(runs.VaryingParameters.map((p) => [p, r.Parameters[p]])),
            ...Object.fromEntries(runs.MetricNames.map((m) => [m, fixed4(r.FinalMetrics[m])])),
          })),
          ['run', 'status', ...runs.VaryingParameters, ...runs.MetricNames],
          false,
        );
      },
    );
}
