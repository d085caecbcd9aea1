import { mkdirSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openTestPlatform, type TestPlatform } from '../testing/platform-fixture.js';

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
  let t: (TestPlatform & { baseUrl: string }) | undefined;
  afterAll(async () => {
    await t?.platform.close().catch(() => {});
  });

  it('answers 503 UNAVAILABLE (retryable), stores nothing and leaves no scratch file', async () => {
    t = await openTestPlatform({}, { listen: true });
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

  it('sweeps scratch left by a process that ended, at the next start', async () => {
    await t?.platform.close();
    const dataDir = t?.dataDir ?? '';
    // A process that no longer exists (pid 2^22 + 1 is above Linux's pid_max) and a stray entry.
    mkdirSync(join(dataDir, 'tmp', 'datasets', '4194305', 'x'), { recursive: true });
    mkdirSync(join(dataDir, 'tmp', 'datasets', 'stray'), { recursive: true });
    const again = await openTestPlatform({ dataDir });
    try {
      expect(readdirSync(join(dataDir, 'tmp', 'datasets'))).toEqual([]);
    } finally {
      await again.close();
      t = undefined;
    }
  });
});
