import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogPage } from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobKind, JobListFilter, JobRecord, JobStore } from '../ports/job-store.js';
import { type JobDispatchMessage, jobArn, jobQueueName, newJobId } from './job-dispatch.js';
import { type JobEventSink, publishJobStateChange } from './job-events.js';
import { type JobKindRegistry, specOf } from './job-kinds.js';
import { JobLifecycle } from './job-lifecycle.js';

export interface JobServiceOptions {
  jobs: JobStore;
  queue: JobQueue;
  kinds: JobKindRegistry;
  /** Receives `trainyard.<kind>-job.state-change` events (queued, stop requested). */
  events?: JobEventSink | undefined;
}

/** Describe, list, stop and logs of one kind, typed by its views. */
export interface KindJobs<View, Summary> {
  describe(name: string): Promise<View>;
  list(filter?: JobListFilter): Promise<Page<Summary>>;
  stop(name: string): Promise<View>;
  /** @throws FAILED_PRECONDITION unless the job has ended */
  delete(name: string): Promise<void>;
  logs(name: string, cursor: number, limit: number): Promise<JobLogPage>;
}

/**
 * What every job kind shares: queueing a validated spec, describe, list, stop and logs. A kind's
 * own service validates its create request and calls {@link JobService.enqueue}; the work happens
 * in a worker (`@trainyard/runtime/jobs/job-worker`) that receives the kind's queue.
 */
export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  /** Stores the job as InProgress/Pending and queues it on its kind's queue. */
  async enqueue(kind: JobKind, name: string, spec: unknown): Promise<JobRecord> {
    this.options.kinds.get(kind);
    const at = new Date();
    const job = await this.options.jobs.create({
      id: newJobId(at),
      kind,
      name,
      arn: jobArn(kind, name),
      spec,
      transitions: JobLifecycle.queued(at),
      createdAt: at,
    });
    const message: JobDispatchMessage = { jobId: job.id, kind };
    try {
      await this.options.queue.send(jobQueueName(kind), JSON.stringify(message));
    } catch (error) {
      // Without its message no worker would ever take the job: record that instead of a silent Pending.
      await this.options.jobs.update(
        job.id,
        JobLifecycle.fail(
          job,
          {
            code: 'UNAVAILABLE',
            message: `could not queue the job: ${(error as Error).message}`,
            retryable: true,
          },
          new Date(),
        ),
      );
      throw error;
    }
    await publishJobStateChange(this.options.events, undefined, job);
    return job;
  }

  /** The Describe view of a row, through its kind. */
  view<View>(job: JobRecord): View {
    const definition = this.options.kinds.get<unknown, View>(job.kind);
    return definition.view(job, specOf(definition, job));
  }

  async describe<View>(kind: JobKind, name: string): Promise<View> {
    return this.view<View>(await this.options.jobs.get(kind, name));
  }

  async list<Summary>(kind: JobKind, filter: JobListFilter = {}): Promise<Page<Summary>> {
    const definition = this.options.kinds.get<unknown, unknown, Summary>(kind);
    const page = await this.options.jobs.list(kind, filter);
    const out: Page<Summary> = {
      items: page.items.map((job) => definition.summary(job, specOf(definition, job))),
    };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /**
   * Asks the job to stop. A job no worker holds stops at once; a running one moves to Stopping
   * and its worker sends SIGTERM, then SIGKILL after the grace period, and ends it Stopped.
   * @throws FAILED_PRECONDITION when the job has already ended
   */
  async stop<View>(kind: JobKind, name: string): Promise<View> {
    const label = this.options.kinds.get(kind).label;
    for (;;) {
      const job = await this.options.jobs.get(kind, name);
      if (JobLifecycle.isTerminal(job.status)) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `${label} "${name}" has already ended (${job.status}); only a running job can be stopped`,
          { name },
        );
      }
      if (job.status === 'Stopping') return this.view<View>(job);
      const now = new Date();
      const held = job.claimHolder !== undefined && (job.claimExpiresAt?.getTime() ?? 0) >= now.getTime();
      const patch = held
        ? JobLifecycle.advance(job, 'Stopping', now, 'Stop requested')
        : JobLifecycle.advance(job, 'Stopped', now, 'Stopped before a worker ran it');
      try {
        const updated = await this.options.jobs.update(job.id, patch, { version: job.version });
        await publishJobStateChange(this.options.events, job, updated);
        return this.view<View>(updated);
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT')) throw error;
        // A worker moved it meanwhile (claimed it, changed status): decide again on the new state.
      }
    }
  }

  /**
   * Deletes a finished job's record and log (its outputs stay where it wrote them); the name can
   * then be used again. @throws FAILED_PRECONDITION while it runs or waits
   */
  async delete(kind: JobKind, name: string): Promise<void> {
    const label = this.options.kinds.get(kind).label;
    const job = await this.options.jobs.get(kind, name);
    if (!JobLifecycle.isTerminal(job.status)) {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `${label} "${name}" is ${job.status}; stop it and wait until it has ended before deleting it`,
        { name },
      );
    }
    await this.options.jobs.delete(job.id);
  }

  /** A page of the job's log after `cursor`; `complete` once the job ended and all is read. */
  async logs(kind: JobKind, name: string, cursor: number, limit: number): Promise<JobLogPage> {
    // Status first, then events: a worker writes its last lines before it ends the job, so a
    // reader that sees the end also sees every line.
    const job = await this.options.jobs.get(kind, name);
    const events = await this.options.jobs.readLogs(job.id, cursor, limit);
    const last = events.at(-1);
    return {
      events,
      nextCursor: last ? last.seq : cursor,
      complete: JobLifecycle.isTerminal(job.status) && events.length < limit,
    };
  }

  /** The kind-generic operations bound to one kind, typed by its views. */
  forKind<View, Summary>(kind: JobKind): KindJobs<View, Summary> {
    this.options.kinds.get(kind);
    return {
      describe: (name) => this.describe<View>(kind, name),
      list: (filter) => this.list<Summary>(kind, filter),
      stop: (name) => this.stop<View>(kind, name),
      delete: (name) => this.delete(kind, name),
      logs: (name, cursor, limit) => this.logs(kind, name, cursor, limit),
    };
  }
}
