import type { JobLogPage } from '@trainyard/contracts/jobs';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { addJobListOptions, type JobListFlags, jobListQuery, printJobLog } from './job-follow.js';
import { printObject, printRows } from './output.js';

/** What the list, stop and logs commands of one job kind need to know of it. */
export interface JobKindCli<Job, Summary> {
  /** "processing" or "training": the noun before "job" in help texts. */
  noun: string;
  listColumns: string[];
  list(client: TrainyardClient, query: ReturnType<typeof jobListQuery>): AsyncIterable<Summary>;
  stop(client: TrainyardClient, name: string): Promise<Job>;
  logPage(client: TrainyardClient, name: string, cursor: number): Promise<JobLogPage>;
  /** Status lines until the job ends; with `logs`, its output interleaved. */
  watch(client: TrainyardClient, name: string, logs: boolean): Promise<Job>;
  /** The fields `stop` prints: name, status, secondary status. */
  brief(job: Job): Record<string, unknown>;
  /** Poll interval of `logs -f`, ms. */
  followPollMs?: number;
}

/** Prints a kind's log from `cursor` on; with `follow`, keeps polling until the job has ended. */
export function streamJobLog<Job, Summary>(
  kind: JobKindCli<Job, Summary>,
  client: TrainyardClient,
  name: string,
  follow: boolean,
  cursor = 0,
): Promise<number> {
  return printJobLog((at) => kind.logPage(client, name, at), follow, cursor, kind.followPollMs);
}

/** The `list`, `stop` and `logs` commands every job kind has, the same way. */
export function addJobKindCommands<Job, Summary>(group: Command, kind: JobKindCli<Job, Summary>): void {
  addJobListOptions(
    clientCommand(group, 'list', `List ${kind.noun} jobs, newest first unless --sort-by / --ascending`),
  ).action(async (flags: ClientFlags & JobListFlags) => {
    const rows: Summary[] = [];
    for await (const job of kind.list(clientOf(flags), jobListQuery(flags))) {
      rows.push(job);
      if (rows.length >= flags.limit) break;
    }
    printRows(rows as Record<string, unknown>[], kind.listColumns, flags.json ?? false);
  });

  clientCommand(group, 'stop', `Stop a ${kind.noun} job (SIGTERM, then SIGKILL after the grace period)`)
    .argument('<name>')
    .option('--wait', 'wait until it has stopped')
    .action(async (name: string, flags: ClientFlags & { wait?: boolean }) => {
      const client = clientOf(flags);
      let job = await kind.stop(client, name);
      if (flags.wait) job = await kind.watch(client, name, false);
      printObject(kind.brief(job), flags.json ?? false);
    });

  clientCommand(group, 'logs', `Print a ${kind.noun} job log (stderr lines go to stderr)`)
    .argument('<name>')
    .option('-f, --follow', 'keep printing new lines until the job ends')
    .option('--cursor <n>', 'start after this event number', Number, 0)
    .action(async (name: string, flags: ClientFlags & { follow?: boolean; cursor: number }) => {
      await streamJobLog(kind, clientOf(flags), name, flags.follow ?? false, flags.cursor);
    });
}
