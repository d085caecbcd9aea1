import type { InstanceTypeRecord } from '@trainyard/contracts/instance-types';
import type { JobFailure, JobLogStream, SecondaryStatus } from '@trainyard/contracts/jobs';
import type { JobKind, JobRecord } from '@trainyard/core/ports/job-store';
import type { JobProcessResult } from './job-process.js';

/**
 * Why a running job was interrupted: a stop request, MaxRuntimeInSeconds, the worker losing its
 * claim (another worker owns the job now) or the worker shutting down.
 */
export type JobAbortReason = 'stop' | 'maxRuntime' | 'lostClaim' | 'shutdown';

/** What a job-kind runner gets from the worker for one attempt. */
export interface JobRunContext {
  job: JobRecord;
  /** The folder standing in for /opt/ml; empty at the start of each attempt. */
  workdir: string;
  instanceType: InstanceTypeRecord;
  /** Aborted with a JobAbortReason as `reason`; the worker then decides how the job ends. */
  signal: AbortSignal;
  /** Records a secondary status (e.g. Downloading); ignored once the job is stopping. */
  advance(status: SecondaryStatus, message?: string): Promise<void>;
  /** Writes a line to the job log. */
  log(message: string, stream?: JobLogStream): void;
  /** Runs the job's command with the instance type's limits, its output going to the job log. */
  runProcess(command: {
    command: string;
    args: string[];
    env: Record<string, string>;
    cwd: string;
    /** Sees each output line after it went to the job log (e.g. to extract metrics). */
    onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  }): Promise<JobProcessResult>;
}

export type JobRunOutcome =
  | { status: 'Completed'; result?: unknown; exitMessage?: string }
  | { status: 'Failed'; failure: JobFailure; exitMessage?: string };

/** One job kind (processing now; training, transform, monitoring later) behind the shared worker. */
export interface JobKindRunner {
  readonly kind: JobKind;
  /** MaxRuntimeInSeconds of the job, if it has one. */
  maxRuntimeSeconds(job: JobRecord): number | undefined;
  /** The instance type name the job runs on. */
  instanceTypeOf(job: JobRecord): string;
  run(context: JobRunContext): Promise<JobRunOutcome>;
}
