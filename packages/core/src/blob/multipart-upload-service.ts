import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { BlobAddress, BlobInfo, BlobStore, BodyMd5Option } from '../ports/blob-store.js';
import type { MultipartUpload, MultipartUploadStore, UploadedPart } from '../ports/multipart-upload-store.js';
import { validateBlobAddress } from './blob-address.js';

/** Every part but the last must be at least this large (S3's rule): 5 MiB. */
export const minPartSize = 5 * 1024 * 1024;
export const maxPartNumber = 10_000;

/** Why a completion was refused; the S3 door names these InvalidPart, InvalidPartOrder, EntityTooSmall. */
export type CompletionProblem = 'invalid-part' | 'part-order' | 'entity-too-small' | 'no-parts';

function refuse(problem: CompletionProblem, message: string, extra: Record<string, unknown> = {}) {
  return new TrainyardError('INVALID_ARGUMENT', message, { field: 'parts', problem, ...extra });
}

/** S3's ETag of a multipart object: hex MD5 of the concatenated binary MD5s of the parts, then `-<count>`. */
export function multipartEtag(partEtags: string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(etag, 'hex'));
  return `${md5.digest('hex')}-${partEtags.length}`;
}

function stripQuotes(etag: string): string {
  return etag.trim().replace(/^"|"$/g, '');
}

/**
 * S3 multipart uploads over a BlobStore (staged part bytes) and a MultipartUploadStore (records):
 * parts survive a restart, completion streams them into one object with the `-N` ETag.
 */
export class MultipartUploadService {
  readonly #blobs: BlobStore;
  readonly #uploads: MultipartUploadStore;

  constructor(blobs: BlobStore, uploads: MultipartUploadStore) {
    this.#blobs = blobs;
    this.#uploads = uploads;
  }

  /** @throws NOT_FOUND when the bucket does not exist; INVALID_ARGUMENT for a bad key */
  async create(
    address: BlobAddress,
    options: { contentType?: string; metadata?: Record<string, string>; initiatedBy: string },
  ): Promise<MultipartUpload> {
    validateBlobAddress(address);
    await this.#blobs.headBucket(address.bucket);
    return this.#uploads.create({
      uploadId: randomUUID().replaceAll('-', ''),
      bucket: address.bucket,
      key: address.key,
      contentType: options.contentType ?? 'application/octet-stream',
      metadata: options.metadata ?? {},
      initiatedBy: options.initiatedBy,
      initiatedAt: new Date(),
    });
  }

  /** The upload, checked to belong to `address`. @throws NOT_FOUND */
  async get(uploadId: string, address: BlobAddress): Promise<MultipartUpload> {
    const upload = /^[A-Za-z0-9_-]{1,128}$/.test(uploadId) ? await this.#uploads.get(uploadId) : undefined;
    if (!upload || upload.bucket !== address.bucket || upload.key !== address.key) {
      throw new TrainyardError('NOT_FOUND', `multipart upload ${uploadId} does not exist for this key`, {
        uploadId,
      });
    }
    return upload;
  }

  /** Stages one part, replacing an earlier upload of the same number. @throws NOT_FOUND, INVALID_ARGUMENT */
  async uploadPart(
    uploadId: string,
    address: BlobAddress,
    partNumber: number,
    body: Readable,
    options: BodyMd5Option = {},
  ): Promise<UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > maxPartNumber) {
      throw invalidArgument('partNumber', `must be an integer from 1 to ${maxPartNumber}`);
    }
    await this.get(uploadId, address);
    const partId = `${partNumber}-${randomUUID()}`;
    const staged = await this.#blobs.putPart(uploadId, partId, body, options);
    const part: UploadedPart = { partNumber, partId, ...staged, lastModified: new Date() };
    try {
      await this.#uploads.putPart(uploadId, part);
    } catch (error) {
      await this.#blobs.discardParts(uploadId, [partId]);
      throw error;
    }
    return part;
  }

  async listParts(
    uploadId: string,
    address: BlobAddress,
    options: { afterPartNumber?: number; limit?: number } = {},
  ): Promise<{ upload: MultipartUpload; parts: UploadedPart[]; truncated: boolean }> {
    const upload = await this.get(uploadId, address);
    const limit = options.limit ?? 1000;
    const parts = await this.#uploads.listParts(uploadId, { ...options, limit: limit + 1 });
    return { upload, parts: parts.slice(0, limit), truncated: parts.length > limit };
  }

  list(bucket: string, options?: { prefix?: string; limit?: number }): Promise<MultipartUpload[]> {
    return this.#uploads.list(bucket, options);
  }

  /**
   * Joins the listed parts (ascending part numbers, ETags as the client got them) into the object.
   * @throws NOT_FOUND; INVALID_ARGUMENT with `details.problem` ({@link CompletionProblem})
   */
  async complete(
    uploadId: string,
    address: BlobAddress,
    requested: { partNumber: number; etag: string }[],
  ): Promise<BlobInfo> {
    const upload = await this.get(uploadId, address);
    if (requested.length === 0) throw refuse('no-parts', 'a completion must name at least one part');
    const stored = new Map((await this.#uploads.listParts(uploadId)).map((p) => [p.partNumber, p]));
    const chosen: UploadedPart[] = [];
    for (const [i, want] of requested.entries()) {
      if (i > 0 && want.partNumber <= (requested[i - 1]?.partNumber ?? 0)) {
        throw refuse(
          'part-order',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
        );
      }
      const part = stored.get(want.partNumber);
      if (!part || part.etag !== stripQuotes(want.etag)) {
        throw refuse(
          'invalid-part',
          `part ${want.partNumber} was not uploaded or its ETag does not match "${stripQuotes(want.etag)}"`,
          { partNumber: want.partNumber },
        );
      }
      chosen.push(part);
    }
    for (const part of chosen.slice(0, -1)) {
      if (part.size < minPartSize) {
        throw refuse(
          'entity-too-small',
          `part ${part.partNumber} is ${part.size} bytes; every part but the last must be at least ${minPartSize} bytes`,
          { partNumber: part.partNumber },
        );
      }
    }
    const info = await this.#blobs.composeParts(
      address,
      uploadId,
      chosen.map((p) => p.partId),
      {
        etag: multipartEtag(chosen.map((p) => p.etag)),
        contentType: upload.contentType,
        metadata: upload.metadata,
      },
    );
    await this.#uploads.delete(uploadId);
    await this.#blobs.discardParts(uploadId);
    return info;
  }

  /** @throws NOT_FOUND */
  async abort(uploadId: string, address: BlobAddress): Promise<void> {
    await this.get(uploadId, address);
    await this.#uploads.delete(uploadId);
    await this.#blobs.discardParts(uploadId);
  }

  /** Aborts every upload of a bucket (before the bucket is deleted). */
  async abortAll(bucket: string): Promise<void> {
    for (;;) {
      const uploads = await this.#uploads.list(bucket, { limit: 100 });
      if (uploads.length === 0) return;
      for (const upload of uploads) {
        await this.#uploads.delete(upload.uploadId);
        await this.#blobs.discardParts(upload.uploadId);
      }
    }
  }
}
