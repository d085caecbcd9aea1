import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

/** Starts a request, sends part of its body, and keeps the connection open; resolves with the answer. */
function partialUpload(
  method: string,
  url: string,
  headers: Record<string, string>,
  firstPart: Buffer,
): { answer: Promise<{ status: number; body: string }>; sent: Promise<void> } {
  let markSent: () => void = () => {};
  const sent = new Promise<void>((r) => {
    markSent = r;
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(firstPart, () => markSent());
    // The rest never comes: the server's shutdown must end it.
  });
  return { answer, sent };
}

describe('uploads cut off by shutdown', () => {
  let t: (TestServer & { baseUrl: string }) | undefined;
  afterAll(async () => {
    await t?.platform.close().catch(() => {});
  });

  it('answers 503 UNAVAILABLE (retryable), stores nothing and leaves no scratch file', async () => {
    t = await openTestServer({}, { listen: true });
    const scratch = join(t.dataDir, 'tmp', 'datasets');
    const upload = partialUpload(
      'POST',
      `${t.baseUrl}/api/v1/datasets/big/upload?fileName=big.csv`,
      {
        authorization: `Bearer ${t.adminKey}`,
        'content-type': 'text/csv',
        'content-length': String(10 * 1024 * 1024),
      },
      Buffer.from(`id,x\n${'1,2\n'.repeat(50_000)}`),
    );
    await upload.sent;
    // The upload is streaming into its scratch file.
    await vi.waitFor(
      () =>
        expect(readdirSync(scratch, { recursive: true }).some((e) => String(e).endsWith('upload.csv'))).toBe(
          true,
        ),
      { timeout: 10_000 },
    );
    const closing = Date.now();
    await t.app.close();
    const { status, body } = await upload.answer;
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect(status).toBe(503);
    expect(JSON.parse(body).error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(JSON.parse(body).error.message).toMatch(
      /shutting down: this upload was cut off and nothing was stored/,
    );
    // Only this process's (empty) scratch folder may remain, nothing inside it.
    expect(readdirSync(scratch, { recursive: true }).filter((e) => String(e).includes('/'))).toEqual([]);
    expect(await t.platform.datasets.list()).toMatchObject({ items: [] });
  });

  it('answers an S3 upload cut off by shutdown with 503 ServiceUnavailable and stores nothing', async () => {
    const s3t = await openTestServer({}, { listen: true });
    const key = await s3t.platform.keys.create('s3-shutdown', 'developer');
    const s3 = new S3Client({
      endpoint: s3t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'mine' }));
      let pushed = false;
      // Sends 1 MiB of the promised 8 MiB, then nothing more.
      const body = new Readable({
        read() {
          if (!pushed) {
            pushed = true;
            this.push(Buffer.alloc(1024 * 1024, 7));
          }
        },
      });
      const put = s3
        .send(
          new PutObjectCommand({
            Bucket: 'mine',
            Key: 'big.bin',
            Body: body,
            ContentLength: 8 * 1024 * 1024,
          }),
        )
        .then(
          () => ({ name: 'stored', status: 200 }),
          (error: unknown) =>
            error instanceof S3ServiceException
              ? { name: error.name, status: error.$metadata.httpStatusCode }
              : { name: String(error), status: 0 },
        );
      await new Promise((r) => setTimeout(r, 500));
      const closing = Date.now();
      await s3t.app.close();
      expect(await put).toEqual({ name: 'ServiceUnavailable', status: 503 });
      expect(Date.now() - closing).toBeLessThan(5_000);
      await expect(s3t.platform.blobs.head({ bucket: 'mine', key: 'big.bin' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(readdirSync(join(s3t.dataDir, 'blobs', 'tmp'))).toEqual([]);
    } finally {
      s3.destroy();
      await s3t.platform.close();
      rmSync(s3t.dataDir, { recursive: true, force: true });
    }
  });

  it('sweeps scratch left by a process that ended, at the next start', async () => {
    await t?.platform.close();
    const dataDir = t?.dataDir ?? '';
    // A process that no longer exists (pid 2^22 + 1 is above Linux's pid_max) and a stray entry.
    mkdirSync(join(dataDir, 'tmp', 'datasets', '4194305', 'x'), { recursive: true });
    mkdirSync(join(dataDir, 'tmp', 'datasets', 'stray'), { recursive: true });
    const again = await openTestServer({ dataDir });
    try {
      expect(readdirSync(join(dataDir, 'tmp', 'datasets'))).toEqual([]);
    } finally {
      await again.close();
      t = undefined;
    }
  });
});
