import { uriEncode } from '@trainyard/core/access/sigv4';
import { type MultipartUploadService, maxPartNumber } from '@trainyard/core/blob/multipart-upload-service';
import type { BlobAddress, BlobStore } from '@trainyard/core/ports/blob-store';
import { maxSingleUploadBytes, smallBody, verifiedBody } from './s3-body.js';
import { S3Error } from './s3-error.js';
import {
  header,
  integerParam,
  isoTime,
  quoted,
  type S3Request,
  type S3Response,
  userMetadata,
  xml,
} from './s3-request.js';
import { parseRequestXml, type XmlElement } from './s3-xml.js';

/** Multipart uploads: create, upload parts, complete, abort and list, over MultipartUploadService. */
export class S3MultipartOperations {
  readonly #blobs: BlobStore;
  readonly #multipart: MultipartUploadService;

  constructor(blobs: BlobStore, multipart: MultipartUploadService) {
    this.#blobs = blobs;
    this.#multipart = multipart;
  }

  async createUpload(request: S3Request, address: BlobAddress): Promise<S3Response> {
    await smallBody(request.raw, request);
    const upload = await this.#multipart.create(address, {
      contentType: header(request, 'content-type') ?? 'application/octet-stream',
      metadata: userMetadata(request),
      initiatedBy: request.principal.keyId,
    });
    return xml('InitiateMultipartUploadResult', [
      ['Bucket', upload.bucket],
      ['Key', upload.key],
      ['UploadId', upload.uploadId],
    ]);
  }

  async uploadPart(request: S3Request, address: BlobAddress): Promise<S3Response> {
    const uploadId = request.query.get('uploadId') ?? '';
    const partNumber = Number(request.query.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > maxPartNumber) {
      throw new S3Error(
        'InvalidArgument',
        400,
        `Part number must be an integer between 1 and ${maxPartNumber}, inclusive`,
      );
    }
    await this.#multipart.get(uploadId, address);
    const body = verifiedBody(request.raw, { ...request, maxBytes: maxSingleUploadBytes, md5: true });
    const part = await this.#multipart
      .uploadPart(uploadId, address, partNumber, body, { bodyMd5: () => body.md5Hex })
      .finally(() => body.destroy());
    return { status: 200, headers: { etag: quoted(part.etag) } };
  }

  async completeUpload(request: S3Request, address: BlobAddress): Promise<S3Response> {
    const uploadId = request.query.get('uploadId') ?? '';
    await this.#multipart.get(uploadId, address);
    const parsed = parseRequestXml(await smallBody(request.raw, request));
    const root = parsed.CompleteMultipartUpload as
      | { Part?: { PartNumber?: unknown; ETag?: unknown }[] }
      | undefined;
    if (!root) throw new S3Error('MalformedXML', 400, 'the body must be a CompleteMultipartUpload document');
    const parts = (root.Part ?? []).map((p) => ({
      partNumber: Number(p.PartNumber),
      etag: String(p.ETag ?? ''),
    }));
    const info = await this.#multipart.complete(uploadId, address, parts);
    return xml('CompleteMultipartUploadResult', [
      ['Location', `${request.origin}/${address.bucket}/${address.key.split('/').map(uriEncode).join('/')}`],
      ['Bucket', address.bucket],
      ['Key', address.key],
      ['ETag', quoted(info.etag)],
    ]);
  }

  async abortUpload(request: S3Request, address: BlobAddress): Promise<S3Response> {
    await this.#multipart.abort(request.query.get('uploadId') ?? '', address);
    return { status: 204 };
  }

  async listParts(request: S3Request, address: BlobAddress): Promise<S3Response> {
    const uploadId = request.query.get('uploadId') ?? '';
    const maxParts = integerParam(request, 'max-parts', 1000, 0, 1000);
    const marker = integerParam(request, 'part-number-marker', 0, 0, maxPartNumber);
    const { upload, parts, truncated } = await this.#multipart.listParts(uploadId, address, {
      afterPartNumber: marker,
      limit: maxParts,
    });
    return xml('ListPartsResult', [
      ['Bucket', upload.bucket],
      ['Key', upload.key],
      ['UploadId', upload.uploadId],
      ['StorageClass', 'STANDARD'],
      ['PartNumberMarker', marker],
      ['NextPartNumberMarker', parts.at(-1)?.partNumber ?? marker],
      ['MaxParts', maxParts],
      ['IsTruncated', truncated],
      ...parts.map(
        (p): XmlElement => [
          'Part',
          [
            ['PartNumber', p.partNumber],
            ['LastModified', isoTime(p.lastModified)],
            ['ETag', quoted(p.etag)],
            ['Size', p.size],
          ],
        ],
      ),
    ]);
  }

  async listUploads(request: S3Request, bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    const maxUploads = integerParam(request, 'max-uploads', 1000, 1, 1000);
    const prefix = request.query.get('prefix') ?? '';
    const uploads = await this.#multipart.list(bucket, { prefix, limit: maxUploads });
    return xml('ListMultipartUploadsResult', [
      ['Bucket', bucket],
      ['Prefix', prefix],
      ['MaxUploads', maxUploads],
      ['IsTruncated', false],
      ...uploads.map(
        (u): XmlElement => [
          'Upload',
          [
            ['Key', u.key],
            ['UploadId', u.uploadId],
            ['StorageClass', 'STANDARD'],
            ['Initiated', isoTime(u.initiatedAt)],
          ],
        ],
      ),
    ]);
  }
}
