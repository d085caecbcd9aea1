import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { EmbeddedStream } from '@trainyard/adapters/messaging/embedded-stream';
import { openNatsStream } from '@trainyard/adapters/messaging/nats-stream';
import { openRedisJobQueue } from '@trainyard/adapters/messaging/redis-job-queue';
import { openRedisStream } from '@trainyard/adapters/messaging/redis-stream';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { afterEach, describe, expect, it } from 'vitest';
import { storedMessageIds, storedRecordIds } from './durability-checks.js';
import { burstAndKill, exited, freePort, requireBuiltAdapters } from './durability-harness.js';
import { freshPostgresSchema } from './postgres-fixture.js';

/** Starts a private server (redis-server, nats-server) and resolves once it prints `ready`. */
async function startServer(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const server = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${command} did not start: ${output.slice(0, 2000)}`)),
      15_000,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        done();
      }
    };
    server.stdout?.on('data', onData);
    server.stderr?.on('data', onData);
    server.once('exit', () => fail(new Error(`${command} exited: ${output.slice(0, 2000)}`)));
  });
  return server;
}

describe.skipIf(!requireBuiltAdapters())(
  'durability: acknowledged writes survive SIGKILL during a burst',
  () => {
    let dir: string | undefined;
    let server: ChildProcess | undefined;
    afterEach(async () => {
      if (server) {
        server.kill('SIGKILL');
        await exited(server);
        server = undefined;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('embedded on PostgreSQL: queue sends and stream puts of a killed client are all stored', async () => {
      const { url, drop } = await freshPostgresSchema();
      try {
        const sent = await burstAndKill({
          kind: 'postgres-queue',
          target: url,
          name: 'burst',
          killAfter: 200,
        });
        const put = await burstAndKill({
          kind: 'postgres-stream',
          target: url,
          name: 'burst',
          killAfter: 200,
        });
        const store = await openPostgresMetadataStore(url);
        try {
          const messages = await storedMessageIds(new EmbeddedJobQueue(store.db, 'postgres'), 'burst');
          const records = await storedRecordIds(new EmbeddedStream(store.db, 'postgres'), 'burst');
          expect(sent.filter((id) => !messages.has(id))).toEqual([]);
          expect(put.filter((id) => !records.has(id))).toEqual([]);
        } finally {
          await store.close();
        }
      } finally {
        await drop();
      }
    });

    // The process holding a Redis queue is redis-server: a private one with appendfsync always is
    // SIGKILLed mid-burst and restarted on the same append-only file.
    it('Redis (appendonly, appendfsync always): queue sends and stream puts survive killing redis-server', async () => {
      dir = mkdtempSync(join(tmpdir(), 'trainyard-redis-'));
      const port = await freePort();
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ];
      const url = `redis://127.0.0.1:${port}`;
      const ready = /Ready to accept connections/;
      server = await startServer('redis-server', args, ready);
      const sent = await burstAndKill({
        kind: 'redis-queue',
        target: url,
        name: 'burst',
        killAfter: 200,
        victim: () => server!,
      });
      await exited(server);
      server = await startServer('redis-server', args, ready);
      const put = await burstAndKill({
        kind: 'redis-stream',
        target: url,
        name: 'burst',
        killAfter: 200,
        victim: () => server!,
      });
      await exited(server);
      server = await startServer('redis-server', args, ready);
      const queue = await openRedisJobQueue(url);
      const stream = await openRedisStream(url);
      try {
        const messages = await storedMessageIds(queue, 'burst');
        const records = await storedRecordIds(stream, 'burst');
        expect(sent.length).toBeGreaterThanOrEqual(200);
        expect(sent.filter((id) => !messages.has(id))).toEqual([]);
        expect(put.filter((id) => !records.has(id))).toEqual([]);
      } finally {
        await queue.close();
        await stream.close();
      }
    });

    it('NATS JetStream (file storage): stream puts survive killing nats-server', async () => {
      dir = mkdtempSync(join(tmpdir(), 'trainyard-nats-'));
      const port = await freePort();
      const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
      const url = `nats://127.0.0.1:${port}`;
      const ready = /Server is ready/;
      server = await startServer('nats-server', args, ready);
      const put = await burstAndKill({
        kind: 'nats-stream',
        target: url,
        name: 'burst',
        killAfter: 200,
        victim: () => server!,
      });
      await exited(server);
      server = await startServer('nats-server', args, ready);
      const stream = await openNatsStream(url);
      try {
        const records = await storedRecordIds(stream, 'burst');
        expect(put.length).toBeGreaterThanOrEqual(200);
        expect(put.filter((id) => !records.has(id))).toEqual([]);
      } finally {
        await stream.close();
      }
    });
  },
);
