import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { BlobAddress } from '../ports/blob-store.js';

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ipLike = /^\d{1,3}(\.\d{1,3}){3}$/;

/** S3's bucket naming rules: 3-63 of a-z 0-9 . -, alphanumeric ends, no "..", not an IP address. */
export function validateBucketName(bucket: string, field = 'bucket'): string {
  if (
    !bucketPattern.test(bucket) ||
    bucket.includes('..') ||
    ipLike.test(bucket) ||
    bucket.startsWith('xn--')
  ) {
    throw invalidArgument(
      field,
      `"${bucket}" is not a valid bucket name (3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit)`,
    );
  }
  return bucket;
}

/**
 * Refuses keys that could escape a filesystem root or that S3 would refuse: empty, longer than
 * 1024 UTF-8 bytes, containing NUL, starting with "/", or with "." or ".." path segments.
 */
export function validateObjectKey(key: string, field = 'key'): string {
  if (key.length === 0) throw invalidArgument(field, 'must not be empty');
  if (Buffer.byteLength(key, 'utf8') > 1024) throw invalidArgument(field, 'is longer than 1024 bytes');
  if (key.includes('\0')) throw invalidArgument(field, 'must not contain NUL');
  if (key.startsWith('/') || key.includes('\\')) {
    throw invalidArgument(field, `"${key}" must be relative and use "/" as separator`);
  }
  for (const segment of key.split('/')) {
    if (segment === '..' || segment === '.') {
      throw invalidArgument(field, `"${key}" has a "${segment}" segment, which would leave its bucket`);
    }
  }
  return key;
}

export function validateBlobAddress(address: BlobAddress): BlobAddress {
  validateBucketName(address.bucket);
  validateObjectKey(address.key);
  return address;
}

/**
 * Parses `s3://bucket/key`. A prefix such as `s3://bucket/data/` keeps its trailing slash;
 * `s3://bucket` gives an empty key.
 */
export function parseBlobUri(uri: string, field = 'uri'): BlobAddress {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw invalidArgument(field, `"${uri}" is not an s3://bucket/key address`);
  const bucket = validateBucketName(match[1] ?? '', field);
  const key = match[2] ?? '';
  if (key !== '') validateObjectKey(key, field);
  return { bucket, key };
}

export function formatBlobUri(address: BlobAddress): string {
  return `s3://${address.bucket}/${address.key}`;
}

export function notFoundBlob(address: BlobAddress): TrainyardError {
  return new TrainyardError('NOT_FOUND', `object ${formatBlobUri(address)} does not exist`, {
    bucket: address.bucket,
    key: address.key,
  });
}

const stagedIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** A multipart upload's or part's id as stores keep them: 1-128 of A-Z a-z 0-9 _ - (BlobStore.putPart). */
export function validateStagedId(field: string, id: string): void {
  if (!stagedIdPattern.test(id)) throw invalidArgument(field, `"${id}" must be 1-128 of A-Z a-z 0-9 _ -`);
}

/** Keys in S3's listing order: UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
