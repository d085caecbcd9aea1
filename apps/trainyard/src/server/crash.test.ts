import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../testing/server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-crash-'));
const adminKey = 'crash-test-admin-key-0123456789';
const env = { TRAINYARD_DATA_DIR: dataDir, TRAINYARD_ADMIN_KEY: adminKey, TRAINYARD_LOG_LEVEL: 'warn' };
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('server crash safety', () => {
  it('keeps every acknowledged write after a SIGKILL during a burst, and carries on after restart', async () => {
    const first = await startServerProcess([], env);
    const client = new TrainyardClient({ endpoint: first.baseUrl, key: adminKey });
    const acknowledged: string[] = [];
    let stop = false;
    let n = 0;
    const writer = async () => {
      while (!stop) {
        const name = `ml.crash${n++}.large`;
        try {
          await client.call('createInstanceType', {
            body: { name, vcpus: 1, memoryMiB: 512, pricePerHour: 0.01 },
          });
          acknowledged.push(name);
        } catch (error) {
          if (!(error instanceof TrainyardError && error.code === 'UNAVAILABLE')) throw error;
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 6 }, writer);
    // Kill in the middle of the burst, once plenty of writes have been acknowledged.
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    stop = true;
    await Promise.all(writers);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'trainyard.db'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const second = await startServerProcess([], env);
    try {
      const after = new TrainyardClient({ endpoint: second.baseUrl, key: adminKey });
      const present = new Set<string>();
      for await (const type of after.listAll('listInstanceTypes', { query: { limit: 1000 } }))
        present.add(type.name);
      const lost = acknowledged.filter((name) => !present.has(name));
      expect(lost).toEqual([]);
      // It carries on: new writes work and the admin key from before still authenticates.
      await after.call('createInstanceType', {
        body: { name: 'ml.after.large', vcpus: 1, memoryMiB: 512, pricePerHour: 0.01 },
      });
      expect((await after.call('whoami')).role).toBe('admin');
      expect(second.output()).not.toContain('applied metadata migrations');
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const server = await startServerProcess([], { ...env, TRAINYARD_LOG_LEVEL: 'info' });
    const client = new TrainyardClient({ endpoint: server.baseUrl, key: adminKey });
    let completed = 0;
    const failures: unknown[] = [];
    const loop = async () => {
      for (let i = 0; i < 100; i++) {
        try {
          const page = await client.call('listInstanceTypes');
          expect(page.items.length).toBeGreaterThan(0);
          completed++;
        } catch (error) {
          failures.push(error);
          return;
        }
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    while (completed < 40) await new Promise((r) => setTimeout(r, 2));
    server.child.kill('SIGTERM');
    await Promise.all(loops);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
    // Every reply is whole; calls after the stop fail as "unavailable", never with a broken reply.
    for (const failure of failures) expect((failure as TrainyardError).code).toBe('UNAVAILABLE');
  });
});
