import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const childScript = join(here, '../durability/burst-child.mjs');

/**
 * The child runs on the built adapters (node cannot load .ts by itself): bring dist up to date.
 * `tsc -b` is incremental, so this is a quick check when `npm test` has just built.
 */
export function buildAdapters(): void {
  execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'packages/adapters'], {
    cwd: repo,
    stdio: 'ignore',
  });
  if (!existsSync(join(repo, 'packages/adapters/dist/messaging/embedded-job-queue.js'))) {
    throw new Error('packages/adapters did not build; run npx tsc -b packages/adapters');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/**
 * Runs the burst child against `target` and SIGKILLs `victim()` (the child itself, or the server
 * holding the data) once `killAfter` writes were acknowledged. Returns every acknowledged id.
 */
export async function burstAndKill(options: {
  kind: string;
  target: string;
  name: string;
  killAfter: number;
  victim?: () => ChildProcess;
}): Promise<string[]> {
  const child = spawn(process.execPath, [childScript, options.kind, options.target, options.name], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  let stderr = '';
  let buffer = '';
  let killed = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(
        new Error(`burst child made too little progress (${acked.length} acks): ${stderr.slice(0, 2000)}`),
      );
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (!killed && acked.length >= options.killAfter) {
        killed = true;
        (options.victim?.() ?? child).kill('SIGKILL');
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      if (killed) done();
      else fail(new Error(`burst child exited before the kill: ${stderr.slice(0, 2000)}`));
    });
    if (options.victim) {
      // The child dies on its own once its server is gone; make sure it does.
      const reap = setInterval(() => {
        if (killed) {
          clearInterval(reap);
          setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
        }
      }, 20);
    }
  });
  return acked;
}
