import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { blobStoreConformance } from '@trainyard/testing/blob-store-conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

/*
 * The S3 blob store against a real S3 server over HTTP: Trainyard's own S3 door (SigV4, XML,
 * ranges, multipart), with its filesystem store behind it. Stores are opened from their URI as the
 * server opens them, with credentials from the environment. Each lives under its own prefix of
 * one bucket, as stores sharing a bucket do.
 */
let t: TestServer & { baseUrl: string };
let credentials: { accessKeyId: string; secretAccessKey: string };
const opened: BlobStore[] = [];
let n = 0;
const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

function restoreEnv(): void {
  for (const [name, value] of [
    ['AWS_ACCESS_KEY_ID', savedEnv.id],
    ['AWS_SECRET_ACCESS_KEY', savedEnv.secret],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
}

function useServiceKey(): void {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
}

beforeAll(async () => {
  t = await openTestServer({}, { listen: true });
  const key = await t.platform.keys.create('s3-store', 'developer');
  credentials = { accessKeyId: key.id, secretAccessKey: key.secret };
  useServiceKey();
  await t.platform.blobs.createBucket('backend');
});

afterAll(async () => {
  for (const store of opened) store.close?.();
  await t?.close();
  restoreEnv();
});

blobStoreConformance('S3 (Trainyard S3 door)', async () => {
  const store = await openBlobStore(`s3://backend/store-${n++}/?endpoint=${encodeURIComponent(t.baseUrl)}`);
  opened.push(store);
  return store;
});

const fixtures = join(import.meta.dirname, '../../../../../packages/adapters/src/duckdb/fixtures');
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

describe('the S3 blob store with awkward keys', () => {
  it('round-trips keys with spaces, plus, percent, question marks and non-ASCII through put, list, copy and get', async () => {
    const store = await openBlobStore(`s3://backend/odd-keys/?endpoint=${encodeURIComponent(t.baseUrl)}`);
    opened.push(store);
    await store.createBucket('odd');
    const keys = ['a b/c+d.csv', '100%/x?y=1', 'ünï/ç😀.txt', 'tab\there'];
    for (const key of keys) await store.put({ bucket: 'odd', key }, key);
    const listed = (await store.list('odd')).items.map((i) => i.key);
    expect([...listed].sort()).toEqual([...keys].sort());
    await store.copy({ bucket: 'odd', key: keys[0]! }, { bucket: 'odd', key: 'copy of/a b+c' });
    for (const key of [...keys, 'copy of/a b+c']) {
      const { body } = await store.get({ bucket: 'odd', key });
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe(key === 'copy of/a b+c' ? keys[0] : key);
    }
  });
});

describe('a platform whose blobs live on an S3 service', () => {
  let b: TestServer & { baseUrl: string };
  let s3: S3Client;

  beforeAll(async () => {
    // Credentials come from the SDK's chain (the environment), as a deployment would set them.
    b = await openTestServer(
      { blobs: `s3://backend/platform/?endpoint=${encodeURIComponent(t.baseUrl)}` },
      { listen: true },
    );
    const key = await b.platform.keys.create('b-dev', 'developer');
    s3 = new S3Client({
      endpoint: b.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await b?.close();
  });

  it('keeps what its S3 door takes (single and multipart) in the service, byte for byte', async () => {
    expect(b.platform.blobs.kind).toBe('s3');
    await b.platform.blobs.createBucket('raw');
    const csv = readFileSync(join(fixtures, 'people.csv'));
    await new Upload({ client: s3, params: { Bucket: 'raw', Key: 'people/a.csv', Body: csv } }).done();
    // 11 MiB in 5 MiB parts: the door stages the parts in the service and joins them there.
    const big = Buffer.alloc(11 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const partMd5s = [0, 1, 2].map((p) =>
      createHash('md5')
        .update(big.subarray(p * 5 * 1024 * 1024, (p + 1) * 5 * 1024 * 1024))
        .digest(),
    );
    await new Upload({
      client: s3,
      params: { Bucket: 'raw', Key: 'blobs/big.bin', Body: big },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    }).done();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'raw', Key: 'blobs/big.bin' }));
    expect(got.ETag).toBe(`"${md5(Buffer.concat(partMd5s))}-3"`);
    expect(md5(Buffer.from(await got.Body!.transformToByteArray()))).toBe(md5(big));
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: 'raw', Key: 'blobs/big.bin', Range: 'bytes=8192-8195' }),
    );
    expect(Buffer.from(await ranged.Body!.transformToByteArray()).readUInt32LE(0)).toBe(8192);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'raw', Delimiter: '/' }));
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['blobs/', 'people/']);
    // In the service: under the store's prefix, with nothing left of the staged parts.
    expect(
      await t.platform.blobs.head({ bucket: 'backend', key: 'platform/raw/people/a.csv' }),
    ).toMatchObject({
      size: csv.length,
      etag: md5(csv),
    });
    const staged = await t.platform.blobs.list('backend', { prefix: 'platform/.parts/' });
    expect(staged.items).toEqual([]);
  });

  it('imports and profiles a dataset from it (DuckDB reads a downloaded copy)', async () => {
    const imported = await b.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/people/versions',
      headers: b.auth(),
      payload: { source: 's3://raw/people/', options: { onMalformed: 'skip' } },
    });
    expect(imported.statusCode).toBe(201);
    expect(imported.json()).toMatchObject({ version: 1, rowCount: 19, skippedRows: 1 });
    const profile = await b.app.inject({
      url: '/api/v1/datasets/people/versions/1/profile',
      headers: b.auth(),
    });
    expect(profile.statusCode).toBe(200);
    const written = await t.platform.blobs.list('backend', {
      prefix: 'platform/trainyard/datasets/people/v1/',
    });
    expect(written.items.map((i) => i.key)).toContain('platform/trainyard/datasets/people/v1/data.parquet');
  });
});

describe('opening an S3 blob store from its URI', () => {
  it('names the field and the problem for a bad URI or an unreachable bucket', async () => {
    const refused = async (uri: string) => {
      try {
        await openBlobStore(uri);
      } catch (error) {
        expect(TrainyardError.is(error, 'INVALID_ARGUMENT')).toBe(true);
        return (error as Error).message;
      }
      throw new Error(`${uri} was accepted`);
    };
    expect(await refused('s3://Bad_Bucket/x/')).toMatch(/^blobs: /);
    expect(await refused(`s3://backend/?endpoint=${t.baseUrl}&colour=red`)).toMatch(
      /unknown option "colour"/,
    );
    expect(await refused('s3://backend/?endpoint=ftp://host')).toMatch(/must be http\(s\)/);
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      expect(await refused(`s3://backend/?endpoint=${t.baseUrl}`)).toMatch(
        /no credentials; set AWS_ACCESS_KEY_ID/,
      );
      process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = 'wrong';
      expect(await refused(`s3://backend/?endpoint=${t.baseUrl}`)).toMatch(/access denied/);
      process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      expect(await refused(`s3://no-such-bucket/?endpoint=${t.baseUrl}`)).toMatch(/does not exist/);
    } finally {
      useServiceKey();
    }
  });
});
