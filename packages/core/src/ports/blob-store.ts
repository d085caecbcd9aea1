import type { Readable } from 'node:stream';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/** An object's address: `s3://bucket/key`. */
export interface BlobAddress {
  bucket: string;
  key: string;
}

export interface BlobInfo extends BlobAddress {
  /** Bytes. */
  size: number;
  /** S3-style ETag without quotes: hex MD5 of the content for single-part writes. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** User metadata (S3 `x-amz-meta-*`). */
  metadata: Record<string, string>;
}

/** For callers that hash a body themselves as it streams. */
export interface BodyMd5Option {
  /**
   * The hex MD5 of the body, known once the body has ended: a caller that already hashes the
   * body (the S3 door does, on a worker thread) offers it so that a store which would hash the
   * body itself can ask for it instead, before it commits the write (the filesystem store does;
   * a store that must hash anyway may ignore it). Returning undefined then fails the write.
   */
  bodyMd5?: () => string | undefined;
}

export interface PutOptions extends BodyMd5Option {
  contentType?: string;
  metadata?: Record<string, string>;
  /** Overrides the computed ETag (multipart uploads use the `<md5-of-md5s>-<parts>` form). */
  etag?: string;
}

export interface PutFileOptions extends PutOptions {
  /**
   * Moves the file into the store instead of copying it, when the store keeps files on the same
   * filesystem (a rename: no bytes read or written); elsewhere the file is copied and then
   * removed. On failure the file is left where it was. Default false: the file is copied and kept.
   */
  move?: boolean;
}

export interface ListOptions extends PageRequest {
  prefix?: string;
  /** Groups keys by the part after `prefix` up to this delimiter into `commonPrefixes`, as S3 does. */
  delimiter?: string;
  /** Lists keys strictly after this one (S3 StartAfter); the page token takes precedence. */
  startAfter?: string;
}

/**
 * A listed object: what an S3 listing carries. Content type and user metadata come from `head`
 * (a remote store's listing does not return them).
 */
export type BlobSummary = Pick<BlobInfo, 'bucket' | 'key' | 'size' | 'etag' | 'lastModified'>;

export interface BlobList extends Page<BlobSummary> {
  commonPrefixes: string[];
}

/** A byte range, both ends inclusive as in HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A staged part of a multipart upload: its size in bytes and the hex MD5 of its bytes. */
export interface StagedPart {
  size: number;
  etag: string;
}

export interface BucketInfo {
  name: string;
  createdAt: Date;
}

/**
 * Object storage addressed as `s3://bucket/key`. Writes are atomic: a reader sees the old object
 * or the whole new one, never part of a write. Bodies stream; nothing holds a whole object.
 */
export interface BlobStore {
  readonly kind: string;
  createBucket(bucket: string): Promise<void>;
  /** @throws NOT_FOUND */
  headBucket(bucket: string): Promise<BucketInfo>;
  listBuckets(): Promise<BucketInfo[]>;
  /** @throws NOT_FOUND, FAILED_PRECONDITION when the bucket still holds objects */
  deleteBucket(bucket: string): Promise<void>;
  /** Creates the bucket when needed. @throws INVALID_ARGUMENT for keys that escape the store */
  put(address: BlobAddress, body: Readable | Uint8Array | string, options?: PutOptions): Promise<BlobInfo>;
  /**
   * Stores a local file as the object, as atomically as `put`. Pass `options.etag` (the hex MD5
   * of the file) when the caller already hashed it, so the store need not read the file again;
   * with `move`, the filesystem store then only renames it into place. Stores without local
   * files stream it as `put` does.
   * @throws NOT_FOUND when `localPath` is not a file; INVALID_ARGUMENT as for `put`
   */
  putFile(address: BlobAddress, localPath: string, options?: PutFileOptions): Promise<BlobInfo>;
  /** @throws NOT_FOUND; INVALID_ARGUMENT for a range outside the object */
  get(address: BlobAddress, range?: ByteRange): Promise<{ info: BlobInfo; body: Readable }>;
  /** @throws NOT_FOUND */
  head(address: BlobAddress): Promise<BlobInfo>;
  /** Keys in UTF-8 byte order; pages are stable while the listing runs. */
  list(bucket: string, options?: ListOptions): Promise<BlobList>;
  /** Deleting a missing key succeeds, as in S3. */
  delete(address: BlobAddress): Promise<void>;
  /** @throws NOT_FOUND when the source is missing */
  copy(from: BlobAddress, to: BlobAddress, options?: PutOptions): Promise<BlobInfo>;
  /**
   * A local file holding the object, when the store keeps objects as files (the filesystem
   * store): readers such as DuckDB read it in place instead of downloading a copy. The file must
   * be treated as read-only. Absent on remote stores. @throws NOT_FOUND
   */
  localPath?(address: BlobAddress): Promise<string>;
  /**
   * Stages one part of a multipart upload outside every bucket: get and list never see it, and it
   * stays across restarts until composed or discarded. Writing the same `partId` again replaces it.
   * `uploadId` and `partId` are 1-128 characters of A-Z a-z 0-9 `_` `-`.
   * @throws INVALID_ARGUMENT for other ids
   */
  putPart(
    uploadId: string,
    partId: string,
    body: Readable | Uint8Array | string,
    options?: BodyMd5Option,
  ): Promise<StagedPart>;
  /**
   * Makes staged parts, in the order given, one object, as atomically as `put` (nothing holds a
   * part in memory). A store may copy them into one object or keep them and compose the object on
   * read (the filesystem store does: no second write); either way the object outlives
   * {@link discardParts}, which only removes the staged copies. Pass `options.etag` for S3's
   * `<md5 of md5s>-<n>` form.
   * @throws NOT_FOUND when a part is not staged (nothing is written then)
   */
  composeParts(
    address: BlobAddress,
    uploadId: string,
    partIds: string[],
    options?: PutOptions,
  ): Promise<BlobInfo>;
  /** Removes the given staged parts of an upload, or all of them when `partIds` is omitted. Missing ones are fine. */
  discardParts(uploadId: string, partIds?: string[]): Promise<void>;
  /** Releases connections (a remote store); the store is not used afterwards. */
  close?(): void;
}
