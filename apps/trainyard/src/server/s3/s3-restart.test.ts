import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { loadServerConfig } from '../../config.js';
import { doorServicesOf } from '../../doors.js';
import { openPlatform } from '../../platform.js';
import { buildHttpApp } from '../http-app.js';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-s3-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start() {
  const config = loadServerConfig({
    env: {},
    cwd: dataDir,
    flags: { dataDir, adminKey: 'restart-admin-key-0123456789', logLevel: 'silent', port: 0 },
  });
  const platform = await openPlatform(config, pino({ level: 'silent' }));
  const app = await buildHttpApp(doorServicesOf(platform));
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    platform,
    baseUrl,
    stop: async () => {
      await app.close();
      await platform.close();
    },
  };
}

it('keeps an unfinished multipart upload across a server restart and completes it after', async () => {
  const first = await start();
  const key = await first.platform.keys.create('restart', 'developer');
  const client = (endpoint: string) =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
  await first.platform.blobs.createBucket('data');
  const before = client(first.baseUrl);
  const part1 = Buffer.alloc(5 * 1024 * 1024, 'a');
  const { UploadId } = await before.send(
    new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'resumed.bin' }),
  );
  const one = await before.send(
    new UploadPartCommand({ Bucket: 'data', Key: 'resumed.bin', UploadId, PartNumber: 1, Body: part1 }),
  );
  before.destroy();
  await first.stop();

  const second = await start();
  const after = client(second.baseUrl);
  try {
    const listed = await after.send(new ListPartsCommand({ Bucket: 'data', Key: 'resumed.bin', UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, part1.length]]);
    const two = await after.send(
      new UploadPartCommand({ Bucket: 'data', Key: 'resumed.bin', UploadId, PartNumber: 2, Body: 'tail' }),
    );
    const done = await after.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data',
        Key: 'resumed.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: one.ETag },
            { PartNumber: 2, ETag: two.ETag },
          ],
        },
      }),
    );
    const md5 = (b: Buffer | string) => createHash('md5').update(b).digest();
    const expected = createHash('md5')
      .update(Buffer.concat([md5(part1), md5('tail')]))
      .digest('hex');
    expect(done.ETag).toBe(`"${expected}-2"`);
    const got = await after.send(new GetObjectCommand({ Bucket: 'data', Key: 'resumed.bin' }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    expect(bytes.length).toBe(part1.length + 4);
    expect(bytes.subarray(-5).toString()).toBe('atail');
  } finally {
    after.destroy();
    await second.stop();
  }

  // The completed object is kept as its parts: it must survive the next start whole.
  const third = await start();
  const reader = client(third.baseUrl);
  try {
    const got = await reader.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'resumed.bin', Range: `bytes=${part1.length - 2}-` }),
    );
    expect(await got.Body?.transformToString()).toBe('aatail');
  } finally {
    reader.destroy();
    await third.stop();
  }
});
