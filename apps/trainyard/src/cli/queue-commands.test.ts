import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { builtMain, requireBuild } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [builtMain, ...args, '--endpoint', t.baseUrl, '--key', t.adminKey],
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

async function json<T>(args: string[]): Promise<T> {
  const run = await cli([...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface Received {
  id: string;
  body: string;
  receiveCount: number;
  receiptHandle: string;
}

describe.skipIf(!requireBuild())(
  'trainyard queues: send, receive, delete, dead letters and their replay',
  () => {
    beforeAll(async () => {
      t = await openTestServer({}, { listen: true });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('works a queue end to end through the CLI', async () => {
      const created = await json<{ deadLetterQueue: string }>([
        'queues',
        'create',
        'orders',
        '--max-receives',
        '1',
        '--visibility-timeout',
        '30',
      ]);
      expect(created.deadLetterQueue).toBe('orders-dlq');
      expect((await json<{ messageId: string }>(['queues', 'send', 'orders', 'first'])).messageId).toEqual(
        expect.any(String),
      );
      const batch = await cli(['queues', 'send', 'orders', 'second', 'third']);
      expect(batch.stdout).toMatch(/^ENTRY\s+MESSAGEID\s+ERROR\n1\s+\S+\s+-\n2\s+\S+\s+-\n$/);
      const shown = await json<{ visible: number; inFlight: number; oldestAgeMs: number }>([
        'queues',
        'show',
        'orders',
      ]);
      expect(shown).toMatchObject({ visible: 3, inFlight: 0 });
      expect(shown.oldestAgeMs).toBeGreaterThanOrEqual(0);

      const received = await json<Received[]>(['queues', 'receive', 'orders', '--max', '10', '--wait', '2']);
      expect(received.map((m) => m.body).sort()).toEqual(['first', 'second', 'third']);
      const byBody = (body: string) => received.find((m) => m.body === body) as Received;
      expect((await cli(['queues', 'delete', 'orders', byBody('first').receiptHandle])).stdout).toBe(
        'deleted\n',
      );
      expect(await json(['queues', 'show', 'orders'])).toMatchObject({ visible: 0, inFlight: 2 });

      // Received once already (maxReceiveCount 1): made visible again, the next receive dead-letters them.
      for (const body of ['second', 'third']) {
        const changed = await cli(['queues', 'change-visibility', 'orders', byBody(body).receiptHandle, '0']);
        expect(changed.stdout).toBe('changed\n');
      }
      expect(await json<Received[]>(['queues', 'receive', 'orders', '--max', '10', '--wait', '1'])).toEqual(
        [],
      );
      const dead = await json<{ body: string }[]>(['queues', 'peek', 'orders-dlq']);
      expect(dead.map((m) => m.body).sort()).toEqual(['second', 'third']);

      expect(await json(['queues', 'redrive', 'orders-dlq'])).toEqual({ moved: 2, toQueue: 'orders' });
      const replayed = await json<Received[]>(['queues', 'receive', 'orders', '--max', '10', '--wait', '2']);
      expect(replayed.map((m) => m.body).sort()).toEqual(['second', 'third']);

      // Both replayed messages are in flight; purge takes them with a fresh one.
      await cli(['queues', 'send', 'orders', 'fourth']);
      expect(await json(['queues', 'purge', 'orders'])).toEqual({ purged: 3 });
      expect(await json(['queues', 'show', 'orders'])).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
      const stale = await cli(['queues', 'delete', 'orders', byBody('second').receiptHandle]);
      expect(stale.code).toBe(0);
    }, 180_000);

    it("keeps the platform's trainyard-* queues off-limits", async () => {
      const send = await cli(['queues', 'send', 'trainyard-jobs-processing', 'forged']);
      expect(send.code).toBe(1);
      expect(send.stderr).toBe(
        'error: name: queue "trainyard-jobs-processing" belongs to the platform (names starting with "trainyard-"); it may be read, not written, moved into or out of, created or deleted (PERMISSION_DENIED)\n',
      );
      const receive = await cli(['queues', 'receive', 'trainyard-jobs-processing']);
      expect(receive.stderr).toMatch(/belongs to the platform .* \(PERMISSION_DENIED\)\n$/);
      const purge = await cli(['queues', 'purge', 'trainyard-jobs-processing']);
      expect(purge.stderr).toMatch(/belongs to the platform .* \(PERMISSION_DENIED\)\n$/);
    });
  },
);
