import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Principal } from '@trainyard/core/access/access-key-service';
import type { BlobInfo } from '@trainyard/core/ports/blob-store';
import type { ChunkSigning } from './aws-chunked-decoder.js';
import type { BodyDigestPool } from './body-digest-pool.js';
import { S3Error } from './s3-error.js';
import { type XmlElement, xmlDocument } from './s3-xml.js';

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
  /** Aborts when the server shuts down: bodies still streaming fail with 503. */
  shutdown?: AbortSignal | undefined;
  /** Hashes large bodies off the request thread. */
  digests?: BodyDigestPool | undefined;
}

export interface S3Response {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Readable;
}

const xmlType = 'application/xml';

export function xml(root: string, children: XmlElement[], status = 200): S3Response {
  return { status, headers: { 'content-type': xmlType }, body: xmlDocument(root, children) };
}

export function isoTime(date: Date): string {
  return date.toISOString();
}

export function quoted(etag: string): string {
  return `"${etag}"`;
}

export function header(request: S3Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function userMetadata(request: S3Request): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return metadata;
}

export function objectHeaders(info: BlobInfo): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: quoted(info.etag),
    'last-modified': info.lastModified.toUTCString(),
    'content-type': info.contentType,
    'accept-ranges': 'bytes',
  };
  for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

export function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', 501, `${what} is not implemented by Trainyard's S3 door`);
}

export function integerParam(
  request: S3Request,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = request.query.get(name);
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new S3Error('InvalidArgument', 400, `${name} must be an integer of at least ${min}`);
  }
  return Math.min(value, max);
}
