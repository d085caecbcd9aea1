import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireDependency } from '@trainyard/testing/require-dependency';

/** The built CLI entry; `npm test` builds it before vitest runs (`tsc -b`). */
export const builtMain = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** For `skipIf(!requireBuild())`: tests of the real CLI process need the build; under CI its absence fails. */
export function requireBuild(): boolean {
  return requireDependency(
    `the build output (${builtMain})`,
    () => existsSync(builtMain),
    'run "npx tsc -b" first (npm test builds before it tests)',
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `trainyard` CLI against a server with a key, as a user would from a shell. */
export function runCli(args: string[], server: { baseUrl: string; key: string }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [builtMain, ...args, '--endpoint', server.baseUrl, '--key', server.key],
      {
        env: { PATH: process.env.PATH ?? '' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/**
 * Starts `trainyard server` as a real child process on a free port and waits until it listens.
 * @param env TRAINYARD_* settings for the child
 */
export async function startServerProcess(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<ServerProcess> {
  if (!existsSync(builtMain)) throw new Error(`${builtMain} is missing: run "npx tsc -b" first`);
  const child = spawn(process.execPath, [builtMain, 'server', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not listen within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = () => {
      const match = /Trainyard listening on (http:\/\/[\d.:[\]]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${output}`));
    });
  });
  return { child, baseUrl, output: () => output, exited };
}
