import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { processTreeRssBytes } from './process-tree-memory.js';

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
  /** Receives each output line (without the newline); long lines arrive in 16 KiB pieces. */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Aborting ends the process: SIGTERM to its process group, SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** ms between SIGTERM and SIGKILL. */
  graceMs: number;
  /** ms between memory samples of the process tree. Default 200. */
  memorySampleMs?: number;
  /** Called with the process id (= its process group id) once it started. */
  onSpawn?: (pid: number) => void;
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
let nextCpu = 0;

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

/** Picks `count` CPUs round-robin, so concurrent jobs do not all share the first cores. */
function cpuSet(vcpus: number): string | undefined {
  const total = availableParallelism();
  const count = Math.max(1, Math.ceil(vcpus));
  if (count >= total || !existsSync('/usr/bin/taskset')) return undefined;
  const cpus: number[] = [];
  for (let i = 0; i < count; i++) cpus.push((nextCpu + i) % total);
  nextCpu = (nextCpu + count) % total;
  return cpus.join(',');
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
 * with taskset to `ceil(vcpus)` cores (when fewer than the machine has), memory watched by sampling
 * the tree's RSS from /proc and killed past the limit (plus V8's heap cap for node). Never throws
 * for the command's own failures: they come back in the result.
 */
export function runJobProcess(options: RunJobProcessOptions): Promise<JobProcessResult> {
  const { file, prefixArgs } = resolveCommand(options.command, options.limits.memoryMiB);
  const cpus = cpuSet(options.limits.vcpus);
  const limitBytes = options.limits.memoryMiB * 1024 * 1024;
  const [spawnFile, spawnArgs] = cpus
    ? ['/usr/bin/taskset', ['-c', cpus, file, ...prefixArgs, ...options.args]]
    : [file, [...prefixArgs, ...options.args]];
  const enforcement = [
    `memory ${options.limits.memoryMiB} MiB (process-tree RSS watchdog${prefixArgs.length ? `, ${prefixArgs[0]}` : ''})`,
    cpus
      ? `CPUs ${cpus} (taskset)`
      : `CPUs not pinned (${Math.ceil(options.limits.vcpus)} vCPUs >= machine's ${availableParallelism()} or no taskset)`,
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
    const stdout = lineSplitter((line) => options.onLine('stdout', line));
    const stderr = lineSplitter((line) => {
      if (line.includes('JavaScript heap out of memory')) result.heapExhausted = true;
      options.onLine('stderr', line);
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));

    let graceTimer: NodeJS.Timeout | undefined;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling || pid === undefined) return;
      sampling = true;
      void processTreeRssBytes(pid)
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

    const onAbort = () => {
      if (result.endedBy !== undefined) return;
      result.endedBy = 'abort';
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => {
        result.killedAfterGrace = true;
        killGroup('SIGKILL');
      }, options.graceMs);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (error) => {
      result.spawnError = error.message;
    });
    child.once('exit', () => {
      // The leader is gone; like a container, nothing it left running in its group survives it.
      killGroup('SIGKILL');
    });
    child.once('close', (code, signal) => {
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
