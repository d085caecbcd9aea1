import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { Principal } from '@trainyard/core/access/access-key-service';
import { uriEncode } from '@trainyard/core/access/sigv4';
import { validateBucketName, validateObjectKey } from '@trainyard/core/blob/blob-address';
import type { MultipartUploadService } from '@trainyard/core/blob/multipart-upload-service';
import type { BlobAddress, BlobInfo, BlobStore, ByteRange } from '@trainyard/core/ports/blob-store';
import type { ChunkSigning } from './aws-chunked-decoder.js';
import { maxSingleUploadBytes, smallBody, verifiedBody } from './s3-body.js';
import { S3Error } from './s3-error.js';
import { parseRequestXml, type XmlElement, xmlDocument } from './s3-xml.js';

/** Bucket names the listener's own paths use; S3 requests to them would be ambiguous. */
export const reservedBucketNames = new Set(['api', 'healthz', 'readyz', 'metrics', 'endpoints']);

/** One S3 request after addressing and authentication. */
export interface S3Request {
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  query: Map<string, string>;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
  principal: Principal;
  contentSha256: string | undefined;
  signing: ChunkSigning | undefined;
  /** `http://host` as the client addressed it, for Location values. */
  origin: string;
}

export interface S3Response {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Readable;
}

const xmlType = 'application/xml';
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

function xml(root: string, children: XmlElement[], status = 200): S3Response {
  return { status, headers: { 'content-type': xmlType }, body: xmlDocument(root, children) };
}

function isoTime(date: Date): string {
  return date.toISOString();
}

function quoted(etag: string): string {
  return `"${etag}"`;
}

function header(request: S3Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function userMetadata(request: S3Request): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return metadata;
}

function objectHeaders(info: BlobInfo): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: quoted(info.etag),
    'last-modified': info.lastModified.toUTCString(),
    'content-type': info.contentType,
    'accept-ranges': 'bytes',
  };
  for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', 501, `${what} is not implemented by Trainyard's S3 door`);
}

function integerParam(request: S3Request, name: string, fallback: number, min: number, max: number): number {
  const text = request.query.get(name);
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new S3Error('InvalidArgument', 400, `${name} must be an integer of at least ${min}`);
  }
  return Math.min(value, max);
}

/** Parses `Range: bytes=a-b | a- | -n` against an object size; undefined serves the whole object. */
function parseRange(text: string | undefined, size: number): ByteRange | undefined {
  const match = text === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // S3 ignores ranges it cannot read
  const invalid = () => {
    const error = new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
      ActualObjectSize: String(size),
    });
    return error;
  };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw invalid();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) throw invalid();
  if (end < start) return undefined;
  return { start, end };
}

/** The S3 operations over the BlobStore. One instance per server. */
export class S3Operations {
  readonly #blobs: BlobStore;
  readonly #multipart: MultipartUploadService;

  constructor(blobs: BlobStore, multipart: MultipartUploadService) {
    this.#blobs = blobs;
    this.#multipart = multipart;
  }

  /** Routes by method, addressing and subresource, as S3 does. */
  async handle(request: S3Request): Promise<S3Response> {
    const q = request.query;
    for (const name of unsupportedSubresources) {
      if (q.has(name)) throw notImplemented(`the ?${name} subresource`);
    }
    const { method, bucket, key } = request;
    if (bucket === undefined) {
      if (method === 'GET') return this.listBuckets();
      throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on the service`);
    }
    if (key === undefined) {
      switch (method) {
        case 'PUT':
          if (q.has('versioning')) throw notImplemented('PutBucketVersioning');
          return this.createBucket(request, bucket);
        case 'HEAD':
          return this.headBucket(bucket);
        case 'DELETE':
          return this.deleteBucket(bucket);
        case 'POST':
          if (q.has('delete')) return this.deleteObjects(request, bucket);
          break;
        case 'GET':
          if (q.has('location')) return this.bucketLocation(bucket);
          if (q.has('versioning')) return this.bucketVersioning(bucket);
          if (q.has('uploads')) return this.listUploads(request, bucket);
          if (q.get('list-type') === '2') return this.listObjectsV2(request, bucket);
          return this.listObjectsV1(request, bucket);
      }
      throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on a bucket`);
    }
    const address = { bucket, key };
    switch (method) {
      case 'PUT':
        if (q.has('uploadId')) {
          if (request.headers['x-amz-copy-source'] !== undefined) throw notImplemented('UploadPartCopy');
          return this.uploadPart(request, address);
        }
        if (request.headers['x-amz-copy-source'] !== undefined) return this.copyObject(request, address);
        return this.putObject(request, address);
      case 'GET':
        if (q.has('uploadId')) return this.listParts(request, address);
        return this.getObject(request, address, false);
      case 'HEAD':
        return this.getObject(request, address, true);
      case 'DELETE':
        if (q.has('uploadId')) return this.abortUpload(request, address);
        await this.#blobs.headBucket(bucket);
        await this.#blobs.delete(address);
        return { status: 204 };
      case 'POST':
        if (q.has('uploads')) return this.createUpload(request, address);
        if (q.has('uploadId')) return this.completeUpload(request, address);
        break;
    }
    throw new S3Error('MethodNotAllowed', 405, `${method} is not allowed on an object`);
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

  #contents(items: BlobInfo[], encode: (text: string) => string): XmlElement[] {
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

  async putObject(request: S3Request, address: BlobAddress): Promise<S3Response> {
    validateObjectKey(address.key);
    await this.#blobs.headBucket(address.bucket);
    const body = verifiedBody(request.raw, { ...request, maxBytes: maxSingleUploadBytes });
    const info = await this.#blobs.put(address, body, {
      contentType: header(request, 'content-type') ?? 'application/octet-stream',
      metadata: userMetadata(request),
    });
    return { status: 200, headers: { etag: quoted(info.etag) } };
  }

  async copyObject(request: S3Request, target: BlobAddress): Promise<S3Response> {
    validateObjectKey(target.key);
    const sourceText = decodeURIComponent((header(request, 'x-amz-copy-source') ?? '').split('?')[0] ?? '');
    const slash = sourceText.replace(/^\//, '').indexOf('/');
    const trimmed = sourceText.replace(/^\//, '');
    if (slash <= 0) {
      throw new S3Error(
        'InvalidArgument',
        400,
        'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      );
    }
    const source = { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
    const directive = header(request, 'x-amz-metadata-directive') ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE') {
      throw new S3Error('InvalidArgument', 400, 'Unknown metadata directive.');
    }
    if (directive === 'COPY' && source.bucket === target.bucket && source.key === target.key) {
      throw new S3Error(
        'InvalidRequest',
        400,
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    await this.#blobs.headBucket(target.bucket);
    await smallBody(request.raw, request);
    const info = await this.#blobs.copy(
      source,
      target,
      directive === 'REPLACE'
        ? {
            contentType: header(request, 'content-type') ?? 'application/octet-stream',
            metadata: userMetadata(request),
          }
        : undefined,
    );
    return xml('CopyObjectResult', [
      ['LastModified', isoTime(info.lastModified)],
      ['ETag', quoted(info.etag)],
    ]);
  }

  async getObject(request: S3Request, address: BlobAddress, headOnly: boolean): Promise<S3Response> {
    const head = await this.#blobs.head(address).catch(async (error: unknown) => {
      // S3 tells a missing bucket from a missing key.
      if (TrainyardError.is(error, 'NOT_FOUND')) await this.#blobs.headBucket(address.bucket);
      throw error;
    });
    const conditional = this.#conditional(request, head);
    if (conditional) return conditional;
    const range = parseRange(header(request, 'range'), head.size);
    const headers = objectHeaders(head);
    for (const [param, name] of [
      ['response-content-type', 'content-type'],
      ['response-content-disposition', 'content-disposition'],
      ['response-content-encoding', 'content-encoding'],
      ['response-content-language', 'content-language'],
      ['response-cache-control', 'cache-control'],
      ['response-expires', 'expires'],
    ] as const) {
      const value = request.query.get(param);
      if (value !== undefined) headers[name] = value;
    }
    if (headOnly) {
      const length = range ? range.end - range.start + 1 : head.size;
      if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${head.size}`;
      return { status: range ? 206 : 200, headers: { ...headers, 'content-length': length } };
    }
    const { info, body } = await this.#blobs.get(address, range);
    if (info.etag !== head.etag) {
      // Overwritten between head and open: describe what is being sent.
      Object.assign(headers, objectHeaders(info));
    }
    if (range) {
      const end = Math.min(range.end, info.size - 1);
      headers['content-range'] = `bytes ${range.start}-${end}/${info.size}`;
      headers['content-length'] = end - range.start + 1;
      return { status: 206, headers, body };
    }
    headers['content-length'] = info.size;
    return { status: 200, headers, body };
  }

  /** If-Match / If-None-Match / If-(Un)Modified-Since, as S3 evaluates them. */
  #conditional(request: S3Request, info: BlobInfo): S3Response | undefined {
    const etag = quoted(info.etag);
    const matches = (list: string) =>
      list.split(',').some((tag) => {
        const t = tag.trim();
        return t === '*' || t === etag || t === info.etag;
      });
    const seconds = Math.floor(info.lastModified.getTime() / 1000) * 1000;
    const ifMatch = header(request, 'if-match');
    const ifNoneMatch = header(request, 'if-none-match');
    const ifModifiedSince = Date.parse(header(request, 'if-modified-since') ?? '');
    const ifUnmodifiedSince = Date.parse(header(request, 'if-unmodified-since') ?? '');
    const preconditionFailed = () => {
      throw new S3Error(
        'PreconditionFailed',
        412,
        'At least one of the pre-conditions you specified did not hold',
        {
          Condition: ifMatch !== undefined ? 'If-Match' : 'If-Unmodified-Since',
        },
      );
    };
    if (ifMatch !== undefined && !matches(ifMatch)) preconditionFailed();
    if (ifMatch === undefined && !Number.isNaN(ifUnmodifiedSince) && seconds > ifUnmodifiedSince)
      preconditionFailed();
    const notModified = { status: 304, headers: { etag, 'last-modified': info.lastModified.toUTCString() } };
    if (ifNoneMatch !== undefined) return matches(ifNoneMatch) ? notModified : undefined;
    if (!Number.isNaN(ifModifiedSince) && seconds <= ifModifiedSince) return notModified;
    return undefined;
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
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new S3Error(
        'InvalidArgument',
        400,
        'Part number must be an integer between 1 and 10000, inclusive',
      );
    }
    await this.#multipart.get(uploadId, address);
    const body = verifiedBody(request.raw, { ...request, maxBytes: maxSingleUploadBytes });
    const part = await this.#multipart.uploadPart(uploadId, address, partNumber, body);
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
    const marker = integerParam(request, 'part-number-marker', 0, 0, 10_000);
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
