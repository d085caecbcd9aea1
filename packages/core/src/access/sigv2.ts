import { createHmac } from 'node:crypto';
import { TrainyardError } from '@trainyard/contracts/errors';
import { type SigV4Failure, type SigV4Request, signaturesEqual } from './sigv4.js';

/**
 * AWS Signature Version 2 in its presigned-URL form for S3 (`?AWSAccessKeyId=…&Signature=…&Expires=…`):
 * boto3's `generate_presigned_url` still signs this way by default. Only the query form is
 * accepted; SigV2 Authorization headers are refused by the door as before.
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */

/** Query parameters that are part of the signed resource (botocore's `QSAOfInterest`). */
const signedSubresources = new Set([
  'accelerate',
  'acl',
  'cors',
  'defaultObjectAcl',
  'location',
  'logging',
  'partNumber',
  'policy',
  'requestPayment',
  'torrent',
  'versioning',
  'versionId',
  'versions',
  'website',
  'uploads',
  'uploadId',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'delete',
  'lifecycle',
  'tagging',
  'restore',
  'storageClass',
  'notification',
  'replication',
  'analytics',
  'metrics',
  'inventory',
  'select',
  'select-type',
  'object-lock',
]);

export interface SigV2Claim {
  accessKeyId: string;
  /** Base64 HMAC-SHA1. */
  signature: string;
  /** Unix seconds after which the URL is refused. */
  expires: number;
}

function fail(reason: SigV4Failure, message: string, extra: Record<string, unknown> = {}): TrainyardError {
  return new TrainyardError('UNAUTHENTICATED', message, { sigv4: reason, ...extra });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/** Raw `name[=value]` pairs: the signed resource keeps `uploads` and `uploads=` apart. */
function rawPairs(query: string): { name: string; value: string | undefined }[] {
  return query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      return at < 0
        ? { name: decode(part), value: undefined }
        : { name: decode(part.slice(0, at)), value: decode(part.slice(at + 1)) };
    });
}

/** Whether a query carries SigV2 presigning (any of its three parameters). */
export function hasSigV2Query(query: string): boolean {
  return /(^|&)(AWSAccessKeyId|Signature|Expires)=/.test(query) && !/(^|&)X-Amz-Algorithm=/.test(query);
}

/** Reads a SigV2 presigned query, or undefined when there is none. @throws UNAUTHENTICATED (malformed) */
export function parseSigV2Query(query: string): SigV2Claim | undefined {
  if (!hasSigV2Query(query)) return undefined;
  const pairs = new Map(rawPairs(query).map((p) => [p.name, p.value ?? '']));
  const accessKeyId = pairs.get('AWSAccessKeyId');
  const signature = pairs.get('Signature');
  const expires = pairs.get('Expires');
  if (!accessKeyId || !signature || !expires) {
    throw fail('malformed', 'a SigV2 presigned URL needs AWSAccessKeyId, Signature and Expires');
  }
  if (!/^\d+$/.test(expires))
    throw fail('malformed', `Expires "${expires}" is not a number of seconds since 1970`);
  return { accessKeyId, signature, expires: Number(expires) };
}

function header(request: SigV4Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The string SigV2 signs for a presigned request: verb, Content-MD5, Content-Type, Expires,
 * the x-amz-* headers, and the resource (`/bucket/key` as sent, with signed subresources). The
 * presigner moves Content-Type, Content-MD5 and x-amz-* values into the query; a header of the
 * same name wins.
 * @param resourcePath `/bucket/key` percent-encoded as sent (virtual-hosted requests add the bucket)
 */
export function sigV2StringToSign(request: SigV4Request, resourcePath: string, expires: number): string {
  const pairs = rawPairs(request.query);
  const fromQuery = new Map(pairs.map((p) => [p.name.toLowerCase(), p.value ?? '']));
  const signedValue = (name: string) => (header(request, name) ?? fromQuery.get(name) ?? '').trim();
  const amzNames = new Set<string>();
  for (const name of Object.keys(request.headers)) if (name.startsWith('x-amz-')) amzNames.add(name);
  for (const p of pairs) if (p.name.toLowerCase().startsWith('x-amz-')) amzNames.add(p.name.toLowerCase());
  const amz = [...amzNames].sort().map((name) => `${name}:${signedValue(name)}\n`);
  const subresources = pairs
    .filter((p) => signedSubresources.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`));
  const resource = `${resourcePath}${subresources.length ? `?${subresources.join('&')}` : ''}`;
  return [
    request.method.toUpperCase(),
    signedValue('content-md5'),
    signedValue('content-type'),
    String(expires),
    `${amz.join('')}${resource}`,
  ].join('\n');
}

/**
 * Checks a SigV2 presigned request: not expired, and the HMAC-SHA1 of the string to sign under
 * `secret` matches. @throws UNAUTHENTICATED with `details.sigv4` (`expired`, `mismatch`)
 */
export function verifySigV2(
  request: SigV4Request,
  resourcePath: string,
  claim: SigV2Claim,
  secret: string,
  now = Date.now(),
): void {
  if (now > claim.expires * 1000) {
    throw fail('expired', 'Request has expired', {
      expires: new Date(claim.expires * 1000).toISOString(),
      serverTime: new Date(now).toISOString(),
    });
  }
  // A bucket alone is signed as "/bucket/" by botocore (as S3's virtual-hosted form) and as
  // "/bucket" by others: either matches.
  const paths = /^\/[^/]+$/.test(resourcePath) ? [`${resourcePath}/`, resourcePath] : [resourcePath];
  const toSign = sigV2StringToSign(request, paths[0] as string, claim.expires);
  const matches = paths.some((path) =>
    signaturesEqual(
      createHmac('sha1', secret)
        .update(sigV2StringToSign(request, path, claim.expires), 'utf8')
        .digest('base64'),
      claim.signature,
    ),
  );
  if (!matches) {
    throw fail(
      'mismatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { stringToSign: toSign },
    );
  }
}
