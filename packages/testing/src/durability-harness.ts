import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireDependency } from './require-dependency.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const childScript = join(here, '../durability/burst-child.mjs');

/** What the burst child loads from dist: the adapters and the packages under them. */
const builtPackages = ['contracts', 'core', 'adapters'];

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesOf(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Sources whose built JS is missing. Not compared by mtime: `tsc -b` leaves unchanged outputs
 * alone, so an up-to-date build can be older than a freshly checked-out source.
 */
function unbuiltSources(): string[] {
  const stale: string[] = [];
  for (const pkg of builtPackages) {
    const src = join(repo, 'packages', pkg, 'src');
    for (const source of sourcesOf(src)) {
      const built = join(repo, 'packages', pkg, 'dist', relative(src, source).replace(/\.ts$/, '.js'));
      if (!existsSync(built)) stale.push(relative(repo, source));
    }
  }
  return stale;
}

/**
 * The child runs on the built adapters (node cannot load .ts by itself) that `npm test` builds
 * (`tsc -b`) before vitest starts; no test hook builds. For `describe.skipIf(!requireBuiltAdapters())`:
 * a missing build fails under CI and skips elsewhere, naming the command.
 */
export function requireBuiltAdapters(): boolean {
  const stale = unbuiltSources();
  const named = `${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}`;
  return requireDependency(
    'the build of packages/contracts, core and adapters',
    () => stale.length === 0,
    `run "npx tsc -b" (not built: ${named})`,
  );
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
