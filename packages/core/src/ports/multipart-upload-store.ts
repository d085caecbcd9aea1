/** An S3 multipart upload in progress: where the object goes and what it will carry. */
export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string;
  /** User metadata (`x-amz-meta-*`) the completed object gets. */
  metadata: Record<string, string>;
  /** Access key id that started the upload. */
  initiatedBy: string;
  initiatedAt: Date;
}

/** A part as recorded; its bytes are staged in the BlobStore under `partId`. */
export interface UploadedPart {
  /** 1-10000. */
  partNumber: number;
  /** Name of the staged bytes in the BlobStore (a new one per upload of the part). */
  partId: string;
  /** Hex MD5 of the part, without quotes. */
  etag: string;
  /** Bytes. */
  size: number;
  lastModified: Date;
}

/**
 * Multipart upload records (the bytes live in the BlobStore's staged parts). Records survive a
 * restart; they are removed when the upload is completed or aborted.
 */
export interface MultipartUploadStore {
  /** @throws ALREADY_EXISTS for a reused uploadId */
  create(upload: MultipartUpload): Promise<MultipartUpload>;
  /** @throws NOT_FOUND */
  get(uploadId: string): Promise<MultipartUpload>;
  /** Uploads of a bucket in key order, then initiation order; at most `limit` (default 1000). */
  list(bucket: string, options?: { prefix?: string; limit?: number }): Promise<MultipartUpload[]>;
  /** Records a part, replacing the record of a part with the same number. @throws NOT_FOUND when the upload is gone */
  putPart(uploadId: string, part: UploadedPart): Promise<void>;
  /** Parts in part-number order after `afterPartNumber`, at most `limit` (default 10000). */
  listParts(
    uploadId: string,
    options?: { afterPartNumber?: number; limit?: number },
  ): Promise<UploadedPart[]>;
  /** Removes the upload and its part records; a missing upload is fine. */
  delete(uploadId: string): Promise<void>;
}
