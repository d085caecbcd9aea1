import type { JobLogStream } from '@trainyard/contracts/jobs';

/** One complete output line of an executed process, as soon as it is written. */
export interface ExecutorLogLine {
  stream: Extract<JobLogStream, 'stdout' | 'stderr'>;
  text: string;
  at: Date;
}

/** What to run and with which limits: the local stand-in for a container spec. */
export interface ExecutorSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * The instance's own folder (default `cwd`): a sandboxing executor makes it the only writable
   * place and hands it to the unprivileged user the instance runs as.
   */
  workdir?: string | undefined;
  /** From the instance type. */
  limits: { vcpus: number; memoryMiB: number };
  /** Cores this instance may run on (from the host resource ledger); undefined = not pinned. */
  cpus?: readonly number[] | undefined;
  /** Called with each complete output line (long lines in pieces), in order, as it is written. */
  onLine?: (line: ExecutorLogLine) => void;
  /** SIGTERM-to-SIGKILL grace of stop(), ms. */
  stopGraceMs: number;
}

/** How an executed instance ended. */
export interface ExecutorExit {
  exitCode: number | null;
  exitSignal: string | null;
  /** Why the executor ended it, if it did: a stop() or the memory limit. */
  endedBy: 'stop' | 'memory' | undefined;
  /** After a stop: it ignored SIGTERM for the grace period and was killed. */
  killedAfterGrace: boolean;
  peakRssBytes: number;
  /** A Node process reported that its (capped) heap ran out. */
  heapExhausted: boolean;
  /** Set when the command could not be started at all. */
  spawnError: string | undefined;
  /** What was enforced, for the job log. */
  enforcement: string;
}

/** One running instance: a run-to-completion job's process, later an endpoint's model server. */
export interface ExecutorInstance {
  /** The OS process (group) id, once known; lets a later worker kill what a lost one left. */
  readonly pid: number | undefined;
  /** Resolves once the instance runs (for a plain process: once spawned). */
  readonly ready: Promise<void>;
  /** Resolves when it ended, whatever the reason; never rejects. */
  readonly exited: Promise<ExecutorExit>;
  /** SIGTERM, then SIGKILL after the spec's grace; resolves once it exited. */
  /**
   * SIGTERM, then SIGKILL after the spec's grace (or `graceMs`, e.g. a short one when the worker
   * shuts down and the job restarts elsewhere anyway); resolves once it exited.
   */
  stop(graceMs?: number): Promise<ExecutorExit>;
}

/** Starts instances: local processes now, containers or remote hosts later. */
export interface Executor {
  spawn(spec: ExecutorSpec): ExecutorInstance;
}
