import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { InstanceTypeRecord } from '@trainyard/contracts/instance-types';
import type { JobLogStream, SecondaryStatus } from '@trainyard/contracts/jobs';
import { jobQueueName, parseJobDispatchMessage } from '@trainyard/core/jobs/job-dispatch';
import { type JobEventSink, publishJobStateChange } from '@trainyard/core/jobs/job-events';
import { specOf } from '@trainyard/core/jobs/job-kinds';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { Executor } from '@trainyard/core/ports/executor';
import type { JobQueue, ReceivedMessage } from '@trainyard/core/ports/job-queue';
import type { JobKind, JobPatch, JobRecord, JobStore } from '@trainyard/core/ports/job-store';
import type { InstanceTypeStore } from '@trainyard/core/ports/metadata-store';
import { type HostCapacity, HostResourceLedger, type ResourceAllocation } from './host-resource-ledger.js';
import type { JobAbortReason, JobKindRunner, JobRunContext, JobRunOutcome } from './job-kind-runner.js';
import { JobLogWriter } from './job-log-writer.js';
import { LocalProcessExecutor } from './local-process-executor.js';

/** SIGTERM-to-SIGKILL grace of a job process when its worker shuts down, ms. */
const shutdownStopGraceMs = 2000;

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
  /** One per kind this worker runs; it receives only those kinds' queues. */
  runners: JobKindRunner[];
  /** Working folders go under `<workRoot>/<kind>/<job name>`; each is removed when its job ends. */
  workRoot: string;
  /**
   * vCPUs and memory lent to jobs; a job is admitted when its instance type fits beside the running
   * ones. Default: this machine's cores and memory.
   */
  capacity?: Partial<HostCapacity>;
  /** At most this many jobs at once, whatever fits. Default unlimited (the capacity decides). */
  maxJobs?: number;
  /** Starts job processes. Default: local process groups. */
  executor?: Executor;
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
  /** ms between memory samples of a job's process tree (default executor). Default 200. */
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

/** A received job this worker admitted: its runner, its share of the host, its claim holder. */
interface Admitted {
  message: ReceivedMessage;
  job: JobRecord;
  runner: JobKindRunner;
  instanceType: InstanceTypeRecord | Error;
  allocation: ResourceAllocation;
}

/** One attempt in progress: what the split steps of running a claimed job share. */
interface Attempt extends Admitted {
  holder: string;
  workdir: string;
  pgidFile: string;
  writer: JobLogWriter;
  controller: AbortController;
  system(text: string): void;
}

/**
 * Takes jobs from the queues of the kinds it has runners for (`trainyard-jobs-<kind>`) and runs
 * them as the host resource ledger admits them. Each job is claimed in its row first (so it never
 * runs twice at once) and kept alive by heartbeats that extend both the message's visibility and
 * the claim; if this worker dies, the message reappears after the visibility timeout and another
 * worker restarts the job from the start. A message whose job does not fit now goes straight back
 * to its queue.
 */
export class JobWorker {
  readonly id: string;
  readonly ledger: HostResourceLedger;
  readonly #options: Required<
    Omit<JobWorkerOptions, 'log' | 'id' | 'events' | 'capacity' | 'maxJobs' | 'executor'>
  > & {
    log: WorkerLog;
    events: JobEventSink | undefined;
    maxJobs: number;
    executor: Executor;
  };
  readonly #runners = new Map<JobKind, JobKindRunner>();
  readonly #running = new Map<string, AbortController>();
  readonly #runs = new Set<Promise<void>>();
  #loops: Promise<void>[] = [];
  #started = false;
  #closing = false;

  constructor(options: JobWorkerOptions) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#options = {
      visibilityTimeoutMs: 60_000,
      stopGraceMs: 120_000,
      stopPollMs: 500,
      maxAttempts: 3,
      receiveWaitMs: 1000,
      memorySampleMs: 200,
      ...options,
      log: options.log ?? silentLog,
      events: options.events,
      maxJobs: Math.max(1, options.maxJobs ?? Number.POSITIVE_INFINITY),
      executor:
        options.executor ?? new LocalProcessExecutor({ memorySampleMs: options.memorySampleMs ?? 200 }),
    };
    this.ledger = new HostResourceLedger(options.capacity);
    for (const runner of options.runners) {
      if (this.#runners.has(runner.definition.kind)) {
        throw new TrainyardError('INVALID_ARGUMENT', `two runners for job kind "${runner.definition.kind}"`);
      }
      this.#runners.set(runner.definition.kind, runner);
    }
  }

  /** The kinds this worker runs. */
  get kinds(): JobKind[] {
    return [...this.#runners.keys()];
  }

  /** Starts one receive loop per kind; resolves once the queues exist. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const kind of this.kinds) {
      await this.#options.queue.createQueue(jobQueueName(kind), {
        visibilityTimeoutMs: this.#options.visibilityTimeoutMs,
      });
    }
    for (const kind of this.kinds) this.#loops.push(this.#loop(kind));
    this.#options.log.info(
      { worker: this.id, kinds: this.kinds, capacity: this.ledger.capacity },
      'job worker started',
    );
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
    await Promise.all(this.#runs);
  }

  #hasRoom(): boolean {
    return this.#runs.size < this.#options.maxJobs && this.ledger.hasRoom;
  }

  async #loop(kind: JobKind): Promise<void> {
    const { queue, visibilityTimeoutMs, receiveWaitMs, log } = this.#options;
    const queueName = jobQueueName(kind);
    while (!this.#closing) {
      if (!this.#hasRoom()) {
        // Full: leave messages in the queue, where other workers can take them.
        await this.ledger.waitForRelease(receiveWaitMs);
        continue;
      }
      let messages: ReceivedMessage[];
      try {
        messages = await queue.receive(queueName, {
          maxMessages: 1,
          waitMs: receiveWaitMs,
          visibilityTimeoutMs,
        });
      } catch (error) {
        if (this.#closing) return;
        log.warn({ err: error, worker: this.id, queue: queueName }, 'job queue receive failed; retrying');
        await sleep(1000);
        continue;
      }
      for (const message of messages) {
        try {
          const admitted = await this.#admit(kind, message);
          if (admitted === 'full') await this.ledger.waitForRelease(receiveWaitMs);
          else if (admitted) this.#track(this.#claimAndRun(admitted));
        } catch (error) {
          // The message stays unacknowledged and comes back after its visibility timeout.
          log.error({ err: error, worker: this.id, messageId: message.id }, 'job message handling failed');
        }
      }
    }
  }

  #track(run: Promise<void>): void {
    const tracked = run
      .catch((error) => this.#options.log.error({ err: error, worker: this.id }, 'job run failed'))
      .finally(() => this.#runs.delete(tracked));
    this.#runs.add(tracked);
  }

  async #ack(kind: JobKind, message: ReceivedMessage): Promise<void> {
    try {
      await this.#options.queue.delete(jobQueueName(kind), message.receiptHandle);
    } catch (error) {
      // A stale receipt: the message was delivered again meanwhile; that copy is acknowledged when
      // its receiver finds the job ended.
      if (!TrainyardError.is(error, 'FAILED_PRECONDITION')) throw error;
    }
  }

  /**
   * Decides about a received message: acknowledged when there is nothing to run, handed back at
   * once ('full') when the job's instance type does not fit now, else admitted with its allocation.
   */
  async #admit(kind: JobKind, message: ReceivedMessage): Promise<Admitted | 'full' | undefined> {
    const { jobs, log, queue } = this.#options;
    const dispatch = parseJobDispatchMessage(message.body);
    if (!dispatch) {
      log.warn({ messageId: message.id }, 'dropping a job message that is not a job dispatch');
      await this.#ack(kind, message);
      return undefined;
    }
    let job: JobRecord;
    try {
      job = await jobs.getById(dispatch.jobId);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      await this.#ack(kind, message);
      return undefined;
    }
    if (JobLifecycle.isTerminal(job.status)) {
      await this.#ack(kind, message);
      return undefined;
    }
    const runner = this.#runners.get(job.kind);
    if (!runner || job.kind !== kind) {
      // Never drop a job: a message on the wrong queue goes to its kind's queue.
      log.warn(
        { job: job.name, kind: job.kind, queue: jobQueueName(kind) },
        'moving a job message to its kind queue',
      );
      await queue.send(jobQueueName(job.kind), message.body);
      await this.#ack(kind, message);
      return undefined;
    }
    // An unknown instance type or unreadable spec fails the job once it is claimed, not here.
    let count = 1;
    const instanceType = await Promise.resolve()
      .then(() => {
        const spec = specOf(runner.definition, job);
        count = Math.max(1, runner.definition.instanceCountOf?.(spec) ?? 1);
        return this.#options.instanceTypes.get(runner.definition.instanceTypeOf(spec));
      })
      .catch((error: Error) => error);
    // Every instance of a multi-instance job runs on this host at once: all are admitted together.
    const need =
      instanceType instanceof Error
        ? { vcpus: 0, memoryMiB: 0 }
        : { vcpus: instanceType.vcpus * count, memoryMiB: instanceType.memoryMiB * count };
    const allocation = this.ledger.tryAllocate(need);
    if (!allocation) {
      await queue.changeVisibility(jobQueueName(kind), message.receiptHandle, 0).catch(() => {});
      return 'full';
    }
    return { message, job, runner, instanceType, allocation };
  }

  async #claimAndRun(admitted: Admitted): Promise<void> {
    const { jobs, log } = this.#options;
    const { job, allocation } = admitted;
    const holder = `${this.id}/${job.id}`;
    try {
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
        await this.#runClaimed({ ...admitted, job: claimed }, holder);
      } finally {
        await jobs.releaseClaim(job.id, holder).catch(() => {});
      }
    } finally {
      allocation.release();
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

  async #runClaimed(admitted: Admitted, holder: string): Promise<void> {
    const { jobs, log } = this.#options;
    const claimed = admitted.job;
    const workdir = join(this.#options.workRoot, claimed.kind, claimed.name);
    const writer = new JobLogWriter({
      store: jobs,
      jobId: claimed.id,
      startAfterSeq: await jobs.lastLogSeq(claimed.id),
      onError: (error) => log.warn({ err: error, job: claimed.name }, 'could not write job log'),
    });
    const attempt: Attempt = {
      ...admitted,
      holder,
      workdir,
      pgidFile: `${workdir}.pgid`,
      writer,
      controller: new AbortController(),
      system: (text) => writer.write('system', `[trainyard] ${text}`),
    };
    if (await this.#endWithoutRunning(attempt)) return;

    this.#running.set(claimed.id, attempt.controller);
    const timers: NodeJS.Timeout[] = [];
    let outcome: JobRunOutcome | undefined;
    try {
      const first = await this.#markStarting(attempt);
      if (!first) {
        await writer.close();
        return;
      }
      timers.push(...this.#watch(attempt));
      outcome = await this.#attempt(attempt, first);
    } finally {
      for (const timer of timers) clearInterval(timer);
      this.#running.delete(claimed.id);
    }
    await this.#finish(attempt, outcome);
  }

  /** A job stopped while queued, or given up after too many lost workers: ended without running. */
  async #endWithoutRunning(attempt: Attempt): Promise<boolean> {
    const { maxAttempts } = this.#options;
    const { job: claimed, holder, writer, system } = attempt;
    let patch: ((job: JobRecord) => JobPatch) | undefined;
    if (claimed.status === 'Stopping') {
      system('stop requested while no worker ran the job');
      patch = (job) => JobLifecycle.advance(job, 'Stopped', new Date(), 'Stopped by request');
    } else if (claimed.attempts > maxAttempts) {
      system(`giving up: a worker was lost ${claimed.attempts - 1} times`);
      patch = (job) =>
        JobLifecycle.fail(
          job,
          {
            code: 'UNAVAILABLE',
            message: `InternalServerError: the worker running the job was lost ${claimed.attempts - 1} times (limit ${maxAttempts} attempts)`,
            retryable: true,
          },
          new Date(),
        );
    }
    if (!patch) return false;
    await writer.close();
    await this.#write(claimed.id, holder, patch);
    await this.#ack(claimed.kind, attempt.message);
    return true;
  }

  /** Records Restarting (on a later attempt) and Starting; undefined when the claim was lost. */
  async #markStarting(attempt: Attempt): Promise<JobRecord | undefined> {
    const { holder } = attempt;
    const first = await this.#write(attempt.job.id, holder, (job) => {
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
    if (first) attempt.system(`attempt ${first.attempts} on worker ${holder}`);
    return first;
  }

  #abort(attempt: Attempt, reason: JobAbortReason): void {
    if (!attempt.controller.signal.aborted) attempt.controller.abort(reason);
  }

  /** Heartbeat (claim + message visibility), stop-request poll and max runtime timers. */
  #watch(attempt: Attempt): NodeJS.Timeout[] {
    const { jobs, queue, log, visibilityTimeoutMs } = this.#options;
    const { job: claimed, holder, message, runner } = attempt;
    const timers = [
      setInterval(
        () => {
          void (async () => {
            try {
              if (!(await jobs.renewClaim(claimed.id, holder, visibilityTimeoutMs))) {
                log.warn({ job: claimed.name }, 'lost the job claim; ending the local process');
                this.#abort(attempt, 'lostClaim');
                return;
              }
              await queue.changeVisibility(
                jobQueueName(claimed.kind),
                message.receiptHandle,
                visibilityTimeoutMs,
              );
            } catch (error) {
              log.warn({ err: error, job: claimed.name }, 'job heartbeat failed');
            }
          })();
        },
        Math.max(50, Math.floor(visibilityTimeoutMs / 3)),
      ),
      setInterval(() => {
        void jobs
          .getById(claimed.id)
          .then((job) => {
            if (job.status === 'Stopping') this.#abort(attempt, 'stop');
          })
          .catch(() => {});
      }, this.#options.stopPollMs),
    ];
    const maxRuntime = this.#maxRuntimeSeconds(runner, claimed);
    if (maxRuntime !== undefined)
      timers.push(setTimeout(() => this.#abort(attempt, 'maxRuntime'), maxRuntime * 1000));
    return timers;
  }

  #maxRuntimeSeconds(runner: JobKindRunner, job: JobRecord): number | undefined {
    try {
      return runner.definition.maxRuntimeSeconds(specOf(runner.definition, job));
    } catch {
      return undefined;
    }
  }

  /** Prepares the working folder and lets the kind's runner run the attempt; errors become failures. */
  async #attempt(attempt: Attempt, first: JobRecord): Promise<JobRunOutcome> {
    const { job: claimed, workdir, runner } = attempt;
    try {
      await this.#killLeftovers(attempt.pgidFile);
      await rm(workdir, { recursive: true, force: true });
      await mkdir(join(workdir, 'tmp'), { recursive: true });
      if (attempt.instanceType instanceof Error) throw attempt.instanceType;
      return await runner.run(this.#context(attempt, first, attempt.instanceType));
    } catch (error) {
      this.#options.log.error({ err: error, job: claimed.name }, 'job runner failed');
      const failure = TrainyardError.is(error)
        ? { code: error.code, message: error.message, retryable: error.retryable }
        : {
            code: 'INTERNAL' as const,
            message: `InternalServerError: ${(error as Error).message}`,
            retryable: true,
          };
      return { status: 'Failed', failure };
    }
  }

  #context(attempt: Attempt, first: JobRecord, instanceType: InstanceTypeRecord): JobRunContext {
    const { job: claimed, holder, workdir, writer, controller, system, runner } = attempt;
    return {
      job: first,
      spec: specOf(runner.definition, first),
      workdir,
      instanceType,
      signal: controller.signal,
      advance: async (status: SecondaryStatus, text?: string) => {
        if (controller.signal.aborted) return;
        system(text ? `${status}: ${text}` : status);
        await this.#write(claimed.id, holder, (job) => {
          if (job.status === 'Stopping') {
            this.#abort(attempt, 'stop');
            return undefined;
          }
          return JobLifecycle.advance(job, status, new Date(), text);
        });
      },
      log: (text: string, stream: JobLogStream = 'system') =>
        writer.write(stream, stream === 'system' ? `[trainyard] ${text}` : text),
      runProcess: async (command) => {
        const instance = this.#options.executor.spawn({
          command: command.command,
          args: command.args,
          env: { ...baseEnv(workdir), ...command.env },
          cwd: command.cwd,
          workdir,
          limits: { vcpus: instanceType.vcpus, memoryMiB: instanceType.memoryMiB },
          cpus: attempt.allocation.cpus,
          stopGraceMs: this.#options.stopGraceMs,
          onLine: (line) => {
            writer.write(line.stream, line.text);
            command.onLine?.(line);
          },
        });
        await instance.ready;
        if (instance.pid !== undefined)
          await writeFile(attempt.pgidFile, String(instance.pid)).catch(() => {});
        // On shutdown the job starts again from the beginning on another worker: a long grace would
        // only hold it back, so the process gets a short one.
        const stop = () =>
          void instance.stop(controller.signal.reason === 'shutdown' ? shutdownStopGraceMs : undefined);
        if (controller.signal.aborted) stop();
        else controller.signal.addEventListener('abort', stop, { once: true });
        const result = await instance.exited;
        controller.signal.removeEventListener('abort', stop);
        await rm(attempt.pgidFile, { force: true });
        system(
          `process ended: ${result.exitSignal ? `signal ${result.exitSignal}` : `exit code ${result.exitCode}`}; peak memory ${(result.peakRssBytes / 1048576).toFixed(1)} MiB; limits: ${result.enforcement}`,
        );
        return result;
      },
    };
  }

  /** Ends the job as the attempt went, or hands it back on shutdown; acknowledges the message. */
  async #finish(attempt: Attempt, outcome: JobRunOutcome | undefined): Promise<void> {
    const { jobs, queue } = this.#options;
    const { job: claimed, holder, writer, workdir, controller, system, message, runner } = attempt;
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
        await queue.changeVisibility(jobQueueName(claimed.kind), message.receiptHandle, 0).catch(() => {});
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
          `Stopped after MaxRuntimeInSeconds (${this.#maxRuntimeSeconds(runner, job)} s)`,
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
      if (outcome.status === 'Stopped')
        return { ...JobLifecycle.advance(job, 'Stopped', end, outcome.message), result: outcome.result };
      return {
        ...JobLifecycle.advance(job, 'Completed', end),
        result: outcome.result,
        ...(outcome.exitMessage ? { exitMessage: outcome.exitMessage } : {}),
      };
    });
    await this.#ack(claimed.kind, message);
    await rm(workdir, { recursive: true, force: true });
  }
}
