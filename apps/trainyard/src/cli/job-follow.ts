import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogPage } from '@trainyard/contracts/jobs';
import { JobStatus, jobSortKeys } from '@trainyard/contracts/jobs';
import { type Command, Option } from 'commander';

/**
 * Prints a job log from `cursor` on (stderr lines to stderr) through `page`, one of the kinds'
 * log routes; with `follow`, keeps polling until the job has ended. Returns the next cursor.
 */
export async function printJobLog(
  page: (cursor: number) => Promise<JobLogPage>,
  follow: boolean,
  cursor = 0,
  pollMs = 1000,
): Promise<number> {
  for (;;) {
    const got = await page(cursor);
    for (const event of got.events) {
      (event.stream === 'stderr' ? process.stderr : process.stdout).write(`${event.message}\n`);
    }
    cursor = got.nextCursor;
    if (got.complete || (!follow && got.events.length < 1000)) return cursor;
    if (got.events.length < 1000) await sleep(pollMs);
  }
}

/** How `watchJob` reads and shows one kind's job. */
export interface JobWatch<Job> {
  describe(): Promise<Job>;
  /** Changes whenever a new status line is due. */
  key(job: Job): string;
  /** The status line printed to stderr. */
  line(job: Job): string;
  ended(job: Job): boolean;
  /** With logs: prints the log from a cursor, returns the next one. */
  logs?: (cursor: number) => Promise<number>;
}

/** Prints a status line on each change until the job ends (interleaving its log when asked). */
export async function watchJob<Job>(watch: JobWatch<Job>, pollMs = 1000): Promise<Job> {
  let seen = '';
  let cursor = 0;
  for (;;) {
    const job = await watch.describe();
    const key = watch.key(job);
    if (key !== seen) {
      process.stderr.write(`${watch.line(job)}\n`);
      seen = key;
    }
    if (watch.logs) cursor = await watch.logs(cursor);
    if (watch.ended(job)) {
      if (watch.logs) await watch.logs(cursor);
      return job;
    }
    await sleep(pollMs);
  }
}

/** Reads a `--spec` JSON file of a create request. */
export function readSpecFile<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new TrainyardError('INVALID_ARGUMENT', `--spec ${path}: ${(error as Error).message}`, {
      field: 'spec',
    });
  }
}

/** `--status <status>` of the list commands: one of the job statuses. */
export function jobStatusOption(): Option {
  return new Option('--status <status>', 'only jobs in this status').choices(JobStatus.options);
}

export interface JobListFlags {
  status?: JobStatus;
  nameContains?: string;
  sortBy: (typeof jobSortKeys)[number];
  ascending?: boolean;
  createdAfter?: string;
  createdBefore?: string;
  limit: number;
}

/** The filter and order flags every `… list` of jobs takes. */
export function addJobListOptions(command: Command): Command {
  return command
    .addOption(jobStatusOption())
    .option('--name-contains <text>', 'only jobs whose name contains this')
    .addOption(new Option('--sort-by <key>', 'order by').choices(jobSortKeys).default('CreationTime'))
    .option('--ascending', 'oldest, A or the first status first (default: the reverse)')
    .option('--created-after <time>', 'only jobs created after this ISO 8601 time')
    .option('--created-before <time>', 'only jobs created before this ISO 8601 time')
    .option('--limit <n>', 'at most this many', Number, 100);
}

export function jobListQuery(flags: JobListFlags) {
  return {
    status: flags.status,
    nameContains: flags.nameContains,
    sortBy: flags.sortBy,
    sortOrder: flags.ascending ? ('Ascending' as const) : ('Descending' as const),
    createdAfter: flags.createdAfter,
    createdBefore: flags.createdBefore,
  };
}
