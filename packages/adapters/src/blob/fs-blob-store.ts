import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import {
  formatBlobUri,
  notFoundBlob,
  validateBlobAddress,
  validateBucketName,
} from '@trainyard/core/blob/blob-address';
import type {
  BlobAddress,
  BlobInfo,
  BlobList,
  BlobStore,
  BucketInfo,
  ByteRange,
  ListOptions,
  PutFileOptions,
  PutOptions,
  StagedPart,
} from '@trainyard/core/ports/blob-store';

interface Sidecar {
  etag: string;
  size: number;
  mtimeMs: number;
  contentType: string;
  metadata: Record<string, string>;
}

const defaultContentType = 'application/octet-stream';
/** Read buffer of object bodies: larger than Node's 64 KiB default, for fewer syscalls on big downloads. */
const readChunkBytes = 512 * 1024;
/**
 * Bytes a write may buffer while the previous fs write is in flight. Node's 16 KiB default
 * pauses the source (an HTTP upload) after every chunk until the thread pool answers; with room
 * for 1 MiB the source keeps flowing and the buffered chunks go out in one writev. 8 MiB cost
 * more server CPU in bench/s3 (garbage collection of the larger backlog).
 */
const writeBufferBytes = 1024 * 1024;
/** Read buffer when concatenating multipart parts: one large read per fs round trip. */
const composeChunkBytes = 4 * 1024 * 1024;

/** Writes `length` bytes of `buffer` at `position`, looping over short writes. */
async function writeAll(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    done += bytesWritten;
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException)?.code ?? '');
}

const stagedIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

function validateStagedId(field: string, id: string): void {
  if (!stagedIdPattern.test(id)) throw invalidArgument(field, `"${id}" must be 1-128 of A-Z a-z 0-9 _ -`);
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * BlobStore on a local folder: `s3://bucket/key` is the file `<root>/buckets/bucket/key`, so the
 * data stays readable with ordinary tools. ETags and content types live in sidecar files under
 * `<root>/meta`. Writes go to `<root>/tmp` and are renamed into place, so a reader never sees a
 * partial object. Multipart parts are staged as `<root>/parts/<uploadId>/<partId>`, which `init`
 * leaves alone so uploads survive a restart. As on MinIO's filesystem mode, a key cannot also be a folder of other keys
 * ("a" and "a/b" at once): that write is refused with FAILED_PRECONDITION.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'file';
  readonly #buckets: string;
  readonly #meta: string;
  readonly #tmp: string;
  readonly #parts: string;

  constructor(root: string) {
    const base = resolve(root);
    this.#buckets = join(base, 'buckets');
    this.#meta = join(base, 'meta');
    this.#tmp = join(base, 'tmp');
    this.#parts = join(base, 'parts');
  }

  /** Creates the store's folders and removes temp files a crash may have left. */
  async init(): Promise<this> {
    await rm(this.#tmp, { recursive: true, force: true });
    await Promise.all(
      [this.#buckets, this.#meta, this.#tmp, this.#parts].map((d) => mkdir(d, { recursive: true })),
    );
    return this;
  }

  #dataPath({ bucket, key }: BlobAddress): string {
    return join(this.#buckets, bucket, ...key.split('/'));
  }

  #metaPath({ bucket, key }: BlobAddress): string {
    return join(this.#meta, bucket, ...key.split('/'));
  }

  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    try {
      await mkdir(join(this.#buckets, bucket));
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        throw new TrainyardError('ALREADY_EXISTS', `bucket "${bucket}" already exists`, { bucket });
      }
      throw error;
    }
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    validateBucketName(bucket);
    try {
      const info = await stat(join(this.#buckets, bucket));
      if (info.isDirectory()) return { name: bucket, createdAt: info.birthtime };
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    throw new TrainyardError('NOT_FOUND', `bucket "${bucket}" does not exist`, { bucket });
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const entries = await readdir(this.#buckets, { withFileTypes: true });
    const names = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    names.sort(compareKeys);
    return Promise.all(names.map((name) => this.headBucket(name)));
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.headBucket(bucket);
    const listing = await this.list(bucket, { limit: 1 });
    if (listing.items.length > 0) {
      throw new TrainyardError('FAILED_PRECONDITION', `bucket "${bucket}" is not empty`, { bucket });
    }
    await rm(join(this.#buckets, bucket), { recursive: true, force: true });
    await rm(join(this.#meta, bucket), { recursive: true, force: true });
  }

  async put(
    address: BlobAddress,
    body: Readable | Uint8Array | string,
    options: PutOptions = {},
  ): Promise<BlobInfo> {
    validateBlobAddress(address);
    // A given ETag (multipart) makes hashing the bytes again pointless.
    return this.#commitTemp(address, await this.#writeTemp(body, options.etag === undefined), options);
  }

  /** Renames a finished temp file into place and writes its sidecar; the temp file is gone after. */
  async #commitTemp(
    address: BlobAddress,
    written: StagedPart & { path: string },
    options: PutOptions,
  ): Promise<BlobInfo> {
    try {
      const dataPath = this.#dataPath(address);
      await this.#placeFile(written.path, dataPath, address);
      const { mtimeMs } = await stat(dataPath);
      const sidecar: Sidecar = {
        etag: options.etag ?? written.etag,
        size: written.size,
        mtimeMs,
        contentType: options.contentType ?? defaultContentType,
        metadata: options.metadata ?? {},
      };
      await this.#writeSidecar(address, sidecar);
      return this.#info(address, sidecar);
    } finally {
      await rm(written.path, { force: true });
    }
  }

  /**
   * With `move` and the file on the store's filesystem, a rename: the file is neither read nor
   * written when `options.etag` is given (else it is read once for its MD5).
   */
  async putFile(address: BlobAddress, localPath: string, options: PutFileOptions = {}): Promise<BlobInfo> {
    validateBlobAddress(address);
    const source = resolve(localPath);
    const found = await stat(source).catch(() => undefined);
    if (!found?.isFile()) {
      throw new TrainyardError('NOT_FOUND', `file ${source} does not exist`, { path: source });
    }
    const { move, ...putOptions } = options;
    if (move) {
      let etag = options.etag;
      if (etag === undefined) {
        const md5 = createHash('md5');
        await pipeline(createReadStream(source, { highWaterMark: readChunkBytes }), md5);
        etag = md5.digest('hex');
      }
      const dataPath = this.#dataPath(address);
      let moved = false;
      try {
        await this.#placeFile(source, dataPath, address);
        moved = true;
      } catch (error) {
        // Another filesystem: copy below.
        if (!isErrno(error, 'EXDEV')) throw error;
      }
      if (moved) {
        const { mtimeMs, size } = await stat(dataPath);
        const sidecar: Sidecar = {
          etag,
          size,
          mtimeMs,
          contentType: options.contentType ?? defaultContentType,
          metadata: options.metadata ?? {},
        };
        await this.#writeSidecar(address, sidecar);
        return this.#info(address, sidecar);
      }
    }
    const info = await this.put(
      address,
      createReadStream(source, { highWaterMark: readChunkBytes }),
      putOptions,
    );
    if (move) await rm(source, { force: true });
    return info;
  }

  /** Streams `body` into a fresh temp file, measuring size and MD5 on the way. */
  async #writeTemp(
    body: Readable | Uint8Array | string,
    hash = true,
  ): Promise<StagedPart & { path: string }> {
    const path = join(this.#tmp, randomUUID());
    const md5 = hash ? createHash('md5') : undefined;
    let size = 0;
    const source =
      typeof body === 'string' || body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
    const meter = new Transform({
      highWaterMark: writeBufferBytes,
      transform(chunk: Buffer, _encoding, done) {
        md5?.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        source,
        meter,
        createWriteStream(path, { flags: 'wx', highWaterMark: writeBufferBytes }),
      );
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, size, etag: md5?.digest('hex') ?? '' };
  }

  async putPart(uploadId: string, partId: string, body: Readable | Uint8Array | string): Promise<StagedPart> {
    validateStagedId('uploadId', uploadId);
    validateStagedId('partId', partId);
    const written = await this.#writeTemp(body);
    try {
      const dir = join(this.#parts, uploadId);
      await mkdir(dir, { recursive: true });
      await rename(written.path, join(dir, partId));
      return { size: written.size, etag: written.etag };
    } finally {
      await rm(written.path, { force: true });
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
    const paths = partIds.map((partId) => join(this.#parts, uploadId, partId));
    for (const [i, path] of paths.entries()) {
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        throw new TrainyardError('NOT_FOUND', `part ${partIds[i]} of upload ${uploadId} is not staged`, {
          uploadId,
          partId: partIds[i],
        });
      }
    }
    return this.#commitTemp(address, await this.#concatenate(paths, options.etag === undefined), options);
  }

  /**
   * Joins files into a fresh temp file with positioned reads and writes through two reused
   * buffers (the next read overlaps the previous write): no stream, no per-chunk allocation.
   */
  async #concatenate(paths: string[], hash: boolean): Promise<StagedPart & { path: string }> {
    const path = join(this.#tmp, randomUUID());
    const md5 = hash ? createHash('md5') : undefined;
    const buffers = [Buffer.allocUnsafe(composeChunkBytes), Buffer.allocUnsafe(composeChunkBytes)];
    let size = 0;
    const target = await open(path, 'wx');
    try {
      let writing: Promise<void> = Promise.resolve();
      let turn = 0;
      for (const partPath of paths) {
        const part = await open(partPath, 'r');
        try {
          for (;;) {
            // Never the buffer of the write in flight (a part's final empty read keeps its turn).
            const buffer = buffers[turn % 2] as Buffer;
            const { bytesRead } = await part.read(buffer, 0, buffer.length, null);
            if (bytesRead === 0) break;
            turn++;
            md5?.update(buffer.subarray(0, bytesRead));
            // The buffer read next is the one this write's predecessor used: wait for that first.
            await writing;
            writing = writeAll(target, buffer, bytesRead, size);
            // Handled here so a failure while the next read is pending is not an unhandled rejection.
            writing.catch(() => undefined);
            size += bytesRead;
          }
        } finally {
          await part.close();
        }
      }
      await writing;
      await target.close();
    } catch (error) {
      await target.close().catch(() => undefined);
      await rm(path, { force: true });
      throw error;
    }
    return { path, size, etag: md5?.digest('hex') ?? '' };
  }

  async discardParts(uploadId: string, partIds?: string[]): Promise<void> {
    validateStagedId('uploadId', uploadId);
    const dir = join(this.#parts, uploadId);
    if (partIds === undefined) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    for (const partId of partIds) {
      validateStagedId('partId', partId);
      await rm(join(dir, partId), { force: true });
    }
  }

  /** Renames a finished temp file into place, creating parent folders (retrying if a delete races). */
  async #placeFile(tmp: string, target: string, address: BlobAddress): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(join(target, '..'), { recursive: true });
        await rename(tmp, target);
        return;
      } catch (error) {
        if (isErrno(error, 'ENOTDIR', 'EISDIR', 'EEXIST') || (isErrno(error, 'ENOTEMPTY') && attempt > 0)) {
          throw new TrainyardError(
            'FAILED_PRECONDITION',
            `${formatBlobUri(address)} conflicts with an existing object or prefix of the same name`,
            { bucket: address.bucket, key: address.key },
          );
        }
        if (!isErrno(error, 'ENOENT', 'ENOTEMPTY') || attempt >= 3) throw error;
      }
    }
  }

  async #writeSidecar(address: BlobAddress, sidecar: Sidecar): Promise<void> {
    const tmp = join(this.#tmp, `${randomUUID()}.json`);
    await writeFile(tmp, JSON.stringify(sidecar));
    try {
      await this.#placeFile(tmp, this.#metaPath(address), address);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  #info(address: BlobAddress, sidecar: Sidecar): BlobInfo {
    return {
      bucket: address.bucket,
      key: address.key,
      size: sidecar.size,
      etag: sidecar.etag,
      lastModified: new Date(sidecar.mtimeMs),
      contentType: sidecar.contentType,
      metadata: sidecar.metadata,
    };
  }

  /**
   * Reads the sidecar, rebuilding it when a crash left it missing or stale (the data file is the
   * truth: its size and mtime must match what the sidecar recorded).
   */
  async #sidecarOf(address: BlobAddress, size: number, mtimeMs: number): Promise<Sidecar> {
    try {
      const sidecar = JSON.parse(await readFile(this.#metaPath(address), 'utf8')) as Sidecar;
      if (sidecar.size === size && sidecar.mtimeMs === mtimeMs) return sidecar;
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTDIR') && !(error instanceof SyntaxError)) throw error;
    }
    const md5 = createHash('md5');
    await pipeline(createReadStream(this.#dataPath(address)), md5);
    const rebuilt: Sidecar = {
      etag: md5.digest('hex'),
      size,
      mtimeMs,
      contentType: defaultContentType,
      metadata: {},
    };
    await this.#writeSidecar(address, rebuilt).catch(() => undefined);
    return rebuilt;
  }

  async head(address: BlobAddress): Promise<BlobInfo> {
    validateBlobAddress(address);
    try {
      const info = await stat(this.#dataPath(address));
      if (!info.isFile()) throw notFoundBlob(address);
      return this.#info(address, await this.#sidecarOf(address, info.size, info.mtimeMs));
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw notFoundBlob(address);
      throw error;
    }
  }

  /** The object's file, for readers such as DuckDB that need a local path. Read it, never write it. */
  async localPath(address: BlobAddress): Promise<string> {
    await this.head(address);
    return this.#dataPath(address);
  }

  async get(address: BlobAddress, range?: ByteRange): Promise<{ info: BlobInfo; body: Readable }> {
    validateBlobAddress(address);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#dataPath(address), 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw notFoundBlob(address);
      throw error;
    }
    try {
      // Stat the open file, not the path: a concurrent overwrite renames a new file in, and this
      // reader keeps the object it opened.
      const stats = await handle.stat();
      if (!stats.isFile()) throw notFoundBlob(address);
      const info = this.#info(address, await this.#sidecarOf(address, stats.size, stats.mtimeMs));
      if (range && (range.start < 0 || range.start > range.end || range.start >= stats.size)) {
        throw invalidArgument(
          'range',
          `bytes ${range.start}-${range.end} are outside the object of ${stats.size} bytes`,
        );
      }
      const streamRange = range ? { start: range.start, end: Math.min(range.end, stats.size - 1) } : {};
      return {
        info,
        body: handle.createReadStream({ ...streamRange, autoClose: true, highWaterMark: readChunkBytes }),
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async list(bucket: string, options: ListOptions = {}): Promise<BlobList> {
    await this.headBucket(bucket);
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw invalidArgument('limit', 'must be an integer from 1 to 1000');
    }
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter || undefined;
    const after = options.pageToken
      ? Buffer.from(options.pageToken, 'base64url').toString('utf8')
      : options.startAfter || undefined;
    const items: BlobInfo[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    let truncated = false;
    const bucketDir = join(this.#buckets, bucket);
    const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    for await (const key of this.#walk(bucketDir, startDir, prefix, after)) {
      let commonPrefix: string | undefined;
      if (delimiter !== undefined) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at >= 0) commonPrefix = key.slice(0, at + delimiter.length);
      }
      if (commonPrefix !== undefined) {
        if (commonPrefix === commonPrefixes[commonPrefixes.length - 1]) continue;
        if (after !== undefined && compareKeys(commonPrefix, after) <= 0) continue;
      }
      if (items.length + commonPrefixes.length === limit) {
        truncated = true;
        break;
      }
      if (commonPrefix !== undefined) {
        commonPrefixes.push(commonPrefix);
        last = commonPrefix;
        continue;
      }
      try {
        items.push(await this.head({ bucket, key }));
        last = key;
      } catch (error) {
        if (!TrainyardError.is(error, 'NOT_FOUND')) throw error; // deleted while listing
      }
    }
    const page: BlobList = { items, commonPrefixes };
    if (truncated && last !== undefined) page.nextPageToken = Buffer.from(last, 'utf8').toString('base64url');
    return page;
  }

  /** Yields the keys under `relDir` in UTF-8 byte order, pruning folders outside `prefix` or before `after`. */
  async *#walk(
    bucketDir: string,
    relDir: string,
    prefix: string,
    after: string | undefined,
  ): AsyncGenerator<string> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(join(bucketDir, ...relDir.split('/')), { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    const children = entries
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ path: relDir + e.name + (e.isDirectory() ? '/' : ''), dir: e.isDirectory() }));
    children.sort((a, b) => compareKeys(a.path, b.path));
    for (const child of children) {
      if (child.dir) {
        if (!(prefix.startsWith(child.path) || child.path.startsWith(prefix))) continue;
        if (after !== undefined && compareKeys(child.path, after) < 0 && !after.startsWith(child.path))
          continue;
        yield* this.#walk(bucketDir, child.path, prefix, after);
      } else {
        if (!child.path.startsWith(prefix)) continue;
        if (after !== undefined && compareKeys(child.path, after) <= 0) continue;
        yield child.path;
      }
    }
  }

  async delete(address: BlobAddress): Promise<void> {
    validateBlobAddress(address);
    for (const [root, path] of [
      [join(this.#buckets, address.bucket), this.#dataPath(address)],
      [join(this.#meta, address.bucket), this.#metaPath(address)],
    ] as const) {
      try {
        await unlink(path);
      } catch (error) {
        if (!isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw error;
        continue;
      }
      await this.#pruneEmptyParents(root, path);
    }
  }

  /** S3 has no folders: remove the ones a delete left empty, up to the bucket. */
  async #pruneEmptyParents(root: string, path: string): Promise<void> {
    let dir = join(path, '..');
    while (dir.startsWith(root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty, or already gone
      }
      dir = join(dir, '..');
    }
  }

  async copy(from: BlobAddress, to: BlobAddress, options?: PutOptions): Promise<BlobInfo> {
    const source = await this.get(from);
    return this.put(to, source.body, {
      contentType: options?.contentType ?? source.info.contentType,
      metadata: options?.metadata ?? source.info.metadata,
      ...(options?.etag ? { etag: options.etag } : {}),
    });
  }
}
