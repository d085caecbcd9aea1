import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import type { Endpoint } from '@trainyard/contracts/endpoints';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { saveModel } from '@trainyard/ml/formats/model-json';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../testing/server-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-endpoint-restart-'));
const adminKey = 'endpoint-restart-admin-key-0123456789';
const env = {
  TRAINYARD_DATA_DIR: dataDir,
  TRAINYARD_ADMIN_KEY: adminKey,
  TRAINYARD_LOG_LEVEL: 'warn',
  TRAINYARD_WORKER_CONCURRENCY: '0',
};
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Running, not a zombie: an orphan killed by the new leader may wait for a reaper that never comes. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(
  client: TrainyardClient,
  done: (e: Endpoint) => boolean,
  timeoutMs = 40_000,
): Promise<Endpoint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await client.call('describeEndpoint', { params: { name: 'resume' } });
    if (done(e)) return e;
    if (Date.now() > deadline) throw new Error(`endpoint stuck: ${JSON.stringify(e)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('endpoint reconciler across a server crash', () => {
  it('finishes an update after the server is SIGKILLed in the middle of it, and leaves no stray instance', async () => {
    const blobs = await openBlobStore(`file:${join(dataDir, 'blobs')}`);
    await blobs.createBucket('models');
    const rows = [
      [0, 1],
      [1, 0],
      [1, 1],
      [0, 0],
    ];
    for (const [name, slope] of [
      ['one', 1],
      ['two', 5],
    ] as const) {
      const x = Array.from({ length: 200 }, (_, i) => rows[i % 4]!.map((v) => v + (i % 7) / 10));
      const model = trainGbdt(
        { x: DenseMatrix.fromRows(x), y: x.map((r) => slope * r[0]! + r[1]!) },
        { num_round: '10' },
      );
      const dir = join(dataDir, `archive-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'model.json'), saveModel(model));
      execFileSync('tar', ['-czf', join(dataDir, `${name}.tar.gz`), '-C', dir, 'model.json']);
      await blobs.putFile({ bucket: 'models', key: `${name}/model.tar.gz` }, join(dataDir, `${name}.tar.gz`));
    }

    const first = await startServerProcess([], env);
    let client = new TrainyardClient({ endpoint: first.baseUrl, key: adminKey });
    for (const name of ['one', 'two']) {
      await client.call('createModel', {
        body: {
          ModelName: name,
          PrimaryContainer: {
            Image: 'trainyard/model-server',
            ModelDataUrl: `s3://models/${name}/model.tar.gz`,
          },
        },
      });
      await client.call('createEndpointConfig', {
        body: {
          EndpointConfigName: name,
          ProductionVariants: [
            { VariantName: 'main', ModelName: name, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
          ],
        },
      });
    }
    await client.call('createEndpoint', { body: { EndpointName: 'resume', EndpointConfigName: 'one' } });
    await waitFor(client, (e) => e.EndpointStatus === 'InService');
    const before = (await client.call('listEndpointInstances', { params: { name: 'resume' } })).items;
    expect(before.map((i) => alive(i.Pid!))).toEqual([true]);

    await client.call('updateEndpoint', { params: { name: 'resume' }, body: { EndpointConfigName: 'two' } });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await startServerProcess([], env);
    try {
      client = new TrainyardClient({ endpoint: second.baseUrl, key: adminKey });
      expect((await client.call('describeEndpoint', { params: { name: 'resume' } })).EndpointStatus).toBe(
        'Updating',
      );
      const done = await waitFor(client, (e) => e.EndpointStatus === 'InService');
      expect(done).toMatchObject({ EndpointConfigName: 'two' });
      expect(done.FailureReason).toBeUndefined();
      const answer = await client.invokeEndpoint('resume', '1,0');
      expect(Number(answer.body)).toBeGreaterThan(3);
      // The instance the killed server left behind was stopped by the new leader.
      expect(alive(before[0]!.Pid!)).toBe(false);
      // The new leader's own instance of the old config drains for a moment after traffic moved.
      let configs: string[] = [];
      for (let i = 0; i < 100; i++) {
        const after = (await client.call('listEndpointInstances', { params: { name: 'resume' } })).items;
        configs = after.map((instance) => instance.EndpointConfigName);
        if (configs.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(configs).toEqual(['two']);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 90_000);
});
