import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runJobProcess } from './job-process.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-job-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Alive and not a zombie: a killed orphan stays in the table until whoever adopted it reaps it. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function script(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

function run(path: string, options: { memoryMiB?: number; signal?: AbortSignal; graceMs?: number } = {}) {
  const lines: string[] = [];
  const done = runJobProcess({
    command: 'node',
    args: [path],
    env: { PATH: '/usr/bin:/bin' },
    cwd: dir,
    limits: { vcpus: 1, memoryMiB: options.memoryMiB ?? 1024 },
    onLine: (stream, line) => lines.push(`${stream}:${line}`),
    graceMs: options.graceMs ?? 500,
    memorySampleMs: 50,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { lines, done };
}

describe('runJobProcess', () => {
  it('streams stdout and stderr line by line and reports the exit code', async () => {
    const path = script(
      'hello.mjs',
      `console.log('a\\nb'); console.error('oops'); process.stdout.write('tail'); process.exitCode = 3;`,
    );
    const { lines, done } = run(path);
    const result = await done;
    expect(result.exitCode).toBe(3);
    expect(result.endedBy).toBeUndefined();
    expect(lines).toEqual(expect.arrayContaining(['stdout:a', 'stdout:b', 'stderr:oops', 'stdout:tail']));
    expect(lines.filter((l) => l.startsWith('stdout:'))).toEqual(['stdout:a', 'stdout:b', 'stdout:tail']);
  });

  it('sends SIGTERM on abort and lets a process that handles it exit cleanly within the grace period', async () => {
    const path = script(
      'graceful.mjs',
      `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);`,
    );
    const controller = new AbortController();
    const { lines, done } = run(path, { signal: controller.signal, graceMs: 5000 });
    while (!lines.includes('stdout:ready')) await new Promise((r) => setTimeout(r, 20));
    controller.abort('stop');
    const result = await done;
    expect(result.endedBy).toBe('abort');
    expect(result.killedAfterGrace).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(lines).toContain('stdout:got SIGTERM');
  });

  it('kills a process that ignores SIGTERM once the grace period is over, children included', async () => {
    const path = script(
      'stubborn.mjs',
      `import { spawn } from 'node:child_process';
       process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
       const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
       console.log('child ' + child.pid);
       setInterval(() => {}, 1000);`,
    );
    const controller = new AbortController();
    const { lines, done } = run(path, { signal: controller.signal, graceMs: 400 });
    while (!lines.some((l) => l.startsWith('stdout:child '))) await new Promise((r) => setTimeout(r, 20));
    const childPid = Number(lines.find((l) => l.startsWith('stdout:child '))!.split(' ')[1]);
    const started = Date.now();
    controller.abort('stop');
    const result = await done;
    const elapsed = Date.now() - started;
    expect(result.endedBy).toBe('abort');
    expect(result.killedAfterGrace).toBe(true);
    expect(result.exitSignal).toBe('SIGKILL');
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(lines).toContain('stdout:ignoring SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    expect(isRunning(childPid)).toBe(false);
  });

  it('kills a process tree whose resident memory passes the limit', async () => {
    // Buffers live outside the V8 heap, so only the RSS watchdog can catch this one.
    const path = script(
      'hog.mjs',
      `const keep = []; setInterval(() => { const b = Buffer.alloc(32 * 1024 * 1024, 1); keep.push(b); console.log('held ' + keep.length * 32 + ' MiB'); }, 20);`,
    );
    const { done } = run(path, { memoryMiB: 160 });
    const result = await done;
    expect(result.endedBy).toBe('memory');
    expect(result.exitSignal).toBe('SIGKILL');
    expect(result.peakRssBytes).toBeGreaterThan(160 * 1024 * 1024);
  });

  it('ends when its process exits even if a process that left the group still holds its output open', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const path = script(
      'escape.mjs',
      `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
// A new session (setsid) with our stdout: the group kill at exit does not reach it.
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
child.unref();
console.log('leaving');
`,
    );
    const started = Date.now();
    const { lines, done } = run(path);
    const result = await done;
    const escaped = Number(readFileSync(pidFile, 'utf8'));
    try {
      expect(result.exitCode).toBe(0);
      expect(lines).toContain('stdout:leaving');
      // Without the drain limit this waits as long as the escaped process lives (here: forever).
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      if (isRunning(escaped)) process.kill(escaped, 'SIGKILL');
    }
  });

  it('reports a command that cannot start', async () => {
    const result = await runJobProcess({
      command: join(dir, 'no-such-binary'),
      args: [],
      env: {},
      cwd: dir,
      limits: { vcpus: 64, memoryMiB: 256 },
      onLine: () => {},
      graceMs: 100,
    });
    expect(result.spawnError).toMatch(/ENOENT/);
  });
});
