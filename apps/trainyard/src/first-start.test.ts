import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtMain, requireBuild, startServerProcess } from './testing/server-process.js';

/** Runs `trainyard server` until it exits; resolves with its exit code and everything it printed. */
function runServer(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtMain, 'server', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!requireBuild())('first start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-first-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the first admin key even when the start then fails, and that key works on the next start', async () => {
    // Another program holds the port: the server opens its stores, creates the key, then cannot listen.
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const failed = await runServer(['--port', String(port), '--data-dir', dataDir], {
      TRAINYARD_LOG_LEVEL: 'silent',
      TRAINYARD_WORKER_CONCURRENCY: '0',
    });
    await new Promise((r) => blocker.close(r));
    expect(failed.code).not.toBe(0);
    const secret = /secret\s+: (\S+)/.exec(failed.output)?.[1];
    expect(secret, failed.output).toBeDefined();

    const server = await startServerProcess(['--data-dir', dataDir], {
      TRAINYARD_LOG_LEVEL: 'silent',
      TRAINYARD_WORKER_CONCURRENCY: '0',
    });
    try {
      // No second key is made (keys exist), and the one printed before the failure is valid.
      expect(server.output()).not.toMatch(/created the first admin access key/);
      const whoami = await fetch(`${server.baseUrl}/api/v1/whoami`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(whoami.status).toBe(200);
      expect(await whoami.json()).toMatchObject({ role: 'admin' });
      // The start says which job isolation is in force (here: no worker in this process).
      expect(server.output()).toMatch(/job isolation: /);
      const ready = await (await fetch(`${server.baseUrl}/readyz`)).json();
      expect(ready.jobIsolation.mode).toBe('no worker in this process');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
