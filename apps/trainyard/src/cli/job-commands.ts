import type {
  CreateProcessingJobInput,
  ProcessingJob,
  ProcessingJobSummary,
} from '@trainyard/contracts/processing-jobs';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadServerConfig } from '../config.js';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { readSpecFile, watchJob } from './job-follow.js';
import { addJobKindCommands, type JobKindCli, streamJobLog } from './job-kind-commands.js';
import { printObject, printRows } from './output.js';

function statusLine(job: ProcessingJob): string {
  const last = job.SecondaryStatusTransitions.at(-1);
  return `${new Date().toISOString().slice(11, 19)}  ${job.ProcessingJobStatus.padEnd(10)} ${job.SecondaryStatus.padEnd(18)} ${last?.StatusMessage ?? ''}`.trimEnd();
}

/** Shows each status change until the job ends; with `logs`, interleaves the job's output. */
function watch(client: TrainyardClient, name: string, logs: boolean): Promise<ProcessingJob> {
  return watchJob<ProcessingJob>({
    describe: () => client.call('describeProcessingJob', { params: { name } }),
    key: (job) =>
      `${job.ProcessingJobStatus}/${job.SecondaryStatus}/${job.SecondaryStatusTransitions.length}`,
    line: statusLine,
    ended: (job) => JobLifecycle.isTerminal(job.ProcessingJobStatus),
    ...(logs ? { logs: (cursor: number) => streamJobLog(processingCli, client, name, false, cursor) } : {}),
  });
}

const processingCli: JobKindCli<ProcessingJob, ProcessingJobSummary> = {
  noun: 'processing',
  listColumns: [
    'ProcessingJobName',
    'ProcessingJobStatus',
    'SecondaryStatus',
    'CreationTime',
    'ProcessingEndTime',
    'FailureReason',
  ],
  list: (client, query) => client.listAll('listProcessingJobs', { query }),
  stop: (client, name) => client.call('stopProcessingJob', { params: { name } }),
  logPage: (client, name, cursor) =>
    client.call('getProcessingJobLogs', { params: { name }, query: { cursor, limit: 1000 } }),
  watch,
  brief: (job) => ({
    ProcessingJobName: job.ProcessingJobName,
    ProcessingJobStatus: job.ProcessingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
  }),
};

export function addJobCommands(program: Command): void {
  const jobs = program
    .command('processing-jobs')
    .description('Run scripts and built-in processors as queued jobs with the SageMaker processing contract');

  clientCommand(jobs, 'create', 'Queue a processing job from a CreateProcessingJob JSON file')
    .requiredOption(
      '--spec <file>',
      'JSON with SageMaker CreateProcessingJob fields (ProcessingJobName, AppSpecification, ...)',
    )
    .option('--name <name>', 'overrides ProcessingJobName')
    .option('--wait', 'show status changes until the job ends; exit 1 unless it completed')
    .option('--logs', 'with --wait, also print the job output')
    .action(async (flags: ClientFlags & { spec: string; name?: string; wait?: boolean; logs?: boolean }) => {
      const body = readSpecFile<CreateProcessingJobInput>(flags.spec);
      if (flags.name) body.ProcessingJobName = flags.name;
      const client = clientOf(flags);
      const job = await client.call('createProcessingJob', { body });
      if (!flags.wait) {
        printObject(
          flags.json
            ? job
            : {
                ProcessingJobName: job.ProcessingJobName,
                ProcessingJobArn: job.ProcessingJobArn,
                ProcessingJobStatus: job.ProcessingJobStatus,
                SecondaryStatus: job.SecondaryStatus,
              },
          flags.json ?? false,
        );
        return;
      }
      const final = await watch(client, job.ProcessingJobName, flags.logs ?? false);
      if (flags.json) printObject(final, true);
      else if (final.FailureReason) process.stderr.write(`FailureReason: ${final.FailureReason}\n`);
      if (final.ProcessingJobStatus !== 'Completed') process.exitCode = 1;
    });

  addJobKindCommands(jobs, processingCli);

  clientCommand(jobs, 'describe', 'Show a processing job: status, transitions, failure, outputs')
    .argument('<name>')
    .option('--watch', 'show status changes until the job ends')
    .action(async (name: string, flags: ClientFlags & { watch?: boolean }) => {
      const client = clientOf(flags);
      const job = flags.watch
        ? await watch(client, name, false)
        : await client.call('describeProcessingJob', { params: { name } });
      if (flags.json) {
        printObject(job, true);
        return;
      }
      const { SecondaryStatusTransitions, ...rest } = job;
      printObject(rest, false);
      process.stdout.write('\nTRANSITIONS\n');
      printRows(SecondaryStatusTransitions, ['Status', 'StartTime', 'EndTime', 'StatusMessage'], false);
    });

  clientCommand(jobs, 'delete', 'Delete a finished processing job and its log (its outputs stay)')
    .argument('<name>')
    .action(async (name: string, flags: ClientFlags) => {
      await clientOf(flags).call('deleteProcessingJob', { params: { name } });
      if (!flags.json) process.stdout.write(`deleted ${name}\n`);
    });
  program
    .command('worker')
    .description('Run only a job worker: takes jobs from the queue of the same stores the server uses')
    .option('--data-dir <dir>', 'folder for embedded stores and job working folders (env TRAINYARD_DATA_DIR)')
    .option('--metadata <uri>', 'metadata store: sqlite:<file> or postgres://… (env TRAINYARD_METADATA)')
    .option('--blobs <uri>', 'blob store (env TRAINYARD_BLOBS)')
    .option(
      '--concurrency <n>',
      'at most this many jobs at once (env TRAINYARD_WORKER_CONCURRENCY, default 1)',
    )
    .option(
      '--vcpus <n>',
      "vCPUs lent to jobs, admitted by their instance types (env TRAINYARD_WORKER_VCPUS, default: the machine's cores)",
    )
    .option(
      '--memory-mib <n>',
      "memory lent to jobs (env TRAINYARD_WORKER_MEMORY_MIB, default: the machine's memory)",
    )
    .option('--config <file>', 'config file (default ./trainyard.config.json)')
    .action(
      async (flags: {
        dataDir?: string;
        metadata?: string;
        blobs?: string;
        concurrency?: string;
        vcpus?: string;
        memoryMib?: string;
        config?: string;
      }) => {
        const config = loadServerConfig({
          flags: {
            dataDir: flags.dataDir,
            metadata: flags.metadata,
            blobs: flags.blobs,
            workerConcurrency:
              flags.concurrency === undefined ? undefined : Math.max(1, Number(flags.concurrency)),
            workerVcpus: flags.vcpus,
            workerMemoryMiB: flags.memoryMib,
          },
          configFile: flags.config,
        });
        const log = pino({ level: config.logLevel, base: { service: 'trainyard-worker' } });
        const { openWorkerRole } = await import('../platform.js');
        const role = await openWorkerRole(config, log);
        const worker = await role.jobs.startWorker();
        log.info({ worker: worker.id, dataDir: config.dataDir }, `Trainyard worker ${worker.id} running`);
        process.stdout.write(`${role.jobs.isolation()?.summary ?? 'job isolation: unknown'}\n`);
        const stop = async (signal: string) => {
          log.info({ signal }, 'worker shutting down; running jobs go back to the queue');
          const force = setTimeout(() => process.exit(1), config.shutdownGraceSeconds * 1000);
          force.unref();
          await role.close();
          process.exit(0);
        };
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
      },
    );
}
