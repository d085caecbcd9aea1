import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import {
  compareKeys,
  formatBlobUri,
  notFoundBlob,
  validateBlobAddress,
  validateBucketName,
  validateStagedId,
} from '@trainyard/core/blob/blob-address';
import type {
  BlobAddress,
  BlobInfo,
  BlobList,
  BlobStore,
  BlobSummary,
  BucketInfo,
  ByteRange,
  ListOptions,
  PutFileOptions,
  PutOptions,
  StagedPart,
} from '@trainyard/core/ports/blob-store';

/** Where an S3BlobStore keeps everything: one bucket of an S3-compatible service, under a prefix. */
export interface S3BlobStoreOptions {
  /** The service's bucket that holds the store. */
  bucket: string;
  /** Key prefix inside it ('' or ending in "/"), so several stores can share a bucket. */
  prefix?: string;
  /** `http(s)://host:port` of an S3-compatible service; AWS's own endpoints when absent. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`host/bucket/key`), which most self-hosted services need. Default: true with an endpoint. */
  forcePathStyle?: boolean;
  /** Defaults to the AWS SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const defaultContentType = 'application/octet-stream';
/** S3's largest single PutObject and CopyObject. */
const singlePutMaxBytes = 5 * 1024 ** 3;
/** S3's smallest part but the last of a multipart upload. */
const minPartBytes = 5 * 1024 * 1024;
/** Part size when an object above the single-put limit is sent as a multipart upload. */
const largePartBytes = 256 * 1024 * 1024;
/**
 * User metadata that holds the ETag a caller set (`PutOptions.etag`, e.g. a multipart upload's
 * `<md5 of md5s>-<n>`) when the service's own ETag may differ; never taken from a caller's metadata.
 */
const etagMetadataKey = 'trainyard-etag';

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isMissing(error: unknown): boolean {
  return (
    statusOf(error) === 404 ||
    (error instanceof S3ServiceException && ['NoSuchKey', 'NotFound'].includes(error.name))
  );
}

/** Caller metadata without the reserved ETag key (S3 lower-cases metadata names). */
function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {}))
    if (name.toLowerCase() !== etagMetadataKey) out[name] = value;
  return out;
}

/** A body spooled to a local file: its path, size and hex MD5. */
interface Spooled {
  path: string;
  size: number;
  md5: string;
}

/**
 * BlobStore on an S3-compatible service (AWS S3, MinIO, Ceph, another Trainyard's S3 door): the
 * scale-out store, for several machines on one set of blobs. Everything lives in one bucket of
 * the service under a prefix: `<prefix><bucket>/<key>` for objects, `<prefix>.buckets/<bucket>`
 * for a bucket's marker and `<prefix>.parts/<upload>/<part>` for staged multipart parts (bucket
 * names never start with "."). A streamed body is spooled to a local temp file while its MD5 is
 * computed, then sent as one PutObject with `Content-MD5`, so the service verifies every byte and
 * its ETag is the MD5 S3 would give; a failed or cut body sends nothing, so readers see the old
 * object or the new one. Objects have no local path: readers such as DuckDB get a downloaded copy.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  /** Buckets known to exist: `put` creates a missing one, and need not ask again. */
  readonly #knownBuckets = new Set<string>();
  #spoolDir = '';

  constructor(readonly options: S3BlobStoreOptions) {
    this.#bucket = options.bucket;
    const prefix = options.prefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/'))
      throw invalidArgument('blobs', `prefix "${prefix}" must end with "/"`);
    this.#prefix = prefix;
    this.#client = new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Every write carries Content-MD5, which the service checks; no second checksum per request.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Checks the service's bucket answers and makes the local spool folder. */
  async init(): Promise<this> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      const status = statusOf(error);
      const where = `s3://${this.#bucket}${this.options.endpoint ? ` at ${this.options.endpoint}` : ''}`;
      if ((error as Error).name === 'CredentialsProviderError')
        throw invalidArgument(
          'blobs',
          `${where}: no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)`,
        );
      if (status === 404)
        throw invalidArgument('blobs', `${where}: the bucket does not exist; create it first`);
      if (status === 403)
        throw invalidArgument(
          'blobs',
          `${where}: access denied; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        );
      throw new TrainyardError('UNAVAILABLE', `blobs: ${where} did not answer: ${(error as Error).message}`);
    }
    const base = join(tmpdir(), 'trainyard-s3-spool');
    await mkdir(base, { recursive: true });
    this.#spoolDir = await mkdtemp(join(base, 'store-'));
    return this;
  }

  close(): void {
    this.#client.destroy();
    if (this.#spoolDir) void rm(this.#spoolDir, { recursive: true, force: true });
  }

  #objectKey(address: BlobAddress): string {
    return `${this.#prefix}${address.bucket}/${address.key}`;
  }

  #markerKey(bucket: string): string {
    return `${this.#prefix}.buckets/${bucket}`;
  }

  #partKey(uploadId: string, partId: string): string {
    return `${this.#prefix}.parts/${uploadId}/${partId}`;
  }

  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    // Look, then write the marker: two racing creates both succeed, which is harmless.
    try {
      await this.headBucket(bucket);
      throw new TrainyardError('ALREADY_EXISTS', `bucket "${bucket}" already exists`, { bucket });
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
    }
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#markerKey(bucket),
        Body: '',
        ContentLength: 0,
      }),
    );
    this.#knownBuckets.add(bucket);
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    validateBucketName(bucket);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#markerKey(bucket) }),
      );
      this.#knownBuckets.add(bucket);
      return { name: bucket, createdAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.#knownBuckets.delete(bucket);
      throw new TrainyardError('NOT_FOUND', `bucket "${bucket}" does not exist`, { bucket });
    }
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const markers = `${this.#prefix}.buckets/`;
    const buckets: BucketInfo[] = [];
    for await (const object of this.#listAll(markers)) {
      buckets.push({ name: object.key.slice(markers.length), createdAt: object.lastModified });
    }
    return buckets.sort((a, b) => compareKeys(a.name, b.name));
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.headBucket(bucket);
    const listing = await this.list(bucket, { limit: 1 });
    if (listing.items.length > 0)
      throw new TrainyardError('FAILED_PRECONDITION', `bucket "${bucket}" is not empty`, { bucket });
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#markerKey(bucket) }));
    this.#knownBuckets.delete(bucket);
  }

  async #ensureBucket(bucket: string): Promise<void> {
    if (this.#knownBuckets.has(bucket)) return;
    try {
      await this.headBucket(bucket);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
      try {
        await this.createBucket(bucket);
      } catch (created) {
        if (!TrainyardError.is(created, 'ALREADY_EXISTS')) throw created; // made meanwhile
      }
    }
  }

  /** Writes `body` to a temp file, hashing it on the way; the caller removes the file. */
  async #spool(body: Readable | Uint8Array | string): Promise<Spooled> {
    const path = join(this.#spoolDir, randomUUID());
    const hash = createHash('md5');
    let size = 0;
    const source =
      body instanceof Readable ? body : Readable.from([Buffer.from(body as Uint8Array | string)]);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, tap, createWriteStream(path, { highWaterMark: 1024 * 1024 }));
    } catch (error) {
      await unlink(path).catch(() => undefined);
      throw error;
    }
    return { path, size, md5: hash.digest('hex') };
  }

  /** Sends a local file as the object at `key`: one PutObject with its MD5, or a multipart upload above 5 GiB. */
  async #send(
    key: string,
    file: Spooled,
    options: PutOptions,
  ): Promise<{ etag: string; metadata: Record<string, string> }> {
    const metadata = userMetadata(options.metadata);
    const contentType = options.contentType ?? defaultContentType;
    if (file.size <= singlePutMaxBytes) {
      if (options.etag !== undefined && options.etag !== file.md5) metadata[etagMetadataKey] = options.etag;
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: createReadStream(file.path, { highWaterMark: 1024 * 1024 }),
          ContentLength: file.size,
          ContentMD5: Buffer.from(file.md5, 'hex').toString('base64'),
          ContentType: contentType,
          Metadata: metadata,
        }),
      );
      return { etag: options.etag ?? file.md5, metadata };
    }
    // The service's ETag of a multipart upload is not the MD5: keep the one callers expect.
    metadata[etagMetadataKey] = options.etag ?? file.md5;
    const parts: { start: number; size: number }[] = [];
    for (let start = 0; start < file.size; start += largePartBytes)
      parts.push({ start, size: Math.min(largePartBytes, file.size - start) });
    await this.#multipart(key, contentType, metadata, parts, async (part) => ({
      body: createReadStream(file.path, { start: part.start, end: part.start + part.size - 1 }),
      size: part.size,
    }));
    return { etag: metadata[etagMetadataKey], metadata };
  }

  /** One multipart upload of `parts`, each read by `open`; aborted on any failure. Returns the service's ETag. */
  async #multipart<P>(
    key: string,
    contentType: string,
    metadata: Record<string, string>,
    parts: P[],
    open: (part: P) => Promise<{ body: Readable; size: number }>,
  ): Promise<string> {
    const created = await this.#client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: key,
        ContentType: contentType,
        Metadata: metadata,
      }),
    );
    const uploadId = created.UploadId as string;
    try {
      const done: { ETag: string; PartNumber: number }[] = [];
      for (const [index, part] of parts.entries()) {
        const { body, size } = await open(part);
        const answer = await this.#client.send(
          new UploadPartCommand({
            Bucket: this.#bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: index + 1,
            Body: body,
            ContentLength: size,
          }),
        );
        done.push({ ETag: answer.ETag as string, PartNumber: index + 1 });
      }
      const completed = await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
        }),
      );
      return unquote(completed.ETag);
    } catch (error) {
      await this.#client
        .send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async put(
    address: BlobAddress,
    body: Readable | Uint8Array | string,
    options: PutOptions = {},
  ): Promise<BlobInfo> {
    validateBlobAddress(address);
    const file = await this.#spool(body);
    try {
      await this.#ensureBucket(address.bucket);
      const sent = await this.#send(this.#objectKey(address), file, options);
      return {
        ...address,
        size: file.size,
        etag: sent.etag,
        lastModified: new Date(),
        contentType: options.contentType ?? defaultContentType,
        metadata: userMetadata(options.metadata),
      };
    } finally {
      await unlink(file.path).catch(() => undefined);
    }
  }

  async putFile(address: BlobAddress, localPath: string, options: PutFileOptions = {}): Promise<BlobInfo> {
    validateBlobAddress(address);
    let size: number;
    try {
      const info = await stat(localPath);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
    } catch {
      throw new TrainyardError('NOT_FOUND', `file ${localPath} does not exist`, { path: localPath });
    }
    let md5 = options.etag;
    if (md5 === undefined || !/^[0-9a-f]{32}$/.test(md5)) {
      const hash = createHash('md5');
      for await (const chunk of createReadStream(localPath, { highWaterMark: 1024 * 1024 }))
        hash.update(chunk as Buffer);
      md5 = hash.digest('hex');
    }
    await this.#ensureBucket(address.bucket);
    const sent = await this.#send(this.#objectKey(address), { path: localPath, size, md5 }, options);
    if (options.move) await unlink(localPath).catch(() => undefined);
    return {
      ...address,
      size,
      etag: sent.etag,
      lastModified: new Date(),
      contentType: options.contentType ?? defaultContentType,
      metadata: userMetadata(options.metadata),
    };
  }

  #info(
    address: BlobAddress,
    head: {
      ContentLength?: number | undefined;
      ETag?: string | undefined;
      LastModified?: Date | undefined;
      ContentType?: string | undefined;
      Metadata?: Record<string, string> | undefined;
    },
    size: number,
  ): BlobInfo {
    const metadata = head.Metadata ?? {};
    return {
      ...address,
      size,
      etag: metadata[etagMetadataKey] ?? unquote(head.ETag),
      lastModified: head.LastModified ?? new Date(0),
      contentType: head.ContentType ?? defaultContentType,
      metadata: userMetadata(metadata),
    };
  }

  async get(address: BlobAddress, range?: ByteRange): Promise<{ info: BlobInfo; body: Readable }> {
    validateBlobAddress(address);
    if (range && (!Number.isInteger(range.start) || range.start < 0 || range.end < range.start))
      throw invalidArgument('range', `bytes=${range.start}-${range.end} is not a valid range`);
    try {
      const answer = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(address),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const total = range
        ? Number(/\/(\d+)$/.exec(answer.ContentRange ?? '')?.[1] ?? answer.ContentLength ?? 0)
        : (answer.ContentLength ?? 0);
      return { info: this.#info(address, answer, total), body: answer.Body as Readable };
    } catch (error) {
      if (isMissing(error)) throw notFoundBlob(address);
      if (statusOf(error) === 416)
        throw invalidArgument(
          'range',
          `bytes=${range?.start}-${range?.end} starts past the end of ${formatBlobUri(address)}`,
        );
      throw error;
    }
  }

  async head(address: BlobAddress): Promise<BlobInfo> {
    validateBlobAddress(address);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(address) }),
      );
      return this.#info(address, head, head.ContentLength ?? 0);
    } catch (error) {
      if (isMissing(error)) throw notFoundBlob(address);
      throw error;
    }
  }

  /** Every object under `prefix` of the service's bucket, in key order. */
  async *#listAll(
    prefix: string,
  ): AsyncGenerator<{ key: string; size: number; etag: string; lastModified: Date }> {
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? [])
        yield {
          key: object.Key as string,
          size: object.Size ?? 0,
          etag: unquote(object.ETag),
          lastModified: object.LastModified ?? new Date(0),
        };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async list(bucket: string, options: ListOptions = {}): Promise<BlobList> {
    await this.headBucket(bucket);
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw invalidArgument('limit', 'must be an integer from 1 to 1000');
    const root = `${this.#prefix}${bucket}/`;
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter || undefined;
    // The page token is the service's continuation token; a first page may start after a key.
    const page = await this.#client.send(
      new ListObjectsV2Command({
        Bucket: this.#bucket,
        Prefix: root + prefix,
        MaxKeys: limit,
        ...(delimiter ? { Delimiter: delimiter } : {}),
        ...(options.pageToken
          ? { ContinuationToken: options.pageToken }
          : options.startAfter
            ? { StartAfter: root + options.startAfter }
            : {}),
      }),
    );
    // A composed object lists with the service's ETag; `head` gives the one its upload set.
    const items: BlobSummary[] = (page.Contents ?? []).map((object) => ({
      bucket,
      key: (object.Key as string).slice(root.length),
      size: object.Size ?? 0,
      etag: unquote(object.ETag),
      lastModified: object.LastModified ?? new Date(0),
    }));
    const result: BlobList = {
      items,
      commonPrefixes: (page.CommonPrefixes ?? []).map((p) => (p.Prefix as string).slice(root.length)),
    };
    if (page.IsTruncated && page.NextContinuationToken) result.nextPageToken = page.NextContinuationToken;
    return result;
  }

  async delete(address: BlobAddress): Promise<void> {
    validateBlobAddress(address);
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(address) }));
  }

  async copy(from: BlobAddress, to: BlobAddress, options: PutOptions = {}): Promise<BlobInfo> {
    validateBlobAddress(to);
    const source = await this.head(from);
    await this.#ensureBucket(to.bucket);
    if (source.size > singlePutMaxBytes) {
      const { body } = await this.get(from);
      return this.put(to, body, {
        contentType: options.contentType ?? source.contentType,
        metadata: options.metadata ?? source.metadata,
      });
    }
    const contentType = options.contentType ?? source.contentType;
    const metadata = userMetadata(options.metadata ?? source.metadata);
    // REPLACE always: a composed source's ETag record must not follow its bytes into the copy.
    const copied = await this.#client.send(
      new CopyObjectCommand({
        Bucket: this.#bucket,
        Key: this.#objectKey(to),
        CopySource: encodeURIComponent(`${this.#bucket}/${this.#objectKey(from)}`).replace(/%2F/g, '/'),
        MetadataDirective: 'REPLACE',
        ContentType: contentType,
        Metadata: metadata,
      }),
    );
    return {
      ...to,
      size: source.size,
      etag: unquote(copied.CopyObjectResult?.ETag),
      lastModified: copied.CopyObjectResult?.LastModified ?? new Date(),
      contentType,
      metadata,
    };
  }

  async putPart(uploadId: string, partId: string, body: Readable | Uint8Array | string): Promise<StagedPart> {
    validateStagedId('uploadId', uploadId);
    validateStagedId('partId', partId);
    const file = await this.#spool(body);
    try {
      await this.#send(this.#partKey(uploadId, partId), file, {});
      return { size: file.size, etag: file.md5 };
    } finally {
      await unlink(file.path).catch(() => undefined);
    }
  }

  async composeParts(
    address: BlobAddress,
    uploadId: string,
    partIds: string[],
    options: PutOptions = {},
  ): Promise<BlobInfo> {
    validateBlobAddress(address);
    validateStagedId('uploadId', uploadId);
    for (const partId of partIds) validateStagedId('partId', partId);
    const parts: { key: string; size: number }[] = [];
    for (const partId of partIds) {
      const key = this.#partKey(uploadId, partId);
      try {
        const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
        parts.push({ key, size: head.ContentLength ?? 0 });
      } catch (error) {
        if (isMissing(error))
          throw new TrainyardError('NOT_FOUND', `part "${partId}" of upload "${uploadId}" is not staged`, {
            uploadId,
            partId,
          });
        throw error;
      }
    }
    await this.#ensureBucket(address.bucket);
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    const key = this.#objectKey(address);
    const contentType = options.contentType ?? defaultContentType;
    const readPart = async (part: { key: string; size: number }) => {
      const answer = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: part.key }));
      return { body: answer.Body as Readable, size: part.size };
    };
    const servicePartsFit =
      parts.length > 0 && parts.length <= 10_000 && parts.slice(0, -1).every((p) => p.size >= minPartBytes);
    let etag: string;
    if (servicePartsFit) {
      // The same parts as the client's upload: the service's ETag is the same `<md5 of md5s>-<n>`.
      const metadata = userMetadata(options.metadata);
      if (options.etag !== undefined) metadata[etagMetadataKey] = options.etag;
      const serviceEtag = await this.#multipart(key, contentType, metadata, parts, readPart);
      etag = options.etag ?? serviceEtag;
    } else {
      // Parts S3 would refuse to join (a small one before the last): one object from their bytes.
      const joined = async function* () {
        for (const part of parts) yield* (await readPart(part)).body;
      };
      const file = await this.#spool(Readable.from(joined()));
      try {
        etag = (await this.#send(key, file, options)).etag;
      } finally {
        await unlink(file.path).catch(() => undefined);
      }
    }
    return {
      ...address,
      size,
      etag,
      lastModified: new Date(),
      contentType,
      metadata: userMetadata(options.metadata),
    };
  }

  async discardParts(uploadId: string, partIds?: string[]): Promise<void> {
    validateStagedId('uploadId', uploadId);
    let keys: string[];
    if (partIds) {
      for (const partId of partIds) validateStagedId('partId', partId);
      keys = partIds.map((partId) => this.#partKey(uploadId, partId));
    } else {
      keys = [];
      for await (const object of this.#listAll(`${this.#prefix}.parts/${uploadId}/`)) keys.push(object.key);
    }
    await Promise.all(
      keys.map((Key) => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key }))),
    );
  }
}
