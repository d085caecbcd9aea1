import { TrainyardError } from '@trainyard/contracts/errors';
import { uriEncode } from '@trainyard/core/access/sigv4';
import { validateBucketName, validateObjectKey } from '@trainyard/core/blob/blob-address';
import type { MultipartUploadService } from '@trainyard/core/blob/multipart-upload-service';
import type { BlobStore, BlobSummary } from '@trainyard/core/ports/blob-store';
import { smallBody } from './s3-body.js';
import { S3Error } from './s3-error.js';
import { integerParam, isoTime, quoted, type S3Request, type S3Response, xml } from './s3-request.js';
import { parseRequestXml, type XmlElement } from './s3-xml.js';

/** Bucket names the listener's own paths use; S3 requests to them would be ambiguous. */
export const reservedBucketNames = new Set(['api', 'healthz', 'readyz', 'metrics', 'endpoints']);

/** Bucket operations: the service listing, bucket create/head/delete, object listings and batch delete. */
export class S3BucketOperations {
  readonly #blobs: BlobStore;
  readonly #multipart: MultipartUploadService;

  constructor(blobs: BlobStore, multipart: MultipartUploadService) {
    this.#blobs = blobs;
    this.#multipart = multipart;
  }

  async listBuckets(): Promise<S3Response> {
    const buckets = await this.#blobs.listBuckets();
    return xml('ListAllMyBucketsResult', [
      [
        'Owner',
        [
          ['ID', 'trainyard'],
          ['DisplayName', 'trainyard'],
        ],
      ],
      [
        'Buckets',
        buckets.map(
          (b): XmlElement => [
            'Bucket',
            [
              ['Name', b.name],
              ['CreationDate', isoTime(b.createdAt)],
            ],
          ],
        ),
      ],
    ]);
  }

  async createBucket(request: S3Request, bucket: string): Promise<S3Response> {
    validateBucketName(bucket);
    if (reservedBucketNames.has(bucket)) {
      throw new S3Error(
        'InvalidBucketName',
        400,
        `"${bucket}" is reserved: Trainyard serves its own API under /${bucket} on this listener`,
      );
    }
    // The body may carry a CreateBucketConfiguration (LocationConstraint): one region here, read and ignored.
    await smallBody(request.raw, request);
    await this.#blobs.createBucket(bucket);
    return { status: 200, headers: { location: `/${bucket}` } };
  }

  async headBucket(bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    return { status: 200, headers: { 'x-amz-bucket-region': 'us-east-1' } };
  }

  async deleteBucket(bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    const listing = await this.#blobs.list(bucket, { limit: 1 });
    if (listing.items.length > 0) {
      throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
    }
    await this.#multipart.abortAll(bucket);
    await this.#blobs.deleteBucket(bucket);
    return { status: 204 };
  }

  async bucketLocation(bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    // us-east-1 is S3's empty LocationConstraint.
    return xml('LocationConstraint', []);
  }

  async bucketVersioning(bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    return xml('VersioningConfiguration', []);
  }

  async #list(request: S3Request, bucket: string, startAfter: string | undefined, token: string | undefined) {
    const maxKeys = integerParam(request, 'max-keys', 1000, 0, 1000);
    const prefix = request.query.get('prefix') ?? '';
    const delimiter = request.query.get('delimiter') || undefined;
    const encodingType = request.query.get('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request');
    }
    const encode = (text: string) => (encodingType === 'url' ? uriEncode(text).replace(/%2F/g, '/') : text);
    if (maxKeys === 0) {
      await this.#blobs.headBucket(bucket);
      return {
        maxKeys,
        prefix,
        delimiter,
        encode,
        encodingType,
        items: [],
        commonPrefixes: [],
        next: undefined,
      };
    }
    const page = await this.#blobs.list(bucket, {
      prefix,
      delimiter,
      limit: maxKeys,
      ...(token ? { pageToken: token } : {}),
      ...(startAfter ? { startAfter } : {}),
    });
    return {
      maxKeys,
      prefix,
      delimiter,
      encode,
      encodingType,
      items: page.items,
      commonPrefixes: page.commonPrefixes,
      next: page.nextPageToken,
    };
  }

  #contents(items: BlobSummary[], encode: (text: string) => string): XmlElement[] {
    return items.map(
      (item): XmlElement => [
        'Contents',
        [
          ['Key', encode(item.key)],
          ['LastModified', isoTime(item.lastModified)],
          ['ETag', quoted(item.etag)],
          ['Size', item.size],
          ['StorageClass', 'STANDARD'],
        ],
      ],
    );
  }

  async listObjectsV2(request: S3Request, bucket: string): Promise<S3Response> {
    const token = request.query.get('continuation-token') || undefined;
    if (token !== undefined && !/^[A-Za-z0-9_-]+$/.test(token)) {
      throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect');
    }
    const startAfter = request.query.get('start-after') || undefined;
    const r = await this.#list(request, bucket, startAfter, token);
    return xml('ListBucketResult', [
      ['Name', bucket],
      ['Prefix', r.encode(r.prefix)],
      ['Delimiter', r.delimiter === undefined ? undefined : r.encode(r.delimiter)],
      ['MaxKeys', r.maxKeys],
      ['EncodingType', r.encodingType],
      ['KeyCount', r.items.length + r.commonPrefixes.length],
      ['IsTruncated', r.next !== undefined],
      ['ContinuationToken', token],
      ['NextContinuationToken', r.next],
      ['StartAfter', startAfter === undefined ? undefined : r.encode(startAfter)],
      ...this.#contents(r.items, r.encode),
      ...r.commonPrefixes.map((p): XmlElement => ['CommonPrefixes', [['Prefix', r.encode(p)]]]),
    ]);
  }

  async listObjectsV1(request: S3Request, bucket: string): Promise<S3Response> {
    const marker = request.query.get('marker') || undefined;
    const r = await this.#list(request, bucket, marker, undefined);
    const last = [...r.items.map((i) => i.key), ...r.commonPrefixes].sort().at(-1);
    return xml('ListBucketResult', [
      ['Name', bucket],
      ['Prefix', r.encode(r.prefix)],
      ['Marker', r.encode(marker ?? '')],
      ['NextMarker', r.next !== undefined && last !== undefined ? r.encode(last) : undefined],
      ['Delimiter', r.delimiter === undefined ? undefined : r.encode(r.delimiter)],
      ['MaxKeys', r.maxKeys],
      ['EncodingType', r.encodingType],
      ['IsTruncated', r.next !== undefined],
      ...this.#contents(r.items, r.encode),
      ...r.commonPrefixes.map((p): XmlElement => ['CommonPrefixes', [['Prefix', r.encode(p)]]]),
    ]);
  }

  async deleteObjects(request: S3Request, bucket: string): Promise<S3Response> {
    await this.#blobs.headBucket(bucket);
    const parsed = parseRequestXml(await smallBody(request.raw, request));
    const root = parsed.Delete as { Object?: { Key?: unknown }[]; Quiet?: unknown } | undefined;
    const objects = root?.Object ?? [];
    if (!root || objects.length === 0 || objects.length > 1000) {
      throw new S3Error('MalformedXML', 400, 'a Delete request names 1 to 1000 objects');
    }
    const quiet = String(root.Quiet ?? '').trim() === 'true';
    const results: XmlElement[] = [];
    for (const object of objects) {
      const key = typeof object.Key === 'string' ? object.Key : String(object.Key ?? '');
      try {
        validateObjectKey(key);
        await this.#blobs.delete({ bucket, key });
        if (!quiet) results.push(['Deleted', [['Key', key]]]);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const code = TrainyardError.is(error, 'INVALID_ARGUMENT') ? 'InvalidArgument' : 'InternalError';
        results.push([
          'Error',
          [
            ['Key', key],
            ['Code', code],
            ['Message', message],
          ],
        ]);
      }
    }
    return xml('DeleteResult', results);
  }
}
