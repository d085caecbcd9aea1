import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import { type RouteName, restApi } from '@trainyard/contracts/rest-api';
import type { Role } from '@trainyard/contracts/route';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

/**
 * The attack suite (issue 19): an outsider holding each role's key tries to read the server's
 * files and secrets, change immutable data, make the server call its own network and inject into
 * the platform's queues. Every attempt must be refused with a clear 4xx, and the data must be the
 * same afterwards.
 */

const csv = ['id,city,income', '1,Paris,100', '2,Berlin,200', '3,Tokyo,300', '4,Paris,400', ''].join('\n');
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Every file under `dir` with its content hash. Left out: SQLite's journal files (they change on
 * reads) and the blob store's sidecars (derived from the data files, rebuilt when a file's mtime
 * moves, as it does when the tamper test below puts the original bytes back).
 */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const name = relative(dir, path);
      if (entry.isDirectory()) {
        if (name !== 'tmp' && name !== join('blobs', 'meta')) walk(path);
      } else if (!/trainyard\.db(-wal|-shm|-journal)?$/.test(name)) {
        files[name] = sha256(readFileSync(path));
      }
    }
  };
  walk(dir);
  return files;
}

async function s3Refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) {
      return { name: error.name, status: error.$metadata.httpStatusCode, message: error.message };
    }
    throw error;
  }
  throw new Error('expected the S3 door to refuse');
}

describe('attacks with each role, as an outsider', () => {
  let t: TestServer & { baseUrl: string };
  const keys = {} as Record<Role, { id: string; secret: string }>;
  let masterKey: string;
  let dataFileBefore: string;
  let before: Record<string, string>;
  let listener: Server;
  let listenerHits = 0;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    for (const role of ['admin', 'developer', 'viewer', 'invoker'] as const) {
      const key = await t.platform.keys.create(`attacker-${role}`, role);
      keys[role] = { id: key.id, secret: key.secret };
    }
    const upload = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/people/upload?fileName=people.csv',
      headers: { ...t.auth(keys.developer.secret), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(upload.statusCode, upload.body).toBe(201);
    masterKey = readFileSync(join(t.dataDir, 'master.key'), 'utf8').trim();
    dataFileBefore = sha256(
      readFileSync(join(t.dataDir, 'blobs/buckets/trainyard/datasets/people/v1/data.parquet')),
    );
    // A local service the server must not be made to call.
    listener = createServer((req, res) => {
      listenerHits++;
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    before = snapshot(t.dataDir);
  });
  afterAll(async () => {
    listener?.closeAllConnections();
    await new Promise((r) => listener?.close(r));
    await t?.close();
  });

  const call = (
    role: Role,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => t.app.inject({ method, url, headers: t.auth(keys[role].secret), ...(payload ? { payload } : {}) });

  /** Nothing a client sees may name the server's folders or hold its master key. */
  const expectNoLeak = (body: string) => {
    expect(body).not.toContain(t.dataDir);
    expect(body).not.toContain(masterKey);
    expect(body).not.toMatch(/\/tmp\/trainyard-test-/);
  };

  describe('user SQL in recipes', () => {
    const expressions = {
      'read_text of a server file': "(select content from read_text('/etc/hostname'))",
      'read_blob of the master key': () => `read_blob('${join(t.dataDir, 'master.key')}')`,
      'the first process environment': "(select content from read_text('/proc/1/environ'))",
      'the environment through getenv': "getenv('HOME')",
      'ATTACH of the metadata database': () =>
        `1); ATTACH '${join(t.dataDir, 'trainyard.db')}' AS m; SELECT (1`,
      'COPY … TO a file': "1); COPY (SELECT 42) TO '/tmp/trainyard-leak.csv'; SELECT (1",
      'INSTALL of an extension': '1); INSTALL httpfs; SELECT (1',
      'LOAD of an extension': '1); LOAD httpfs; SELECT (1',
      'a setting through current_setting': "current_setting('temp_directory')",
      'a table function in a scalar subquery': '(SELECT count(*) FROM duckdb_settings())',
    } as Record<string, string | (() => string)>;

    for (const [attack, expression] of Object.entries(expressions)) {
      it(`refuses ${attack} in derive and filter, through preview (viewer) and run (developer)`, async () => {
        const text = typeof expression === 'function' ? expression() : expression;
        for (const step of [
          { op: 'derive', name: 'leak', expression: text },
          { op: 'filter', where: text },
        ]) {
          const recipe = { steps: [step] };
          const preview = await call('viewer', 'POST', '/api/v1/recipes/preview', {
            dataset: 'people',
            recipe,
          });
          expect(preview.statusCode, preview.body).toBe(400);
          expect(preview.json().error.message).toMatch(/recipe\.steps\.0\.(expression|where)/);
          expectNoLeak(preview.body);
          const run = await call('developer', 'POST', '/api/v1/recipes/run', {
            dataset: 'people',
            recipe,
            output: 'leak',
          });
          expect(run.statusCode, run.body).toBe(400);
          expectNoLeak(run.body);
        }
        expect((await call('admin', 'GET', '/api/v1/datasets/leak')).statusCode).toBe(404);
      });
    }

    it('still runs honest expressions', async () => {
      const preview = await call('viewer', 'POST', '/api/v1/recipes/preview', {
        dataset: 'people',
        recipe: {
          steps: [
            { op: 'filter', where: "city <> 'Tokyo' AND income BETWEEN 50 AND 1000" },
            {
              op: 'derive',
              name: 'k',
              expression: "CASE WHEN lower(city) LIKE 'p%' THEN income / 1000 ELSE 0 END",
            },
          ],
        },
      });
      expect(preview.statusCode, preview.body).toBe(200);
      expect(preview.json().rows).toHaveLength(3);
    });
  });

  describe('immutable data through the S3 door', () => {
    const client = (role: Role) =>
      new S3Client({
        endpoint: t.baseUrl,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: keys[role].id, secretAccessKey: keys[role].secret },
      });
    const Bucket = 'trainyard';
    const Key = 'datasets/people/v1/data.parquet';

    it('refuses overwriting, deleting, copying over and multipart-uploading dataset versions, for every role', async () => {
      for (const role of ['admin', 'developer'] as const) {
        const s3 = client(role);
        // Thunks: each request is sent only when awaited, so no refusal goes unobserved.
        const attempts = [
          () => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'PAR1 forged' })),
          () => s3.send(new DeleteObjectCommand({ Bucket, Key })),
          () => s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key }] } })),
          () => s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${Key}` })),
          () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key })),
          () =>
            s3.send(new PutObjectCommand({ Bucket, Key: 'datasets/people/v2/data.parquet', Body: 'new' })),
          () => s3.send(new DeleteBucketCommand({ Bucket })),
        ];
        for (const attempt of attempts) {
          const refusal = await s3Refusal(attempt());
          expect(refusal).toMatchObject({ name: 'AccessDenied', status: 403 });
          expect(refusal.message).toMatch(/read-only through S3/);
          expectNoLeak(refusal.message);
        }
        s3.destroy();
      }
      // A multipart upload started elsewhere cannot be completed into the platform's bucket either.
      const s3 = client('developer');
      const started = await s3Refusal(
        s3.send(new UploadPartCommand({ Bucket, Key, UploadId: 'x', PartNumber: 1, Body: 'x' })),
      );
      expect(started.status).toBe(403);
      const completed = await s3Refusal(
        s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: 'x' })),
      );
      expect(completed.status).toBe(403);
      // Reading stays allowed, and the version is byte for byte what it was.
      const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
      expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(dataFileBefore);
      s3.destroy();
    });

    it('refuses a job output pointed into the platform bucket', async () => {
      const res = await call('developer', 'POST', '/api/v1/processing-jobs', {
        ProcessingJobName: 'overwrite-versions',
        AppSpecification: { ImageUri: 'x', ContainerEntrypoint: ['node', '-e', '0'] },
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.t3.medium', VolumeSizeInGB: 1 },
        },
        RoleArn: 'arn:aws:iam::000000000000:role/x',
        ProcessingOutputConfig: {
          Outputs: [
            {
              OutputName: 'o',
              S3Output: { S3Uri: 's3://trainyard/datasets/people/v1/', S3UploadMode: 'EndOfJob' },
            },
          ],
        },
      });
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().error.field).toBe('ProcessingOutputConfig.Outputs.0.S3Output.S3Uri');
    });

    it('refuses a training job whose model or checkpoints would land in the platform bucket', async () => {
      for (const [field, extra] of [
        [
          'OutputDataConfig.S3OutputPath',
          { OutputDataConfig: { S3OutputPath: 's3://trainyard/datasets/people/' } },
        ],
        [
          'CheckpointConfig.S3Uri',
          {
            OutputDataConfig: { S3OutputPath: 's3://mine/models/' },
            CheckpointConfig: { S3Uri: 's3://trainyard/datasets/people/v1/' },
          },
        ],
      ] as const) {
        const res = await call('developer', 'POST', '/api/v1/training-jobs', {
          TrainingJobName: 'overwrite-by-model',
          AlgorithmSpecification: { AlgorithmName: 'xgboost', TrainingInputMode: 'File' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
          ...extra,
        });
        expect(res.statusCode, res.body).toBe(403);
        expect(res.json().error.field).toBe(field);
      }
    });

    it('notices a version changed on disk behind its back, without showing where the file is', async () => {
      const file = join(t.dataDir, 'blobs/buckets/trainyard/datasets/people/v1/data.parquet');
      const original = readFileSync(file);
      const forged = Buffer.from(original);
      forged[Math.floor(forged.length / 2)] ^= 0xff;
      writeFileSync(file, forged);
      try {
        const res = await call('viewer', 'POST', '/api/v1/recipes/preview', {
          dataset: 'people',
          recipe: { steps: [{ op: 'select', columns: ['id'] }] },
        });
        expect(res.statusCode).toBe(412);
        expect(res.json().error.message).toMatch(/version 1 of dataset "people" failed its integrity check/);
        expectNoLeak(res.body);
      } finally {
        writeFileSync(file, original);
      }
      const after = await call('viewer', 'POST', '/api/v1/recipes/preview', {
        dataset: 'people',
        recipe: { steps: [{ op: 'select', columns: ['id'] }] },
      });
      expect(after.statusCode).toBe(200);
    });
  });

  describe('server files through dataset imports', () => {
    it('refuses file: sources in the data folder, /proc and behind symlinks, even for admins', async () => {
      const link = join(t.dataDir, '..', `trainyard-attack-link-${process.pid}`);
      symlinkSync(join(t.dataDir, 'master.key'), link);
      try {
        for (const source of [
          `file:${join(t.dataDir, 'master.key')}`,
          `file://${join(t.dataDir, 'trainyard.db')}`,
          `file:${join(t.dataDir, 'blobs', '..', 'master.key')}`,
          'file:/proc/self/environ',
          'file:/proc/1/environ',
          `file:${link}`,
        ]) {
          const res = await call('admin', 'POST', '/api/v1/datasets/stolen/versions', {
            source,
            options: { format: 'csv' },
          });
          expect(res.statusCode, `${source}: ${res.body}`).toBe(403);
          expect(res.json().error.field).toBe('source');
          expectNoLeak(res.body);
        }
        const developer = await call('developer', 'POST', '/api/v1/datasets/stolen/versions', {
          source: '/etc/hostname',
          options: { format: 'csv' },
        });
        expect(developer.statusCode).toBeGreaterThanOrEqual(400);
        expect(developer.statusCode).toBeLessThan(500);
      } finally {
        rmSync(link, { force: true });
      }
      expect((await call('admin', 'GET', '/api/v1/datasets/stolen')).statusCode).toBe(404);
    });
  });

  describe('requests the server sends for users', () => {
    it('refuses webhooks to loopback and cloud metadata addresses, by address and by name', async () => {
      expect((await call('developer', 'POST', '/api/v1/topics', { name: 'alerts' })).statusCode).toBe(201);
      const port = (listener.address() as AddressInfo).port;
      for (const url of [
        `http://127.0.0.1:${port}/hook`,
        `http://localhost:${port}/hook`,
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        `http://[::ffff:127.0.0.1]:${port}/`,
        'http://10.0.0.1/',
      ]) {
        const res = await call('developer', 'POST', '/api/v1/topics/alerts/subscriptions', {
          endpoint: { kind: url.startsWith('https') ? 'https' : 'http', url },
        });
        expect(res.statusCode, url).toBe(403);
        expect(res.json().error).toMatchObject({ code: 'PERMISSION_DENIED', field: 'endpoint.url' });
      }
      await call('developer', 'POST', '/api/v1/topics/alerts/publish', { message: 'x' });
      expect(listenerHits).toBe(0);
    });

    it('stores webhook secrets sealed, never as given', async () => {
      const secret = 'a-webhook-secret-of-my-own-choosing';
      const res = await call('developer', 'POST', '/api/v1/topics/alerts/subscriptions', {
        endpoint: { kind: 'queue', queue: 'my-alerts' },
        secret,
      });
      expect(res.statusCode, res.body).toBe(201);
      const rows = await sql<{ secret: string }>`select secret from tp_subscriptions`.execute(
        (t.platform.metadata as Awaited<ReturnType<typeof openMetadataStore>>).db,
      );
      expect(rows.rows.length).toBeGreaterThan(0);
      for (const row of rows.rows) {
        expect(row.secret).not.toContain(secret);
        expect(row.secret).toMatch(/^v1\./);
      }
    });

    it("refuses writes into the platform's queues, topics and streams: redrive, subscriptions, publish", async () => {
      const attempts: [string, Awaited<ReturnType<typeof call>>][] = [
        [
          'redrive into trainyard-jobs',
          await call('developer', 'POST', '/api/v1/queues/my-alerts/redrive', { toQueue: 'trainyard-jobs' }),
        ],
        [
          'redrive out of a platform queue',
          await call('admin', 'POST', '/api/v1/queues/trainyard-jobs/redrive', { toQueue: 'my-alerts' }),
        ],
        [
          'a queue subscription delivering into trainyard-jobs',
          await call('developer', 'POST', '/api/v1/topics/alerts/subscriptions', {
            endpoint: { kind: 'queue', queue: 'trainyard-jobs' },
          }),
        ],
        [
          'a forged platform event',
          await call('developer', 'POST', '/api/v1/topics/trainyard.processing-job.state-change/publish', {
            message: '{}',
          }),
        ],
        [
          'a squatted platform stream',
          await call('developer', 'POST', '/api/v1/streams', { name: 'trainyard-x', shardCount: 1 }),
        ],
      ];
      for (const [attack, res] of attempts) {
        expect(res.statusCode, `${attack}: ${res.body}`).toBe(403);
        expect(res.json().error.message, attack).toMatch(/belongs to the platform|is the platform's/);
      }
      // Nothing reached the job queue: no forged job waits for a worker.
      const counts = await t.platform.jobQueue.counts('trainyard-jobs').catch(() => undefined);
      if (counts) expect(counts).toMatchObject({ visible: 0 });
    });
  });

  describe('names that try to leave their folder', () => {
    const hostile = [
      '..',
      '..%2F..%2Fmaster.key',
      '%2e%2e%2f%2e%2e%2ftrainyard.db',
      '..%5C..%5Cmaster.key',
      'a%00b',
      '%2Fetc%2Fpasswd',
    ];

    it('answers every route that takes a name with a 4xx, for every role', async () => {
      const routes = Object.entries(restApi) as [RouteName, (typeof restApi)[RouteName]][];
      let tried = 0;
      for (const [name, route] of routes) {
        if (!route.path.includes(':')) continue;
        for (const value of hostile) {
          const url = route.path.replace(/:[A-Za-z]+/g, (param) => (param === ':version' ? '1' : value));
          for (const role of ['admin', 'developer', 'viewer'] as const) {
            const res = await t.app.inject({
              method: route.method,
              url,
              headers: { ...t.auth(keys[role].secret), 'content-type': 'application/json' },
              payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}',
            });
            tried++;
            expect(res.statusCode, `${name} ${url} as ${role}: ${res.body}`).toBeGreaterThanOrEqual(400);
            expect(res.statusCode, `${name} ${url} as ${role}: ${res.body}`).toBeLessThan(500);
            expectNoLeak(res.body);
          }
        }
      }
      expect(tried).toBeGreaterThan(100);
    });

    it('refuses S3 keys with dot segments', async () => {
      const s3 = new S3Client({
        endpoint: t.baseUrl,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: keys.developer.id, secretAccessKey: keys.developer.secret },
      });
      for (const Key of ['../../master.key', 'a/../../../trainyard.db', './x', 'a\\..\\b']) {
        const res = await fetch(`${t.baseUrl}/mine/${Key.split('/').map(encodeURIComponent).join('/')}`);
        expect(res.status).toBeGreaterThanOrEqual(400);
        const refusal = await s3Refusal(s3.send(new PutObjectCommand({ Bucket: 'mine', Key, Body: 'x' })));
        expect(refusal.status).toBe(400);
        expectNoLeak(refusal.message);
      }
      s3.destroy();
    });
  });

  it('shows no server paths on the home page', async () => {
    const home = await t.app.inject({ url: '/' });
    expect(home.statusCode).toBe(200);
    expectNoLeak(home.body);
    expect(home.body).not.toMatch(/trainyard\.db|\/blobs/);
  });

  it('keeps the data as it was, and records the refused writes in the audit log', async () => {
    const after = snapshot(t.dataDir);
    // Only what honest calls created may differ (none of the attacks above may add or change files).
    for (const [file, hash] of Object.entries(before)) expect(after[file], file).toBe(hash);
    expect(readFileSync(join(t.dataDir, 'master.key'), 'utf8').trim()).toBe(masterKey);
    expect(statSync(join(t.dataDir, 'trainyard.db')).isFile()).toBe(true);
    const log = await call('admin', 'GET', `/api/v1/audit-log?keyId=${keys.developer.id}&limit=1000`);
    const refused = log.json().items.filter((e: { status: number }) => e.status === 403);
    expect(refused.some((e: { door: string }) => e.door === 's3')).toBe(true);
    expect(refused.some((e: { action: string }) => e.action === 'redriveQueue')).toBe(true);
  });
});
