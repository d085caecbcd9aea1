import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ProcessTreeWatch, processTreePids } from './process-tree-memory.js';

/** CPU and memory a job process may use, from its instance type. */
export interface JobProcessLimits {
  vcpus: number;
  memoryMiB: number;
}

export interface RunJobProcessOptions {
  /** `node` runs this Node; `python3`/`python` run Debian's /usr/bin/python3 (where its pandas is). */
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  limits: JobProcessLimits;
  /**
   * Receives each complete output line (without the newline) as it is written, with the time it
   * was read; long lines arrive in 16 KiB pieces. Metric regexes tap the log here.
   */
  onLine: (stream: 'stdout' | 'stderr', line: string, at: Date) => void;
  /** Cores to pin the process to with taskset (the host resource ledger's allocation); none = not pinned. */
  cpus?: readonly number[] | undefined;
  /** Aborting ends the process: SIGTERM to its process group, SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** ms between SIGTERM and SIGKILL; read when the abort comes, so a stop may shorten it. */
  graceMs: number | (() => number);
  /** ms between memory samples of the process tree. Default 200. */
  memorySampleMs?: number;
  /** Called with the process id (= its process group id) once it started. */
  onSpawn?: (pid: number) => void;
  /**
   * Wraps the resolved command in the job sandbox (bubblewrap) and/or names the user it runs as;
   * the memory watchdog and process-group signals apply to the wrapped process unchanged.
   */
  isolate?: ((file: string, args: string[]) => IsolatedCommand) | undefined;
  /** What `isolate` enforces, for the job log. */
  isolation?: string | undefined;
}

/** A command as the isolation runs it. */
export interface IsolatedCommand {
  file: string;
  args: string[];
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface JobProcessResult {
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  /** Why the runner ended the process, if it did. */
  endedBy: 'abort' | 'memory' | undefined;
  /** After an abort: true when the process ignored SIGTERM for the grace period and got SIGKILL. */
  killedAfterGrace: boolean;
  /** Highest resident memory of the process tree seen by the watchdog, bytes. */
  peakRssBytes: number;
  /** Node reported that its heap (capped by --max-old-space-size) ran out. */
  heapExhausted: boolean;
  /** Set when the command could not be started at all (e.g. not found). */
  spawnError: string | undefined;
  /** What was enforced, for the job log. */
  enforcement: string;
}

const maxLineChars = 16 * 1024;
/** How long output may still arrive after the job's process exited, ms. */
const pipeDrainMs = 2000;

function resolveCommand(command: string, memoryMiB: number): { file: string; prefixArgs: string[] } {
  const name = basename(command);
  if (command === 'python3' || command === 'python') {
    return { file: existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', prefixArgs: [] };
  }
  if (command === 'node' || name === 'node') {
    // V8's heap limit turns a runaway script into a clean "heap out of memory" before the watchdog.
    const heap = Math.max(16, Math.floor(memoryMiB * 0.75));
    return {
      file: command === 'node' ? process.execPath : command,
      prefixArgs: [`--max-old-space-size=${heap}`],
    };
  }
  return { file: command, prefixArgs: [] };
}

function lineSplitter(emit: (line: string) => void) {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return {
    write(chunk: Buffer) {
      pending += decoder.write(chunk);
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        emit(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
      while (pending.length > maxLineChars) {
        emit(pending.slice(0, maxLineChars));
        pending = pending.slice(maxLineChars);
      }
    },
    end() {
      pending += decoder.end();
      if (pending.length > 0) emit(pending);
      pending = '';
    },
  };
}

/**
 * Runs one job command as its own process group, the local stand-in for a container: CPU pinned
 * with taskset to the cores it was given (when taskset exists), memory watched by sampling
 * the tree's RSS from /proc and killed past the limit (plus V8's heap cap for node). Never throws
 * for the command's own failures: they come back in the result.
 */
export function runJobProcess(options: RunJobProcessOptions): Promise<JobProcessResult> {
  const { file, prefixArgs } = resolveCommand(options.command, options.limits.memoryMiB);
  const cpus =
    options.cpus && options.cpus.length > 0 && existsSync('/usr/bin/taskset')
      ? options.cpus.join(',')
      : undefined;
  const limitBytes = options.limits.memoryMiB * 1024 * 1024;
  const isolated: IsolatedCommand = options.isolate
    ? options.isolate(file, [...prefixArgs, ...options.args])
    : { file, args: [...prefixArgs, ...options.args] };
  // taskset outside the sandbox: the affinity it sets is inherited by everything inside.
  const [spawnFile, spawnArgs] = cpus
    ? ['/usr/bin/taskset', ['-c', cpus, isolated.file, ...isolated.args]]
    : [isolated.file, isolated.args];
  const enforcement = [
    `memory ${options.limits.memoryMiB} MiB (process-tree RSS watchdog${prefixArgs.length ? `, ${prefixArgs[0]}` : ''})`,
    cpus
      ? `CPUs ${cpus} (taskset)`
      : `CPUs not pinned (${Math.ceil(options.limits.vcpus)} vCPUs take the whole machine's ${availableParallelism()}, or no taskset)`,
    ...(options.isolation ? [options.isolation] : []),
  ].join('; ');

  return new Promise<JobProcessResult>((resolve) => {
    const result: JobProcessResult = {
      exitCode: null,
      exitSignal: null,
      endedBy: undefined,
      killedAfterGrace: false,
      peakRssBytes: 0,
      heapExhausted: false,
      spawnError: undefined,
      enforcement,
    };
    const child = spawn(spawnFile, spawnArgs, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(isolated.uid === undefined ? {} : { uid: isolated.uid }),
      ...(isolated.gid === undefined ? {} : { gid: isolated.gid }),
    });
    const pid = child.pid;
    if (pid !== undefined) options.onSpawn?.(pid);
    const killGroup = (signal: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const stdout = lineSplitter((line) => options.onLine('stdout', line, new Date()));
    const stderr = lineSplitter((line) => {
      if (line.includes('JavaScript heap out of memory')) result.heapExhausted = true;
      options.onLine('stderr', line, new Date());
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));

    let graceTimer: NodeJS.Timeout | undefined;
    let sampling = false;
    let watch: ProcessTreeWatch | undefined;
    const sampler = setInterval(() => {
      if (sampling || pid === undefined) return;
      sampling = true;
      watch ??= new ProcessTreeWatch(pid);
      void watch
        .rssBytes()
        .then((rss) => {
          result.peakRssBytes = Math.max(result.peakRssBytes, rss);
          if (rss > limitBytes && result.endedBy === undefined) {
            result.endedBy = 'memory';
            killGroup('SIGKILL');
          }
        })
        .finally(() => {
          sampling = false;
        });
    }, options.memorySampleMs ?? 200);

    const terminate = () => {
      // A sandbox's outer process (bubblewrap) would die of SIGTERM and take the job down at once,
      // before its grace: the job's own processes get SIGTERM, the wrapper waits for them.
      if (!options.isolate || pid === undefined) return killGroup('SIGTERM');
      void processTreePids(pid).then((pids) => {
        for (const member of pids) {
          if (member === pid) continue;
          try {
            process.kill(member, 'SIGTERM');
          } catch {
            // Ended meanwhile.
          }
        }
      });
    };
    const onAbort = () => {
      if (result.endedBy !== undefined) return;
      result.endedBy = 'abort';
      terminate();
      graceTimer = setTimeout(
        () => {
          result.killedAfterGrace = true;
          killGroup('SIGKILL');
        },
        typeof options.graceMs === 'function' ? options.graceMs() : options.graceMs,
      );
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (error) => {
      result.spawnError = error.message;
    });
    let pipesTimer: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      // The leader is gone; like a container, nothing it left running in its group survives it.
      killGroup('SIGKILL');
      // A process that left the group (setsid) may still hold stdout/stderr open, and 'close'
      // would wait for it forever, holding the worker's slot: stop listening after a moment.
      pipesTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, pipeDrainMs);
    });
    child.once('close', (code, signal) => {
      if (pipesTimer) clearTimeout(pipesTimer);
      clearInterval(sampler);
      if (graceTimer) clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
      stdout.end();
      stderr.end();
      result.exitCode = code;
      result.exitSignal = signal;
      resolve(result);
    });
  });
}
