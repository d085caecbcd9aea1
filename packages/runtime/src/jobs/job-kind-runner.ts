import type { InstanceTypeRecord } from '@trainyard/contracts/instance-types';
import type { JobFailure, JobLogStream, SecondaryStatus } from '@trainyard/contracts/jobs';
import type { JobKindDefinition } from '@trainyard/core/jobs/job-kinds';
import type { ExecutorExit, ExecutorLogLine } from '@trainyard/core/ports/executor';
import type { JobRecord } from '@trainyard/core/ports/job-store';

/**
 * Why a running job was interrupted: a stop request, MaxRuntimeInSeconds, the worker losing its
 * claim (another worker owns the job now) or the worker shutting down.
 */
export type JobAbortReason = 'stop' | 'maxRuntime' | 'lostClaim' | 'shutdown';

/** The job process to run, the local stand-in for the container's entrypoint. */
export interface JobCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** A tap on the process's output: each complete line, as written (e.g. metric regexes). */
  onLine?: (line: ExecutorLogLine) => void;
}

/** What a job-kind runner gets from the worker for one attempt. */
export interface JobRunContext<Spec = unknown> {
  job: JobRecord;
  /** The job's spec, read back through its kind's schema. */
  spec: Spec;
  /** The folder standing in for /opt/ml; empty at the start of each attempt. */
  workdir: string;
  instanceType: InstanceTypeRecord;
  /** Aborted with a JobAbortReason as `reason`; the worker then decides how the job ends. */
  signal: AbortSignal;
  /** Records a secondary status (e.g. Downloading); ignored once the job is stopping. */
  advance(status: SecondaryStatus, message?: string): Promise<void>;
  /** Writes a line to the job log. */
  log(message: string, stream?: JobLogStream): void;
  /**
   * Runs the job's command through the worker's executor with the instance type's limits and the
   * cores the host ledger gave it; its output goes to the job log (and `onLine`).
   */
  runProcess(command: JobCommand): Promise<ExecutorExit>;
}

export type JobRunOutcome =
  | { status: 'Completed'; result?: unknown; exitMessage?: string }
  /** The job's own process ended it early by a rule it was given (a tuner's trial): why, and its result. */
  | { status: 'Stopped'; result?: unknown; message: string }
  | { status: 'Failed'; failure: JobFailure; exitMessage?: string };

/** One job kind (processing now; training, transform, monitoring later) behind the shared worker. */
export interface JobKindRunner<Spec = unknown> {
  /** The kind this runs: its spec schema, instance type and max runtime. */
  // biome-ignore lint/suspicious/noExplicitAny: views do not matter to a runner
  readonly definition: JobKindDefinition<Spec, any, any>;
  run(context: JobRunContext<Spec>): Promise<JobRunOutcome>;
}
