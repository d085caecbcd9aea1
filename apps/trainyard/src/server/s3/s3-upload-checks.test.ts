import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

// Uploads large enough that the door hashes them on its worker thread (s3-body offloadFromBytes),
// sent as raw HTTP so each body can be wrong in exactly one way. Auth is off: these tests are about
// the body checks, which run the same with signatures on (s3-door.test.ts covers those).

const MiB = 1024 * 1024;
const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex');
const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');
const sha256Hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const sha256Base64 = (data: Buffer) => createHash('sha256').update(data).digest('base64');
const crc32Base64 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
};
const anyKey =
  'AWS4-HMAC-SHA256 Credential=anything/20261203/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00';

/** `aws-chunked` with unsigned chunks of `chunkSize` and the given trailer lines (what JS SDKs send). */
function awsChunked(body: Buffer, chunkSize: number, trailer: string, options: { final?: boolean } = {}) {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += chunkSize) {
    const chunk = body.subarray(at, at + chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  if (options.final !== false) parts.push(Buffer.from(`0\r\n${trailer}\r\n`));
  return Buffer.concat(parts);
}

interface Sent {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

describe('S3 door body checks on large bodies (hashed off the request thread)', () => {
  let t: TestServer & { baseUrl: string };
  const port = () => Number(new URL(t.baseUrl).port);

  /** One raw request; with `abortAfter`, the socket is destroyed after that many body bytes. */
  function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer = Buffer.alloc(0),
    abortAfter?: number,
  ): Promise<Sent | 'aborted'> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: port(),
          method,
          path,
          headers: {
            authorization: anyKey,
            'x-amz-date': '20261203T000000Z',
            'content-length': String(body.length),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      if (abortAfter === undefined) {
        req.on('error', reject);
        req.end(body);
        return;
      }
      req.on('error', () => resolve('aborted'));
      req.write(body.subarray(0, abortAfter), () => setImmediate(() => req.destroy()));
    });
  }
  const put = async (path: string, headers: Record<string, string>, body: Buffer) => {
    const sent = await send('PUT', path, headers, body);
    if (sent === 'aborted') throw new Error('unexpected abort');
    return sent;
  };
  const get = async (path: string) => {
    const sent = await send('GET', path, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
    if (sent === 'aborted') throw new Error('unexpected abort');
    return sent;
  };
  const tempFiles = () => readdirSync(join(t.dataDir, 'blobs', 'tmp'));
  /** Waits (bounded) until the server has cleaned up after a cut upload. */
  async function settled(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (t.app.s3BodyDigests.activeJobs === 0 && tempFiles().length === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  beforeAll(async () => {
    t = await openTestServer({ auth: false }, { listen: true });
    const made = await put('/checks', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, Buffer.alloc(0));
    expect(made.text).toBe('');
    expect(made.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores a streamed aws-chunked upload with its CRC32 trailer and MD5 ETag; refuses a wrong trailer, keeping the old object', async () => {
    const body = randomBytes(3 * MiB + 5);
    const headers = {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(body.length),
      'x-amz-trailer': 'x-amz-checksum-crc32',
    };
    const ok = await put(
      '/checks/chunked',
      headers,
      awsChunked(body, 65_536, `x-amz-checksum-crc32:${crc32Base64(body)}`),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe(`"${md5Hex(body)}"`);

    const other = randomBytes(2 * MiB);
    const wrong = await put(
      '/checks/chunked',
      { ...headers, 'x-amz-decoded-content-length': String(other.length) },
      awsChunked(other, 100_000, `x-amz-checksum-crc32:${crc32Base64(body)}`),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('<Code>BadDigest</Code>');
    const kept = await get('/checks/chunked');
    expect(kept.headers.etag).toBe(`"${md5Hex(body)}"`);
    expect(Number(kept.headers['content-length'])).toBe(body.length);
    await settled();
    expect(t.app.s3BodyDigests.activeJobs).toBe(0);
    expect(tempFiles()).toEqual([]);
  });

  it('checks Content-MD5, a signed SHA-256 and x-amz-checksum-sha256 of large PutObject and UploadPart bodies', async () => {
    const body = randomBytes(2 * MiB);
    const unsigned = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const badMd5 = await put('/checks/md5', { ...unsigned, 'content-md5': md5Base64(randomBytes(8)) }, body);
    expect(badMd5.status).toBe(400);
    expect(badMd5.text).toContain('<Code>BadDigest</Code>');
    expect((await get('/checks/md5')).status).toBe(404);
    const goodMd5 = await put('/checks/md5', { ...unsigned, 'content-md5': md5Base64(body) }, body);
    expect(goodMd5.headers.etag).toBe(`"${md5Hex(body)}"`);

    const badSha = await put('/checks/sha', { 'x-amz-content-sha256': sha256Hex(randomBytes(8)) }, body);
    expect(badSha.status).toBe(400);
    expect(badSha.text).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    const goodSha = await put('/checks/sha', { 'x-amz-content-sha256': sha256Hex(body) }, body);
    expect(goodSha.status).toBe(200);
    expect(goodSha.headers.etag).toBe(`"${md5Hex(body)}"`);

    const badChecksum = await put(
      '/checks/sum',
      { ...unsigned, 'x-amz-checksum-sha256': sha256Base64(randomBytes(8)) },
      body,
    );
    expect(badChecksum.status).toBe(400);
    expect(badChecksum.text).toContain('<Code>BadDigest</Code>');
    const goodChecksum = await put(
      '/checks/sum',
      { ...unsigned, 'x-amz-checksum-sha256': sha256Base64(body) },
      body,
    );
    expect(goodChecksum.status).toBe(200);

    const created = await send('POST', '/checks/parts?uploads', unsigned);
    if (created === 'aborted') throw new Error('unexpected abort');
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1] ?? '';
    const partPath = `/checks/parts?partNumber=1&uploadId=${uploadId}`;
    const badPart = await put(
      partPath,
      { 'x-amz-content-sha256': sha256Hex(body), 'content-md5': md5Base64(Buffer.from('x')) },
      body,
    );
    expect(badPart.status).toBe(400);
    expect(badPart.text).toContain('<Code>BadDigest</Code>');
    const goodPart = await put(
      partPath,
      { 'x-amz-content-sha256': sha256Hex(body), 'content-md5': md5Base64(body) },
      body,
    );
    expect(goodPart.status).toBe(200);
    expect(goodPart.headers.etag).toBe(`"${md5Hex(body)}"`);
    await settled();
    expect(t.app.s3BodyDigests.activeJobs).toBe(0);
    expect(tempFiles()).toEqual([]);
  });

  it('stores nothing for short, unterminated and aborted bodies, and leaks no worker job or temp file', async () => {
    const body = randomBytes(2 * MiB);
    const chunkedHeaders = (declared: number) => ({
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(declared),
      'x-amz-trailer': 'x-amz-checksum-crc32',
    });
    // Well framed, but fewer bytes than declared.
    const short = await put(
      '/checks/cut',
      chunkedHeaders(body.length + 1),
      awsChunked(body, 65_536, `x-amz-checksum-crc32:${crc32Base64(body)}`),
    );
    expect(short.status).toBe(400);
    expect(short.text).toContain('<Code>IncompleteBody</Code>');
    // The HTTP body ends before the final zero-size chunk.
    const unterminated = await put(
      '/checks/cut',
      chunkedHeaders(body.length),
      awsChunked(body, 65_536, '', { final: false }),
    );
    expect(unterminated.status).toBe(400);
    expect(unterminated.text).toContain('<Code>IncompleteBody</Code>');
    // The client goes away mid-body, plain and aws-chunked.
    for (let i = 0; i < 3; i++) {
      expect(
        await send('PUT', '/checks/cut', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body, MiB + i),
      ).toBe('aborted');
      const framed = awsChunked(body, 65_536, `x-amz-checksum-crc32:${crc32Base64(body)}`);
      expect(await send('PUT', '/checks/cut', chunkedHeaders(body.length), framed, MiB)).toBe('aborted');
    }
    await settled();
    expect(t.app.s3BodyDigests.activeJobs).toBe(0);
    expect(tempFiles()).toEqual([]);
    expect((await get('/checks/cut')).status).toBe(404);
    // The worker is still usable after all that.
    const after = await put('/checks/cut', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body);
    expect(after.headers.etag).toBe(`"${md5Hex(body)}"`);
  });

  it('verifies concurrent uploads each against their own digests (on the worker and on the request thread)', async () => {
    const bodies = Array.from({ length: 5 }, () => randomBytes(2 * MiB + 1));
    const answers = await Promise.all(
      bodies.map((body, i) =>
        put(
          `/checks/many-${i}`,
          {
            'x-amz-content-sha256': sha256Hex(body),
            'content-md5': md5Base64(body),
            'x-amz-checksum-crc32': crc32Base64(body),
          },
          body,
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => a.headers.etag)).toEqual(bodies.map((b) => `"${md5Hex(b)}"`));
    // One of them with a wrong Content-MD5 among good ones fails alone.
    const mixed = await Promise.all(
      bodies.map((body, i) =>
        put(
          `/checks/mixed-${i}`,
          {
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
            'content-md5': md5Base64(i === 2 ? (bodies[0] as Buffer) : body),
          },
          body,
        ),
      ),
    );
    expect(mixed.map((a) => a.status)).toEqual([200, 200, 400, 200, 200]);
    for (const [i, body] of bodies.entries()) {
      const got = await get(`/checks/many-${i}`);
      expect(got.headers.etag).toBe(`"${md5Hex(body)}"`);
    }
    await settled();
    expect(t.app.s3BodyDigests.activeJobs).toBe(0);
  });
});
