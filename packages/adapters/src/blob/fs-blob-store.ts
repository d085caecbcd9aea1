import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  link,
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
  BodyMd5Option,
  BucketInfo,
  ByteRange,
  ListOptions,
  PutFileOptions,
  PutOptions,
  StagedPart,
} from '@trainyard/core/ports/blob-store';
import { type FileSpan, PartsReadStream } from './parts-read-stream.js';

interface Sidecar {
  etag: string;
  /** The object's size (for a composed object, the sum of its parts). */
  size: number;
  /** mtime of the file at the data path, which the sidecar must match to be believed. */
  mtimeMs: number;
  contentType: string;
  metadata: Record<string, string>;
  /** Set for a composed object: its folder under `<root>/composed` and the reference file's size. */
  composed?: { id: string; fileSize: number };
}

/**
 * A multipart object kept as its parts: `<root>/composed/<id>/manifest.json` and the parts as
 * hard links `0`, `1`, … of the staged files. The data path holds a small reference file naming
 * the id and a random token; only a reference whose token matches the manifest is believed, so
 * no body a client uploads can pass for one (the token never leaves the server).
 */
interface ComposedManifest {
  id: string;
  token: string;
  bucket: string;
  key: string;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  /** Bytes of each part, in order. */
  parts: number[];
}

const composedRefPrefix = 'trainyard-composed-object:v1:';
const composedRefPattern = /^trainyard-composed-object:v1:([0-9a-f-]{36}):([0-9a-f]{32})\n$/;
/** Larger data files are never references (one read of a small file decides). */
const composedRefMaxBytes = 128;

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
/** Read buffer when joining a composed object's parts into one file: one large read per fs round trip. */
const composeChunkBytes = 4 * 1024 * 1024;

/** Writes `length` bytes of `buffer` at `position`, looping over short writes. */
async function writeAll(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** The caller's MD5 of a body it hashed itself (see BodyMd5Option). */
function givenMd5(bodyMd5: () => string | undefined, path: string): string {
  const md5 = bodyMd5();
  if (md5 === undefined || !/^[0-9a-f]{32}$/.test(md5)) {
    throw new TrainyardError('INTERNAL', `no MD5 was given for the body written to ${path}`);
  }
  return md5;
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException)?.code ?? '');
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
  readonly #composed: string;

  constructor(root: string) {
    const base = resolve(root);
    this.#buckets = join(base, 'buckets');
    this.#meta = join(base, 'meta');
    this.#tmp = join(base, 'tmp');
    this.#parts = join(base, 'parts');
    this.#composed = join(base, 'composed');
  }

  /**
   * Creates the store's folders and removes what a crash may have left: temp files, and composed
   * objects no data path refers to (a completion cut short before its reference was placed, or
   * an overwrite or delete cut short before it removed the old parts).
   */
  async init(): Promise<this> {
    await rm(this.#tmp, { recursive: true, force: true });
    await Promise.all(
      [this.#buckets, this.#meta, this.#tmp, this.#parts, this.#composed].map((d) =>
        mkdir(d, { recursive: true }),
      ),
    );
    for (const id of await readdir(this.#composed)) {
      // Anything unreadable (a half-written manifest) counts as unreferenced.
      const referenced = await (async () => {
        const manifest = await this.#readManifest(id);
        return (await this.#composedAt(this.#dataPath(manifest)))?.id === id;
      })().catch(() => false);
      if (!referenced) await rm(join(this.#composed, id), { recursive: true, force: true });
    }
    return this;
  }

  async #readManifest(id: string): Promise<ComposedManifest> {
    return JSON.parse(await readFile(join(this.#composed, id, 'manifest.json'), 'utf8')) as ComposedManifest;
  }

  /**
   * The composed object whose reference file is at `dataPath`, or undefined when the file there
   * is an ordinary object (or missing). A reference is believed only when its manifest exists,
   * names this address and holds the same token.
   */
  async #composedAt(dataPath: string, fileSize?: number): Promise<ComposedManifest | undefined> {
    let text: string;
    try {
      if ((fileSize ?? (await stat(dataPath)).size) > composedRefMaxBytes) return undefined;
      text = await readFile(dataPath, 'latin1');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      throw error;
    }
    const match = composedRefPattern.exec(text);
    if (!match) return undefined;
    const manifest = await this.#readManifest(match[1] as string).catch(() => undefined);
    if (!manifest || manifest.token !== match[2] || this.#dataPath(manifest) !== dataPath) return undefined;
    return manifest;
  }

  /** Removes a composed object's parts once nothing refers to them (best effort: init sweeps the rest). */
  async #dropComposed(id: string | undefined): Promise<void> {
    if (id !== undefined)
      await rm(join(this.#composed, id), { recursive: true, force: true }).catch(() => {});
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
    // A given ETag (multipart) or a caller's own MD5 makes hashing the bytes here pointless.
    const written = await this.#writeTemp(body, options.etag === undefined && options.bodyMd5 === undefined);
    if (options.etag === undefined && options.bodyMd5) {
      try {
        written.etag = givenMd5(options.bodyMd5, written.path);
      } catch (error) {
        await rm(written.path, { force: true });
        throw error;
      }
    }
    return this.#commitTemp(address, written, options);
  }

  /**
   * Renames a finished temp file into place and writes its sidecar; the temp file is gone after.
   * With `composed`, the temp file is that object's reference and the size is the parts' sum.
   */
  async #commitTemp(
    address: BlobAddress,
    written: StagedPart & { path: string },
    options: PutOptions,
    composed?: ComposedManifest,
  ): Promise<BlobInfo> {
    try {
      const dataPath = this.#dataPath(address);
      const replaced = await this.#placeReplacing(written.path, dataPath, address);
      const { mtimeMs } = await stat(dataPath);
      const sidecar: Sidecar = {
        etag: options.etag ?? written.etag,
        size: composed ? composed.parts.reduce((sum, n) => sum + n, 0) : written.size,
        mtimeMs,
        contentType: options.contentType ?? defaultContentType,
        metadata: options.metadata ?? {},
        ...(composed ? { composed: { id: composed.id, fileSize: written.size } } : {}),
      };
      await this.#writeSidecar(address, sidecar);
      await this.#dropComposed(replaced);
      return this.#info(address, sidecar);
    } finally {
      await rm(written.path, { force: true });
    }
  }

  /** {@link #placeFile}, returning the id of the composed object it replaced, if any. */
  async #placeReplacing(tmp: string, dataPath: string, address: BlobAddress): Promise<string | undefined> {
    const previous = await this.#composedAt(dataPath);
    await this.#placeFile(tmp, dataPath, address);
    return previous?.id;
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
      let replaced: string | undefined;
      try {
        replaced = await this.#placeReplacing(source, dataPath, address);
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
        await this.#dropComposed(replaced);
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

  async putPart(
    uploadId: string,
    partId: string,
    body: Readable | Uint8Array | string,
    options: BodyMd5Option = {},
  ): Promise<StagedPart> {
    validateStagedId('uploadId', uploadId);
    validateStagedId('partId', partId);
    const written = await this.#writeTemp(body, options.bodyMd5 === undefined);
    try {
      if (options.bodyMd5) written.etag = givenMd5(options.bodyMd5, written.path);
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
    const sizes: number[] = [];
    for (const [i, path] of paths.entries()) {
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        throw new TrainyardError('NOT_FOUND', `part ${partIds[i]} of upload ${uploadId} is not staged`, {
          uploadId,
          partId: partIds[i],
        });
      }
      sizes.push(info.size);
    }
    let etag = options.etag;
    if (etag === undefined) {
      const md5 = createHash('md5');
      for (const path of paths) {
        for await (const chunk of createReadStream(path, { highWaterMark: readChunkBytes }))
          md5.update(chunk);
      }
      etag = md5.digest('hex');
    }
    // Compose on read: the parts stay as written (hard links, no byte copied), a manifest lists
    // them, and the data path gets a reference. Until that reference is renamed into place the
    // object does not exist (init removes the folder); after it, the whole object does.
    const id = randomUUID();
    const manifest: ComposedManifest = {
      id,
      token: randomBytes(16).toString('hex'),
      bucket: address.bucket,
      key: address.key,
      etag,
      contentType: options.contentType ?? defaultContentType,
      metadata: options.metadata ?? {},
      parts: sizes,
    };
    const folder = join(this.#composed, id);
    const reference = join(this.#tmp, randomUUID());
    try {
      await mkdir(folder);
      for (const [i, path] of paths.entries()) {
        const target = join(folder, String(i));
        // A filesystem without hard links gets a copy (slower, same result).
        await link(path, target).catch((error: unknown) => {
          if (isErrno(error, 'ENOENT')) throw error;
          return copyFile(path, target);
        });
      }
      await writeFile(join(folder, 'manifest.json'), JSON.stringify(manifest));
      const text = `${composedRefPrefix}${id}:${manifest.token}\n`;
      await writeFile(reference, text, { flag: 'wx' });
      return await this.#commitTemp(
        address,
        { path: reference, size: Buffer.byteLength(text), etag },
        { ...options, etag },
        manifest,
      );
    } catch (error) {
      // Not placed (a conflicting key, a failed write): nothing refers to the folder.
      if ((await this.#composedAt(this.#dataPath(address)).catch(() => undefined))?.id !== id) {
        await this.#dropComposed(id);
      }
      throw error;
    }
  }

  /**
   * Joins files into a fresh temp file with positioned reads and writes through two reused
   * buffers (the next read overlaps the previous write): no stream, no per-chunk allocation.
   */
  async #concatenate(paths: string[]): Promise<string> {
    const path = join(this.#tmp, randomUUID());
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
    return path;
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
      const fileSize = sidecar.composed ? sidecar.composed.fileSize : sidecar.size;
      if (fileSize === size && sidecar.mtimeMs === mtimeMs) return sidecar;
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTDIR') && !(error instanceof SyntaxError)) throw error;
    }
    const manifest = await this.#composedAt(this.#dataPath(address), size);
    if (manifest) {
      // A crash between placing a composed object's reference and writing its sidecar.
      const rebuilt: Sidecar = {
        etag: manifest.etag,
        size: manifest.parts.reduce((sum, n) => sum + n, 0),
        mtimeMs,
        contentType: manifest.contentType,
        metadata: manifest.metadata,
        composed: { id: manifest.id, fileSize: size },
      };
      await this.#writeSidecar(address, rebuilt).catch(() => undefined);
      return rebuilt;
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
    return this.#info(address, await this.#headSidecar(address));
  }

  async #headSidecar(address: BlobAddress): Promise<Sidecar> {
    validateBlobAddress(address);
    try {
      const info = await stat(this.#dataPath(address));
      if (!info.isFile()) throw notFoundBlob(address);
      return await this.#sidecarOf(address, info.size, info.mtimeMs);
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) throw notFoundBlob(address);
      throw error;
    }
  }

  /**
   * The object's file, for readers such as DuckDB that need a local path. Read it, never write
   * it. A composed (multipart) object is joined into one file inside its folder on first use,
   * which goes with the object when it is deleted or overwritten.
   */
  async localPath(address: BlobAddress): Promise<string> {
    const info = await this.#headSidecar(address);
    if (!info.composed) return this.#dataPath(address);
    const folder = join(this.#composed, info.composed.id);
    const joined = join(folder, 'joined');
    if (await stat(joined).catch(() => undefined)) return joined;
    const manifest = await this.#readManifest(info.composed.id);
    await rename(await this.#concatenate(manifest.parts.map((_, i) => join(folder, String(i)))), joined);
    return joined;
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
      const sidecar = await this.#sidecarOf(address, stats.size, stats.mtimeMs);
      const info = this.#info(address, sidecar);
      if (range && (range.start < 0 || range.start > range.end || range.start >= info.size)) {
        throw invalidArgument(
          'range',
          `bytes ${range.start}-${range.end} are outside the object of ${info.size} bytes`,
        );
      }
      if (sidecar.composed) {
        await handle.close();
        const body = await this.#openComposed(address, sidecar.composed.id, info.size, range);
        return { info, body };
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

  /**
   * Opens the parts of a composed object that `range` touches, all before streaming starts, so an
   * overwrite or delete racing the download cannot remove them from under it.
   */
  async #openComposed(
    address: BlobAddress,
    id: string,
    size: number,
    range: ByteRange | undefined,
  ): Promise<Readable> {
    const first = range?.start ?? 0;
    const last = Math.min(range?.end ?? size - 1, size - 1);
    const spans: FileSpan[] = [];
    try {
      const manifest = await this.#readManifest(id);
      let offset = 0;
      for (const [i, partSize] of manifest.parts.entries()) {
        const end = offset + partSize - 1;
        if (partSize > 0 && end >= first && offset <= last) {
          const file = await open(join(this.#composed, id, String(i)), 'r');
          spans.push({ file, start: Math.max(first - offset, 0), end: Math.min(last, end) - offset });
        }
        offset += partSize;
      }
    } catch (error) {
      await Promise.allSettled(spans.map((s) => s.file.close()));
      // Replaced or deleted between reading the sidecar and opening the parts.
      if (isErrno(error, 'ENOENT')) throw notFoundBlob(address);
      throw error;
    }
    return new PartsReadStream(spans, readChunkBytes);
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
    const composed = await this.#composedAt(this.#dataPath(address));
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
    await this.#dropComposed(composed?.id);
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
