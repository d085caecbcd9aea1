import type { MultipartUploadService } from '@trainyard/core/blob/multipart-upload-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { S3BucketOperations } from './s3-bucket-operations.js';
import { S3Error } from './s3-error.js';
import { S3MultipartOperations } from './s3-multipart-operations.js';
import { S3ObjectOperations } from './s3-object-operations.js';
import { notImplemented, type S3Request, type S3Response } from './s3-request.js';

/** Subresources this door does not implement: answered NotImplemented rather than misread. */
const unsupportedSubresources = [
  'acl',
  'tagging',
  'policy',
  'cors',
  'lifecycle',
  'website',
  'replication',
  'encryption',
  'logging',
  'notification',
  'versions',
  'object-lock',
  'retention',
  'legal-hold',
  'torrent',
  'restore',
  'select',
  'accelerate',
  'analytics',
  'inventory',
  'metrics',
  'ownershipControls',
  'publicAccessBlock',
  'requestPayment',
  'intelligent-tiering',
  'attributes',
];

/**
 * The S3 door's router: picks the bucket, object or multipart operation by method, addressing
 * and subresource, as S3 does. One instance per server.
 */
export class S3Operations {
  readonly #buckets: S3BucketOperations;
  readonly #objects: S3ObjectOperations;
  readonly #multipart: S3MultipartOperations;

  constructor(blobs: BlobStore, multipart: MultipartUploadService) {
    this.#buckets = new S3BucketOperations(blobs, multipart);
    this.#objects = new S3ObjectOperations(blobs);
    this.#multipart = new S3MultipartOperations(blobs, multipart);
  }

  /** Routes by method, addressing and subresource, as S3 does. */
  async handle(request: S3Request): Promise<S3Response> {
    const q = request.query;
    for (const name of unsupportedSubresources) {
      if (q.has(name)) throw notImplemented(`the ?${name} subresource`);
    }
    const { method, bucket, key } = request;
    if (bucket === undefined) {
      if (method === 'GET') return this.#buckets.listBuckets();
      throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on the service`);
    }
    if (key === undefined) {
      switch (method) {
        case 'PUT':
          if (q.has('versioning')) throw notImplemented('PutBucketVersioning');
          return this.#buckets.createBucket(request, bucket);
        case 'HEAD':
          return this.#buckets.headBucket(bucket);
        case 'DELETE':
          return this.#buckets.deleteBucket(bucket);
        case 'POST':
          if (q.has('delete')) return this.#buckets.deleteObjects(request, bucket);
          break;
        case 'GET':
          if (q.has('location')) return this.#buckets.bucketLocation(bucket);
          if (q.has('versioning')) return this.#buckets.bucketVersioning(bucket);
          if (q.has('uploads')) return this.#multipart.listUploads(request, bucket);
          if (q.get('list-type') === '2') return this.#buckets.listObjectsV2(request, bucket);
          return this.#buckets.listObjectsV1(request, bucket);
      }
      throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on a bucket`);
    }
    const address = { bucket, key };
    switch (method) {
      case 'PUT':
        if (q.has('uploadId')) {
          if (request.headers['x-amz-copy-source'] !== undefined) throw notImplemented('UploadPartCopy');
          return this.#multipart.uploadPart(request, address);
        }
        if (request.headers['x-amz-copy-source'] !== undefined)
          return this.#objects.copyObject(request, address);
        return this.#objects.putObject(request, address);
      case 'GET':
        if (q.has('uploadId')) return this.#multipart.listParts(request, address);
        return this.#objects.getObject(request, address, false);
      case 'HEAD':
        return this.#objects.getObject(request, address, true);
      case 'DELETE':
        if (q.has('uploadId')) return this.#multipart.abortUpload(request, address);
        return this.#objects.deleteObject(address);
      case 'POST':
        if (q.has('uploads')) return this.#multipart.createUpload(request, address);
        if (q.has('uploadId')) return this.#multipart.completeUpload(request, address);
        break;
    }
    throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on an object`);
  }
}
