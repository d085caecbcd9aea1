import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobLogStream, SecondaryStatus } from '@trainyard/contracts/jobs';
import { jobQueueName, parseJobDispatchMessage } from '@trainyard/core/jobs/job-dispatch';
import { type JobEventSink, publishJobStateChange } from '@trainyard/core/jobs/job-events';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { JobQueue, ReceivedMessage } from '@trainyard/core/ports/job-queue';
import type { JobKind, JobPatch, JobRecord, JobStore } from '@trainyard/core/ports/job-store';
import type { InstanceTypeStore } from '@trainyard/core/ports/metadata-store';
import type { JobAbortReason, JobKindRunner, JobRunContext, JobRunOutcome } from './job-kind-runner.js';
import { JobLogWriter } from './job-log-writer.js';
import { runJobProcess } from './job-process.js';

/** The pino-compatible subset the worker logs through. */
export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JobWorkerOptions {
  queue: JobQueue;
  jobs: JobStore;
  instanceTypes: InstanceTypeStore;
  runners: JobKindRunner[];
  /** Working folders go under `<workRoot>/<kind>/<job name>`; each is removed when its job ends. */
  workRoot: string;
  /** Jobs run at the same time by this worker. Default 1. */
  concurrency?: number;
  /**
   * How long a received message (and the job's claim) stays ours without a heartbeat, ms: a
   * crashed worker's job is restarted elsewhere after about this long. Heartbeats come every third
   * of it. Default 60 000.
   */
  visibilityTimeoutMs?: number;
  /** SIGTERM-to-SIGKILL grace period on stop and max runtime, ms. Default 120 000 (SageMaker's). */
  stopGraceMs?: number;
  /** How often a running job's row is checked for a stop request, ms. Default 500. */
  stopPollMs?: number;
  /** Starts per job; the next loss of a worker fails the job (retryable). Default 3. */
  maxAttempts?: number;
  /** Long-poll wait of each receive, ms. Default 1000. */
  receiveWaitMs?: number;
  /** ms between memory samples of a job's process tree. Default 200. */
  memorySampleMs?: number;
  log?: WorkerLog;
  /** Names this worker in claims; default `<host>:<pid>:<random>`. */
  id?: string;
  /** Receives `trainyard.<kind>-job.state-change` events when a job's status changes. */
  events?: JobEventSink | undefined;
}

const silentLog: WorkerLog = { info() {}, warn() {}, error() {} };

/** The env every job process starts from: nothing of the server's own environment (keys!) leaks in. */
function baseEnv(workdir: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: workdir,
    TMPDIR: join(workdir, 'tmp'),
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes jobs from the `trainyard-jobs` queue and runs them, `concurrency` at a time. Each job is
 * claimed in its row first (so it never runs twice at once) and kept alive by heartbeats that
 * extend both the message's visibility and the claim; if this worker dies, the message
 * reappears after the visibility timeout and another worker restarts the job from the start.
 */
export class JobWorker {
  readonly id: string;
  readonly #options: Required<Omit<JobWorkerOptions, 'log' | 'id' | 'events'>> & {
    log: WorkerLog;
    events: JobEventSink | undefined;
  };
  readonly #runners = new Map<JobKind, JobKindRunner>();
  readonly #running = new Map<string, AbortController>();
  #loops: Promise<void>[] = [];
  #started = false;
  #closing = false;

  constructor(options: JobWorkerOptions) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#options = {
      concurrency: 1,
      visibilityTimeoutMs: 60_000,
      stopGraceMs: 120_000,
      stopPollMs: 500,
      maxAttempts: 3,
      receiveWaitMs: 1000,
      memorySampleMs: 200,
      ...options,
      log: options.log ?? silentLog,
      events: options.events,
    };
    for (const runner of options.runners) this.#runners.set(runner.kind, runner);
  }

  /** Starts the receive loops; resolves once the queue exists. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#options.queue.createQueue(jobQueueName, {
      visibilityTimeoutMs: this.#options.visibilityTimeoutMs,
    });
    for (let slot = 0; slot < Math.max(1, this.#options.concurrency); slot++) {
      this.#loops.push(this.#loop(`${this.id}/${slot}`));
    }
    this.#options.log.info({ worker: this.id, concurrency: this.#options.concurrency }, 'job worker started');
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /** Jobs this worker is running now, by job id. */
  get runningJobIds(): string[] {
    return [...this.#running.keys()];
  }

  /**
   * Stops taking jobs. Running ones are ended (SIGTERM, SIGKILL after the grace period) and handed
   * back: their claims are released and their messages made visible, so another worker restarts them.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const controller of this.#running.values()) controller.abort('shutdown' satisfies JobAbortReason);
    await Promise.all(this.#loops);
  }

  async #loop(holder: string): Promise<void> {
    const { queue, visibilityTimeoutMs, receiveWaitMs, log } = this.#options;
    while (!this.#closing) {
      let messages: ReceivedMessage[];
      try {
        messages = await queue.receive(jobQueueName, {
          maxMessages: 1,
          waitMs: receiveWaitMs,
          visibilityTimeoutMs,
        });
      } catch (error) {
        if (this.#closing) return;
        log.warn({ err: error, worker: holder }, 'job queue receive failed; retrying');
        await sleep(1000);
        continue;
      }
      for (const message of messages) {
        try {
          await this.#handle(message, holder);
        } catch (error) {
          // The message stays unacknowledged and comes back after its visibility timeout.
          log.error({ err: error, worker: holder, messageId: message.id }, 'job message handling failed');
        }
      }
    }
  }

  async #ack(message: ReceivedMessage): Promise<void> {
    try {
      await this.#options.queue.delete(jobQueueName, message.receiptHandle);
    } catch (error) {
      // A stale receipt: the message was delivered again meanwhile; that copy is acknowledged when
      // its receiver finds the job ended.
      if (!TrainyardError.is(error, 'FAILED_PRECONDITION')) throw error;
    }
  }

  /** Applies `change` to the freshest row under the claim, retrying when someone else wrote meanwhile. */
  async #write(
    jobId: string,
    holder: string,
    change: (job: JobRecord) => JobPatch | undefined,
  ): Promise<JobRecord | undefined> {
    for (;;) {
      const job = await this.#options.jobs.getById(jobId);
      const patch = change(job);
      if (!patch) return job;
      try {
        const updated = await this.#options.jobs.update(jobId, patch, { version: job.version, holder });
        await publishJobStateChange(this.#options.events, job, updated, (err) =>
          this.#options.log.warn({ err, job: job.name }, 'could not publish the job state change'),
        );
        return updated;
      } catch (error) {
        if (!TrainyardError.is(error, 'CONFLICT')) throw error;
        const now = await this.#options.jobs.getById(jobId);
        if (now.claimHolder !== holder) return undefined; // lost the claim: not ours to write
      }
    }
  }

  /**
   * A worker that died (SIGKILL, crash) leaves its job's process group running; on this machine
   * the group id it recorded lets the next attempt end it before starting again.
   */
  async #killLeftovers(pgidFile: string): Promise<void> {
    const pgid = Number.parseInt(await readFile(pgidFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pgid) && pgid > 1) {
      try {
        process.kill(-pgid, 'SIGKILL');
        this.#options.log.warn({ pgid }, 'killed the process group a lost worker left behind');
      } catch {
        // Already gone.
      }
    }
    await rm(pgidFile, { force: true });
  }

  async #handle(message: ReceivedMessage, holder: string): Promise<void> {
    const { jobs, log } = this.#options;
    const dispatch = parseJobDispatchMessage(message.body);
    if (!dispatch) {
      log.warn({ messageId: message.id }, 'dropping a job message that is not a job dispatch');
      await this.#ack(message);
      return;
    }
    let job: JobRecord;
    try {
      job = await jobs.getById(dispatch.jobId);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      await this.#ack(message);
      return;
    }
    if (JobLifecycle.isTerminal(job.status)) {
      await this.#ack(message);
      return;
    }
    const runner = this.#runners.get(job.kind);
    if (!runner) {
      log.warn(
        { job: job.name, kind: job.kind },
        'no runner for this job kind here; leaving it for another worker',
      );
      return;
    }
    const claimed = await jobs.claim(job.id, holder, this.#options.visibilityTimeoutMs);
    if (!claimed) {
      // Another worker holds the job (its heartbeat let the message reappear): never run it twice.
      // The message stays invisible and comes back; by then the job has ended or its holder died.
      log.info(
        { job: job.name, holder: job.claimHolder },
        'job is claimed by another worker; not running it',
      );
      return;
    }
    try {
      await this.#runClaimed(claimed, runner, message, holder);
    } finally {
      await jobs.releaseClaim(job.id, holder).catch(() => {});
    }
  }

  async #runClaimed(
    claimed: JobRecord,
    runner: JobKindRunner,
    message: ReceivedMessage,
    holder: string,
  ): Promise<void> {
    const { jobs, queue, log, visibilityTimeoutMs, maxAttempts } = this.#options;
    const workdir = join(this.#options.workRoot, claimed.kind, claimed.name);
    const pgidFile = `${workdir}.pgid`;
    const writer = new JobLogWriter({
      store: jobs,
      jobId: claimed.id,
      startAfterSeq: await jobs.lastLogSeq(claimed.id),
      onError: (error) => log.warn({ err: error, job: claimed.name }, 'could not write job log'),
    });
    const system = (text: string) => writer.write('system', `[trainyard] ${text}`);

    if (claimed.status === 'Stopping') {
      system('stop requested while no worker ran the job');
      await writer.close();
      await this.#write(claimed.id, holder, (job) =>
        JobLifecycle.advance(job, 'Stopped', new Date(), 'Stopped by request'),
      );
      await this.#ack(message);
      return;
    }
    if (claimed.attempts > maxAttempts) {
      system(`giving up: a worker was lost ${claimed.attempts - 1} times`);
      await writer.close();
      await this.#write(claimed.id, holder, (job) =>
        JobLifecycle.fail(
          job,
          {
            code: 'UNAVAILABLE',
            message: `InternalServerError: the worker running the job was lost ${claimed.attempts - 1} times (limit ${maxAttempts} attempts)`,
            retryable: true,
          },
          new Date(),
        ),
      );
      await this.#ack(message);
      return;
    }

    const controller = new AbortController();
    this.#running.set(claimed.id, controller);
    const abort = (reason: JobAbortReason) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const timers: NodeJS.Timeout[] = [];
    let outcome: JobRunOutcome | undefined;
    try {
      const first = await this.#write(claimed.id, holder, (job) => {
        const patch: JobPatch =
          job.attempts > 1
            ? JobLifecycle.advance(
                job,
                'Restarting',
                new Date(),
                `attempt ${job.attempts}: the previous worker stopped heartbeating; starting again from the beginning`,
              )
            : {};
        const restarted = { ...job, ...patch } as JobRecord;
        const starting = JobLifecycle.advance(restarted, 'Starting', new Date(), `worker ${holder}`);
        return { ...patch, ...starting, ...(job.startedAt ? {} : { startedAt: new Date() }) };
      });
      if (!first) {
        await writer.close();
        return;
      }
      system(`attempt ${first.attempts} on worker ${holder}`);

      timers.push(
        setInterval(
          () => {
            void (async () => {
              try {
                if (!(await jobs.renewClaim(claimed.id, holder, visibilityTimeoutMs))) {
                  log.warn({ job: claimed.name }, 'lost the job claim; ending the local process');
                  abort('lostClaim');
                  return;
                }
                await queue.changeVisibility(jobQueueName, message.receiptHandle, visibilityTimeoutMs);
              } catch (error) {
                log.warn({ err: error, job: claimed.name }, 'job heartbeat failed');
              }
            })();
          },
          Math.max(50, Math.floor(visibilityTimeoutMs / 3)),
        ),
      );
      timers.push(
        setInterval(() => {
          void jobs
            .getById(claimed.id)
            .then((job) => {
              if (job.status === 'Stopping') abort('stop');
            })
            .catch(() => {});
        }, this.#options.stopPollMs),
      );
      const maxRuntime = runner.maxRuntimeSeconds(claimed);
      if (maxRuntime !== undefined) timers.push(setTimeout(() => abort('maxRuntime'), maxRuntime * 1000));

      try {
        await this.#killLeftovers(pgidFile);
        await rm(workdir, { recursive: true, force: true });
        await mkdir(join(workdir, 'tmp'), { recursive: true });
        const instanceType = await this.#options.instanceTypes.get(runner.instanceTypeOf(claimed));
        const context: JobRunContext = {
          job: first,
          workdir,
          instanceType,
          signal: controller.signal,
          advance: async (status: SecondaryStatus, text?: string) => {
            if (controller.signal.aborted) return;
            system(text ? `${status}: ${text}` : status);
            await this.#write(claimed.id, holder, (job) => {
              if (job.status === 'Stopping') {
                abort('stop');
                return undefined;
              }
              return JobLifecycle.advance(job, status, new Date(), text);
            });
          },
          log: (text: string, stream: JobLogStream = 'system') =>
            writer.write(stream, stream === 'system' ? `[trainyard] ${text}` : text),
          runProcess: async (command) => {
            const { onLine, ...spawn } = command;
            const result = await runJobProcess({
              ...spawn,
              env: { ...baseEnv(workdir), ...command.env },
              limits: { vcpus: instanceType.vcpus, memoryMiB: instanceType.memoryMiB },
              onLine: (stream, line) => {
                writer.write(stream, line);
                onLine?.(stream, line);
              },
              signal: controller.signal,
              graceMs: this.#options.stopGraceMs,
              memorySampleMs: this.#options.memorySampleMs,
              onSpawn: (pid) => void writeFile(pgidFile, String(pid)).catch(() => {}),
            });
            await rm(pgidFile, { force: true });
            system(
              `process ended: ${result.exitSignal ? `signal ${result.exitSignal}` : `exit code ${result.exitCode}`}; peak memory ${(result.peakRssBytes / 1048576).toFixed(1)} MiB; limits: ${result.enforcement}`,
            );
            return result;
          },
        };
        outcome = await runner.run(context);
      } catch (error) {
        log.error({ err: error, job: claimed.name }, 'job runner failed');
        const failure = TrainyardError.is(error)
          ? { code: error.code, message: error.message, retryable: error.retryable }
          : {
              code: 'INTERNAL' as const,
              message: `InternalServerError: ${(error as Error).message}`,
              retryable: true,
            };
        outcome = { status: 'Failed', failure };
      }
    } finally {
      for (const timer of timers) clearInterval(timer);
      this.#running.delete(claimed.id);
    }

    const reason = controller.signal.aborted ? (controller.signal.reason as JobAbortReason) : undefined;
    if (reason === 'lostClaim' || reason === 'shutdown') {
      system(
        reason === 'shutdown'
          ? 'worker shutting down; the job goes back to the queue'
          : 'worker lost the job claim',
      );
      await writer.close();
      await rm(workdir, { recursive: true, force: true });
      if (reason === 'shutdown') {
        await jobs.releaseClaim(claimed.id, holder).catch(() => {});
        await queue.changeVisibility(jobQueueName, message.receiptHandle, 0).catch(() => {});
      }
      return;
    }
    await writer.close();
    const end = new Date();
    await this.#write(claimed.id, holder, (job) => {
      if (JobLifecycle.isTerminal(job.status)) return undefined;
      if (reason === 'stop') return JobLifecycle.advance(job, 'Stopped', end, 'Stopped by request');
      if (reason === 'maxRuntime') {
        return JobLifecycle.advance(
          job,
          'MaxRuntimeExceeded',
          end,
          `Stopped after MaxRuntimeInSeconds (${runner.maxRuntimeSeconds(job)} s)`,
        );
      }
      if (!outcome || outcome.status === 'Failed') {
        const failure = outcome?.failure ?? {
          code: 'INTERNAL' as const,
          message: 'no outcome',
          retryable: true,
        };
        return {
          ...JobLifecycle.fail(job, failure, end),
          ...(outcome?.exitMessage ? { exitMessage: outcome.exitMessage } : {}),
        };
      }
      return {
        ...JobLifecycle.advance(job, 'Completed', end),
        result: outcome.result,
        ...(outcome.exitMessage ? { exitMessage: outcome.exitMessage } : {}),
      };
    });
    await this.#ack(message);
    await rm(workdir, { recursive: true, force: true });
  }
}
