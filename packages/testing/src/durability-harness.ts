import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const childScript = join(here, '../durability/burst-child.mjs');

const adapters = join(repo, 'packages/adapters');

/** Sources the burst child loads through dist whose JS file is missing. */
function missingOutputs(): string[] {
  const missing: string[] = [];
  for (const folder of ['messaging', 'sql', 'sql/migrations']) {
    for (const name of readdirSync(join(adapters, 'src', folder))) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
      if (!existsSync(join(adapters, 'dist', folder, name.replace(/\.ts$/, '.js'))))
        missing.push(`${folder}/${name}`);
    }
  }
  return missing;
}

/**
 * The child runs on the built adapters (node cannot load .ts by itself): bring dist up to date
 * with `tsc -b`, which is incremental (a quick check when `npm test` has just built). Test files
 * run in parallel, so one build at a time (a lock file); type errors elsewhere in the package do
 * not stop tsc from emitting the files the child needs.
 */
export function buildAdapters(): void {
  const lock = join(adapters, 'dist', '.durability-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const until = Date.now() + 110_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      // A test killed while building leaves its lock behind; no build takes two minutes.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > until) throw new Error(`another test holds ${lock}; remove it if stale`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'packages/adapters'], {
      cwd: repo,
      stdio: 'ignore',
    });
  } finally {
    rmSync(lock, { force: true });
  }
  const missing = missingOutputs();
  if (missing.length > 0) {
    throw new Error(`packages/adapters did not emit ${missing.join(', ')}; run npx tsc -b packages/adapters`);
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
