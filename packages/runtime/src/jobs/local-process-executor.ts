import type { Executor, ExecutorExit, ExecutorInstance, ExecutorSpec } from '@trainyard/core/ports/executor';
import { runJobProcess } from './job-process.js';
import { handOverWorkdir, type JobIsolation, sandboxedCommand } from './job-sandbox.js';

export interface LocalProcessExecutorOptions {
  /** ms between memory samples of a process tree. Default 200. */
  memorySampleMs?: number;
  /**
   * How instances are kept from the server's files ({@link prepareJobIsolation}); absent, they run
   * as the server's user with the host's view (tests of the executor itself only).
   */
  isolation?: JobIsolation | undefined;
}

/**
 * Instances as local process groups (no container runtime): {@link runJobProcess} with taskset
 * pinning and the process-tree memory watchdog. Run-to-completion jobs use it now; endpoint
 * instances will, with their own readiness check on top of `ready`.
 */
export class LocalProcessExecutor implements Executor {
  constructor(private readonly options: LocalProcessExecutorOptions = {}) {}

  spawn(spec: ExecutorSpec): ExecutorInstance {
    const controller = new AbortController();
    let pid: number | undefined;
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    let grace = spec.stopGraceMs;
    const isolation = this.options.isolation;
    const workdir = spec.workdir ?? spec.cwd;
    if (isolation) handOverWorkdir(isolation, workdir);
    const exited: Promise<ExecutorExit> = runJobProcess({
      ...(isolation
        ? {
            isolate: (file: string, args: string[]) => sandboxedCommand(isolation, workdir, file, args),
            isolation: `isolation ${isolation.mode}${isolation.user ? ` as ${isolation.user.name}` : ''}`,
          }
        : {}),
      command: spec.command,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      limits: spec.limits,
      cpus: spec.cpus,
      onLine: (stream, text, at) => spec.onLine?.({ stream, text, at }),
      signal: controller.signal,
      graceMs: () => grace,
      ...(this.options.memorySampleMs ? { memorySampleMs: this.options.memorySampleMs } : {}),
      onSpawn: (id) => {
        pid = id;
        markReady();
      },
    }).then((result) => {
      // A command that never started is "ready" only in that waiting on it must not hang.
      markReady();
      return { ...result, endedBy: result.endedBy === 'abort' ? 'stop' : result.endedBy };
    });
    return {
      get pid() {
        return pid;
      },
      ready,
      exited,
      stop: (graceMs?: number) => {
        if (graceMs !== undefined) grace = Math.min(grace, graceMs);
        controller.abort();
        return exited;
      },
    };
  }
}
