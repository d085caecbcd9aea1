import { TrainyardError } from '@trainyard/contracts/errors';
import { validateObjectKey } from '@trainyard/core/blob/blob-address';
import type { BlobAddress, BlobInfo, BlobStore, ByteRange } from '@trainyard/core/ports/blob-store';
import { maxSingleUploadBytes, smallBody, verifiedBody } from './s3-body.js';
import { S3Error } from './s3-error.js';
import {
  header,
  isoTime,
  objectHeaders,
  quoted,
  type S3Request,
  type S3Response,
  userMetadata,
  xml,
} from './s3-request.js';

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

/** Object operations: put, copy, get and head with ranges and conditions, delete. */
export class S3ObjectOperations {
  readonly #blobs: BlobStore;

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  async putObject(request: S3Request, address: BlobAddress): Promise<S3Response> {
    validateObjectKey(address.key);
    await this.#blobs.headBucket(address.bucket);
    const body = verifiedBody(request.raw, { ...request, maxBytes: maxSingleUploadBytes, md5: true });
    const info = await this.#blobs
      .put(address, body, {
        contentType: header(request, 'content-type') ?? 'application/octet-stream',
        metadata: userMetadata(request),
        bodyMd5: () => body.md5Hex,
      })
      .finally(() => body.destroy());
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

  async deleteObject(address: BlobAddress): Promise<S3Response> {
    await this.#blobs.headBucket(address.bucket);
    await this.#blobs.delete(address);
    return { status: 204 };
  }
}
