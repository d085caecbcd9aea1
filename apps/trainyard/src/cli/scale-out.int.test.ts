import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { testRedisUrl } from '@trainyard/testing/messaging-fixtures';
import { freshPostgresSchema } from '@trainyard/testing/postgres-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import {
  builtMain,
  requireBuild,
  type ServerProcess,
  startServerProcess,
} from '../testing/server-process.js';
import { deployXgboost, trainXgboost } from '../testing/xgboost-flow.js';

/** Label first, 4 features (SageMaker's XGBoost CSV layout), a separable binary problem. */
function csvRows(n: number, seed: number): string {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: 4 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
    lines.push([x[0]! * 1.5 - x[1]! > 0 ? 1 : 0, ...x].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/*
 * The scale-out shape of ARCHITECTURE.md in one test: an API server and a worker as separate
 * processes, each with its own data folder (two "machines"), sharing only PostgreSQL (metadata),
 * Redis (queues and topics) and an S3-compatible service (blobs: here another Trainyard's S3 door,
 * reached over HTTP with SigV4). A job the API accepts runs on the worker; its model is served by
 * the API's endpoint instance; the bytes live in the S3 service.
 */
describe.skipIf(!requireBuild())('one platform across processes: PostgreSQL, Redis and S3', () => {
  let service: TestServer & { baseUrl: string };
  let api: ServerProcess | undefined;
  let worker: ChildProcess | undefined;
  let dropSchema: (() => Promise<void>) | undefined;
  const folders: string[] = [];
  const adminKey = `scale-admin-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    service = await openTestServer({}, { listen: true });
    await service.platform.blobs.createBucket('shared');
    const serviceKey = await service.platform.keys.create('platform', 'developer');
    const schema = await freshPostgresSchema();
    dropSchema = schema.drop;
    const env = {
      TRAINYARD_METADATA: schema.url,
      TRAINYARD_MESSAGING: `${testRedisUrl}?prefix=ty${randomBytes(4).toString('hex')}`,
      TRAINYARD_BLOBS: `s3://shared/platform/?endpoint=${encodeURIComponent(service.baseUrl)}`,
      AWS_ACCESS_KEY_ID: serviceKey.id,
      AWS_SECRET_ACCESS_KEY: serviceKey.secret,
      TRAINYARD_MASTER_KEY: randomBytes(32).toString('base64url'),
      TRAINYARD_LOG_LEVEL: 'warn',
    };
    const apiDir = mkdtempSync(join(tmpdir(), 'trainyard-scale-api-'));
    const workerDir = mkdtempSync(join(tmpdir(), 'trainyard-scale-worker-'));
    folders.push(apiDir, workerDir);
    api = await startServerProcess(['--data-dir', apiDir], {
      ...env,
      TRAINYARD_ADMIN_KEY: adminKey,
      TRAINYARD_WORKER_CONCURRENCY: '0',
    });
    worker = spawn(process.execPath, [builtMain, 'worker', '--data-dir', workerDir], {
      env: { PATH: process.env.PATH ?? '', HOME: workerDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let workerOutput = '';
    worker.stdout?.on('data', (d: Buffer) => (workerOutput += d.toString()));
    worker.stderr?.on('data', (d: Buffer) => (workerOutput += d.toString()));
    worker.once('exit', (code) => {
      if (code) console.error(`worker exited ${code}:\n${workerOutput}`);
    });
  }, 60_000);

  afterAll(async () => {
    worker?.kill('SIGKILL');
    api?.child.kill('SIGKILL');
    await api?.exited;
    await service?.close();
    await dropSchema?.();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('trains on the worker, serves on the API, and keeps every byte in the S3 service', async () => {
    if (!api) throw new Error('the API server did not start');
    const client = new TrainyardClient({ endpoint: api.baseUrl, key: adminKey });
    // Data goes in through the API's own S3 door, as a user's tools would send it.
    const key = await client.call('createKey', { body: { name: 'uploader', role: 'developer' } });
    const s3 = new S3Client({
      endpoint: api.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'work' }));
      await s3.send(new PutObjectCommand({ Bucket: 'work', Key: 'data/train.csv', Body: csvRows(400, 3) }));
    } finally {
      s3.destroy();
    }
    const job = await trainXgboost(client, 'scale-xgb', {
      trainUri: 's3://work/data/',
      outputUri: 's3://work/models',
      timeoutMs: 120_000,
    });
    expect(job.TrainingJobStatus, `${job.FailureReason}\n${api.output()}`).toBe('Completed');
    const artifact = job.ModelArtifacts.S3ModelArtifacts;
    expect(artifact).toBe('s3://work/models/scale-xgb/output/model.tar.gz');
    // The model archive is in the S3 service, under the platform's prefix, and nowhere local.
    const stored = await service.platform.blobs.head({
      bucket: 'shared',
      key: 'platform/work/models/scale-xgb/output/model.tar.gz',
    });
    expect(stored.size).toBeGreaterThan(100);

    const endpoint = await deployXgboost(client, 'scale-xgb', artifact);
    expect(endpoint.EndpointStatus, `${endpoint.FailureReason}\n${api.output()}`).toBe('InService');
    const answer = await client.invokeEndpoint('scale-xgb', '1.5,-1,0,0\n-1.5,1,0,0\n');
    const [positive, negative] = answer.body.trim().split('\n').map(Number);
    expect(positive).toBeGreaterThan(0.5);
    expect(negative).toBeLessThan(0.5);

    // Reading the artifact back through the service itself gives the same bytes the API serves.
    const direct = new S3Client({
      endpoint: api.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    try {
      const got = await direct.send(
        new GetObjectCommand({ Bucket: 'work', Key: 'models/scale-xgb/output/model.tar.gz' }),
      );
      expect(got.ContentLength).toBe(stored.size);
      expect(got.ETag).toBe(`"${stored.etag}"`);
    } finally {
      direct.destroy();
    }
  }, 180_000);
});
