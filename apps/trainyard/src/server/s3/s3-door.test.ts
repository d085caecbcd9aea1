import { createHash, createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');

// aws-chunked with per-chunk signatures, written from the SigV4 specification independently of the
// server's code: no client at hand sends it over plain HTTP (the aws CLI and boto3 sign the whole
// payload, the JS SDK sends unsigned chunks with a CRC32 trailer), so the test encodes it itself.
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function signedChunks(
  body: Buffer,
  chunkSize: number,
  seed: string,
  secret: string,
  amzDate: string,
): Buffer {
  const date = amzDate.slice(0, 8);
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), 's3'), 'aws4_request');
  const parts: Buffer[] = [];
  let previous = seed;
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += chunkSize) chunks.push(body.subarray(at, at + chunkSize));
  chunks.push(Buffer.alloc(0));
  for (const chunk of chunks) {
    const toSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      amzDate,
      `${date}/us-east-1/s3/aws4_request`,
      previous,
      sha256(''),
      sha256(chunk),
    ].join('\n');
    previous = createHmac('sha256', key).update(toSign).digest('hex');
    parts.push(
      Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    );
  }
  return Buffer.concat(parts);
}

/** A client whose PutObject bodies go out as STREAMING-AWS4-HMAC-SHA256-PAYLOAD, optionally corrupted after signing. */
function chunkedUploader(endpoint: string, id: string, secret: string, corrupt = false): S3Client {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: id, secretAccessKey: secret },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const chunkSize = 64 * 1024;
  client.middlewareStack.addRelativeTo(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: Buffer };
      const body = Buffer.from(request.body);
      const encodedLength = signedChunks(body, chunkSize, '0'.repeat(64), secret, '20000101T000000Z').length;
      for (const name of Object.keys(request.headers)) {
        if (name.toLowerCase().startsWith('x-amz-checksum') || name.toLowerCase() === 'content-length') {
          delete request.headers[name];
        }
      }
      Object.assign(request.headers, {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(body.length),
        'content-length': String(encodedLength),
      });
      return next(args);
    },
    { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'chunkedHeaders' },
  );
  client.middlewareStack.addRelativeTo(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: Buffer };
      const seed = /Signature=([0-9a-f]{64})/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      const encoded = signedChunks(
        Buffer.from(request.body),
        chunkSize,
        seed,
        secret,
        request.headers['x-amz-date'] ?? '',
      );
      if (corrupt) encoded[encoded.length - 200] ^= 1;
      request.body = encoded;
      return next(args);
    },
    { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'chunkedBody' },
  );
  return client;
}

async function s3Error(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException)
      return { name: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error('expected an S3 error');
}

describe('S3 door with @aws-sdk/client-s3 (path style, real SigV4)', () => {
  let t: TestServer & { baseUrl: string };
  let s3: S3Client;
  let clientFor: (role: 'admin' | 'developer' | 'viewer' | 'invoker') => Promise<S3Client>;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    clientFor = async (role) => {
      const key = await t.platform.keys.create(`s3-${role}-${Math.random().toString(36).slice(2, 8)}`, role);
      return new S3Client({
        endpoint: t.baseUrl,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
      });
    };
    s3 = await clientFor('developer');
  });
  afterAll(async () => {
    s3?.destroy();
    await t?.close();
  });

  it('creates, heads, lists and deletes buckets; refuses reserved and invalid names', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain('alpha');
    expect(await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'alpha' })))).toEqual({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    expect((await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'api' })))).name).toBe(
      'InvalidBucketName',
    );
    expect((await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name).toBe(
      'InvalidBucketName',
    );
    expect((await s3Error(s3.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })))).status).toBe(404);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'x', Body: 'x' }));
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: 'alpha' })))).toEqual({
      name: 'BucketNotEmpty',
      status: 409,
    });
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'alpha' }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).not.toContain('alpha');
  });

  it('puts, heads and gets objects with MD5 ETags, metadata and byte ranges', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
    const body = 'x,y\n1,2\n3,4\n';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'train/a b+c.csv',
        Body: body,
        ContentType: 'text/csv',
        Metadata: { source: 'unit' },
      }),
    );
    expect(put.ETag).toBe(`"${md5(body)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'train/a b+c.csv' }));
    expect(head).toMatchObject({
      ContentLength: body.length,
      ContentType: 'text/csv',
      Metadata: { source: 'unit' },
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'train/a b+c.csv' }));
    expect(await got.Body?.transformToString()).toBe(body);
    const range = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'train/a b+c.csv', Range: 'bytes=4-6' }),
    );
    expect(range.ContentRange).toBe(`bytes 4-6/${body.length}`);
    expect(await range.Body?.transformToString()).toBe('1,2');
    const suffix = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'train/a b+c.csv', Range: 'bytes=-4' }),
    );
    expect(await suffix.Body?.transformToString()).toBe('3,4\n');
    expect(
      await s3Error(
        s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'train/a b+c.csv', Range: 'bytes=100-' })),
      ),
    ).toEqual({ name: 'InvalidRange', status: 416 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'nope' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    expect((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'no-bucket', Key: 'k' })))).name).toBe(
      'NoSuchBucket',
    );
    expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'nope' })))).status).toBe(404);
  });

  it('checks Content-MD5 and refuses keys that escape or are too long', async () => {
    const wrong = Buffer.from(md5('something else'), 'hex').toString('base64');
    expect(
      (
        await s3Error(
          s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'md5', Body: 'payload', ContentMD5: wrong })),
        )
      ).name,
    ).toBe('BadDigest');
    expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'md5' })))).status).toBe(404);
    const right = Buffer.from(md5('payload'), 'hex').toString('base64');
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'md5', Body: 'payload', ContentMD5: right }));
    expect(
      (await s3Error(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'k'.repeat(1025), Body: 'x' }))))
        .name,
    ).toBe('KeyTooLongError');
    expect(
      (await s3Error(s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'a/../../x', Body: 'x' })))).status,
    ).toBe(400);
  });

  it('lists with prefix, delimiter, max-keys and continuation tokens; copies and deletes in bulk', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd e'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: key, Body: key }));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 2, ContinuationToken: token }),
      );
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      seen.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(keys);
    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(grouped.Contents?.map((o) => o.Key)).toEqual(['c', 'd e']);
    const underA = await s3.send(
      new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', Delimiter: '/' }),
    );
    expect(underA.Contents?.map((o) => [o.Key, o.Size, o.ETag])).toEqual([
      ['a/1', 3, `"${md5('a/1')}"`],
      ['a/2', 3, `"${md5('a/2')}"`],
    ]);
    expect(underA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);

    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: 'listing', Key: 'copy of c', CopySource: 'listing/c' }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(`"${md5('c')}"`);
    const copyBody = await s3.send(new GetObjectCommand({ Bucket: 'listing', Key: 'copy of c' }));
    expect(await copyBody.Body?.transformToString()).toBe('c');
    expect(
      (
        await s3Error(
          s3.send(new CopyObjectCommand({ Bucket: 'listing', Key: 'x', CopySource: 'listing/missing' })),
        )
      ).name,
    ).toBe('NoSuchKey');

    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'listing',
        Delete: { Objects: [...keys, 'copy of c', 'never-existed'].map((Key) => ({ Key })) },
      }),
    );
    expect(deleted.Deleted?.map((d) => d.Key)).toHaveLength(keys.length + 2);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }))).KeyCount).toBe(0);
    await s3.send(new DeleteBucketCommand({ Bucket: 'listing' }));
  });

  it('uploads 50 MiB in multipart with the <md5 of md5s>-N ETag, lists parts, aborts, and reads a range', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
    const partSize = 8 * 1024 * 1024;
    const total = 50 * 1024 * 1024;
    const data = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4096) data.writeUInt32BE(i, i);
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'big', Key: 'models/model.tar.gz', Body: data, ContentType: 'application/gzip' },
      partSize,
      queueSize: 2,
    });
    const done = await upload.done();
    const partMd5s: Buffer[] = [];
    for (let at = 0; at < total; at += partSize) {
      partMd5s.push(
        createHash('md5')
          .update(data.subarray(at, at + partSize))
          .digest(),
      );
    }
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}"`;
    expect(done.ETag).toBe(expected);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'big', Key: 'models/model.tar.gz' }));
    expect(head).toMatchObject({ ETag: expected, ContentLength: total, ContentType: 'application/gzip' });
    const start = 20 * 1024 * 1024 + 5;
    const range = await s3.send(
      new GetObjectCommand({
        Bucket: 'big',
        Key: 'models/model.tar.gz',
        Range: `bytes=${start}-${start + 9999}`,
      }),
    );
    const bytes = Buffer.from((await range.Body?.transformToByteArray()) ?? []);
    expect(bytes.equals(data.subarray(start, start + 10_000))).toBe(true);
    const whole = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'models/model.tar.gz' }));
    expect(md5(Buffer.from((await whole.Body?.transformToByteArray()) ?? []))).toBe(md5(data));

    // Explicit calls: ListParts, the part rules, and abort.
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key: 'explicit' }));
    const UploadId = created.UploadId as string;
    const small = await s3.send(
      new UploadPartCommand({ Bucket: 'big', Key: 'explicit', UploadId, PartNumber: 1, Body: 'too small' }),
    );
    const last = await s3.send(
      new UploadPartCommand({ Bucket: 'big', Key: 'explicit', UploadId, PartNumber: 2, Body: 'end' }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'big', Key: 'explicit', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 9, `"${md5('too small')}"`],
      [2, 3, `"${md5('end')}"`],
    ]);
    const complete = (Parts: { PartNumber: number; ETag: string | undefined }[]) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'big',
          Key: 'explicit',
          UploadId,
          MultipartUpload: { Parts },
        }),
      );
    expect(
      (
        await s3Error(
          complete([
            { PartNumber: 1, ETag: small.ETag },
            { PartNumber: 2, ETag: last.ETag },
          ]),
        )
      ).name,
    ).toBe('EntityTooSmall');
    expect((await s3Error(complete([{ PartNumber: 1, ETag: '"0000"' }]))).name).toBe('InvalidPart');
    expect(
      (
        await s3Error(
          complete([
            { PartNumber: 2, ETag: last.ETag },
            { PartNumber: 1, ETag: small.ETag },
          ]),
        )
      ).name,
    ).toBe('InvalidPartOrder');
    // A single (last) part may be small.
    const single = await complete([{ PartNumber: 2, ETag: last.ETag }]);
    expect(single.ETag).toBe(`"${md5(Buffer.from(md5('end'), 'hex'))}-1"`);
    expect(
      (await s3Error(s3.send(new ListPartsCommand({ Bucket: 'big', Key: 'explicit', UploadId })))).name,
    ).toBe('NoSuchUpload');

    const aborted = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'big', Key: 'aborted' }));
    await s3.send(
      new UploadPartCommand({
        Bucket: 'big',
        Key: 'aborted',
        UploadId: aborted.UploadId,
        PartNumber: 1,
        Body: 'x',
      }),
    );
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: 'big', Key: 'aborted', UploadId: aborted.UploadId }),
    );
    expect(
      (
        await s3Error(
          s3.send(
            new UploadPartCommand({
              Bucket: 'big',
              Key: 'aborted',
              UploadId: aborted.UploadId,
              PartNumber: 2,
              Body: 'y',
            }),
          ),
        )
      ).name,
    ).toBe('NoSuchUpload');
  });

  it('reads a multipart object across its parts: ranges over part boundaries, HEAD, copy, delete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'composed' }));
    const partSize = 5 * 1024 * 1024;
    const data = Buffer.alloc(2 * partSize + 1000);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i);
    const Key = 'parts/object.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'composed', Key }));
    const Parts: { PartNumber: number; ETag: string | undefined }[] = [];
    for (let n = 1; n <= 3; n++) {
      const Body = data.subarray((n - 1) * partSize, n * partSize);
      const part = await s3.send(
        new UploadPartCommand({ Bucket: 'composed', Key, UploadId, PartNumber: n, Body }),
      );
      Parts.push({ PartNumber: n, ETag: part.ETag });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: 'composed', Key, UploadId, MultipartUpload: { Parts } }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'composed', Key }));
    expect(head).toMatchObject({ ETag: done.ETag, ContentLength: data.length });
    const get = async (Range?: string) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'composed', Key, Range }));
      return { got, bytes: Buffer.from((await got.Body?.transformToByteArray()) ?? []) };
    };
    for (const [start, end] of [
      [partSize - 3, partSize + 2],
      [partSize - 1, 2 * partSize + 10],
      [0, data.length - 1],
    ] as const) {
      const { got, bytes } = await get(`bytes=${start}-${end}`);
      expect(got.ContentRange).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(bytes.equals(data.subarray(start, end + 1))).toBe(true);
    }
    expect((await get('bytes=-1500')).bytes.equals(data.subarray(-1500))).toBe(true);
    expect(md5((await get()).bytes)).toBe(md5(data));
    await s3.send(
      new CopyObjectCommand({ Bucket: 'composed', Key: 'copy.bin', CopySource: `composed/${Key}` }),
    );
    const copy = await s3.send(new GetObjectCommand({ Bucket: 'composed', Key: 'copy.bin' }));
    expect(copy.ETag).toBe(`"${md5(data)}"`);
    expect(md5(Buffer.from((await copy.Body?.transformToByteArray()) ?? []))).toBe(md5(data));
    const composedFolders = () => readdirSync(join(t.dataDir, 'blobs', 'composed'));
    const before = composedFolders().length;
    await s3.send(new DeleteObjectCommand({ Bucket: 'composed', Key }));
    expect(composedFolders()).toHaveLength(before - 1);
    expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'composed', Key })))).status).toBe(404);
  });

  it('serves presigned GET and PUT URLs and refuses an expired one with AccessDenied', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'shared.txt', Body: 'presigned hello' }));
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'shared.txt' }), {
      expiresIn: 60,
    });
    const ok = await fetch(getUrl);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('presigned hello');
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'data', Key: 'uploaded.txt' }), {
      expiresIn: 60,
    });
    expect((await fetch(putUrl, { method: 'PUT', body: 'via presigned put' })).status).toBe(200);
    const uploaded = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'uploaded.txt' }));
    expect(await uploaded.Body?.transformToString()).toBe('via presigned put');
    // A CRC32 header on a presigned PUT (what bench/s3's curl rows send) is checked as the body streams.
    const crcOf = (text: string) => {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.from(text)) >>> 0);
      return crc.toString('base64');
    };
    const withCrc = (body: string, crc: string) =>
      fetch(putUrl, { method: 'PUT', body, headers: { 'x-amz-checksum-crc32': crc } });
    const refused = await withCrc('corrupted on the way', crcOf('what the client sent'));
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('<Code>BadDigest</Code>');
    expect((await withCrc('checked body', crcOf('checked body'))).status).toBe(200);

    const expiredUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'data', Key: 'shared.txt' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 10_000),
    });
    const expired = await fetch(expiredUrl);
    expect(expired.status).toBe(403);
    const xml = await expired.text();
    expect(xml).toContain('<Code>AccessDenied</Code>');
    expect(xml).toContain('Request has expired');
    expect(xml).toMatch(/<RequestId>[^<]+<\/RequestId>/);
    const tampered = await fetch(getUrl.replace('shared.txt', 'uploaded.txt'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('answers bad signatures, unknown keys, viewers writing and invokers with S3 errors', async () => {
    const key = await t.platform.keys.create('s3-wrong-secret', 'admin');
    const wrongSecret = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: `${key.secret}x` },
    });
    expect(await s3Error(wrongSecret.send(new ListBucketsCommand({})))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(
      (await s3Error(wrongSecret.send(new PutObjectCommand({ Bucket: 'data', Key: 'forged', Body: 'x' }))))
        .name,
    ).toBe('SignatureDoesNotMatch');
    const unknown = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDNOTKNOWN', secretAccessKey: 'whatever' },
    });
    expect((await s3Error(unknown.send(new ListBucketsCommand({})))).name).toBe('InvalidAccessKeyId');

    const viewer = await clientFor('viewer');
    const read = await viewer.send(new GetObjectCommand({ Bucket: 'data', Key: 'shared.txt' }));
    expect(await read.Body?.transformToString()).toBe('presigned hello');
    expect(
      await s3Error(viewer.send(new PutObjectCommand({ Bucket: 'data', Key: 'viewer.txt', Body: 'no' }))),
    ).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    expect(
      (await s3Error(viewer.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'shared.txt' })))).name,
    ).toBe('AccessDenied');
    const invoker = await clientFor('invoker');
    expect((await s3Error(invoker.send(new ListBucketsCommand({})))).name).toBe('AccessDenied');

    // An unsigned request to a bucket path is the REST API's 404; a signed one never falls through.
    const plain = await fetch(`${t.baseUrl}/data/shared.txt`);
    expect(plain.status).toBe(404);
    for (const client of [wrongSecret, unknown, viewer, invoker]) client.destroy();
  });

  it('accepts STREAMING-AWS4-HMAC-SHA256-PAYLOAD uploads chunk by chunk and drops one with a bad chunk', async () => {
    const key = await t.platform.keys.create('s3-chunked', 'developer');
    const body = Buffer.alloc(300 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
    const good = chunkedUploader(t.baseUrl, key.id, key.secret);
    const put = await good.send(new PutObjectCommand({ Bucket: 'data', Key: 'chunked.bin', Body: body }));
    expect(put.ETag).toBe(`"${md5(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'chunked.bin' }));
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(body)).toBe(true);

    const bad = chunkedUploader(t.baseUrl, key.id, key.secret, true);
    expect(
      await s3Error(
        bad.send(
          new PutObjectCommand({ Bucket: 'data', Key: 'chunked.bin', Body: Buffer.alloc(body.length) }),
        ),
      ),
    ).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    expect((await t.platform.blobs.head({ bucket: 'data', key: 'chunked.bin' })).etag).toBe(md5(body));
    good.destroy();
    bad.destroy();
  });

  it('refuses a body whose SHA-256 is not the signed x-amz-content-sha256, keeping the old object', async () => {
    const key = await t.platform.keys.create('s3-liar', 'developer');
    const liar = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    liar.middlewareStack.addRelativeTo(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] =
          sha256('other body');
        return next(args);
      },
      { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'lie' },
    );
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'kept.txt', Body: 'original' }));
    expect(
      await s3Error(
        liar.send(new PutObjectCommand({ Bucket: 'data', Key: 'kept.txt', Body: 'replacement' })),
      ),
    ).toEqual({ name: 'XAmzContentSHA256Mismatch', status: 400 });
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'kept.txt' }));
    expect(await kept.Body?.transformToString()).toBe('original');
    liar.destroy();
  });

  it('addresses buckets by Host name (virtual-hosted style)', async () => {
    const port = new URL(t.baseUrl).port;
    const virtual = new S3Client({
      endpoint: `http://localhost:${port}`,
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: await s3.config.credentials(),
    });
    const url = new URL(
      await getSignedUrl(virtual, new GetObjectCommand({ Bucket: 'data', Key: 'shared.txt' }), {
        expiresIn: 60,
      }),
    );
    expect(url.host).toBe(`data.localhost:${port}`);
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: url.pathname + url.search, headers: { host: url.host } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body).toEqual({ status: 200, text: 'presigned hello' });
    virtual.destroy();
  });

  it('shares objects with the BlobStore both ways', async () => {
    await t.platform.blobs.put(
      { bucket: 'data', key: 'jobs/job-1/output/model.tar.gz' },
      'written by a job',
      {
        contentType: 'application/gzip',
      },
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'jobs/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['jobs/job-1/output/model.tar.gz']);
    const got = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'jobs/job-1/output/model.tar.gz' }),
    );
    expect(await got.Body?.transformToString()).toBe('written by a job');

    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'input/train.csv',
        Body: Readable.from([Buffer.from('a,b\n1,2\n')]),
        ContentLength: 8,
      }),
    );
    const { body, info } = await t.platform.blobs.get({ bucket: 'data', key: 'input/train.csv' });
    expect(await text(body)).toBe('a,b\n1,2\n');
    expect(info.etag).toBe(md5('a,b\n1,2\n'));
  });
});

describe('S3 door with auth off (loopback development)', () => {
  it('accepts requests signed with any key, without checking them', async () => {
    const t = await openTestServer({ auth: false }, { listen: true });
    const s3 = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'anything', secretAccessKey: 'anything' },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'open' }));
      await s3.send(new PutObjectCommand({ Bucket: 'open', Key: 'k', Body: 'v' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'open', Key: 'k' }));
      expect(await got.Body?.transformToString()).toBe('v');
    } finally {
      s3.destroy();
      await t.close();
    }
  });
});
