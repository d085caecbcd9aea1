import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TrainyardError } from '@trainyard/contracts/errors';

/**
 * AWS Signature Version 4, the checks a server makes. Pure and service-agnostic: the S3 door
 * uses service `s3`, the SageMaker door `sagemaker`. Failures are `UNAUTHENTICATED` errors whose
 * `details.sigv4` says why (see {@link SigV4Failure}), so each door can name them its own way
 * (S3: SignatureDoesNotMatch, AccessDenied …; SageMaker: InvalidSignatureException …).
 */

export const sigV4Algorithm = 'AWS4-HMAC-SHA256';
/** Payload hash of requests whose body is not signed (presigned URLs, HTTPS uploads). */
export const unsignedPayload = 'UNSIGNED-PAYLOAD';
/** Payload hash of aws-chunked bodies whose chunks are each signed. */
export const streamingSignedPayload = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const streamingSignedPayloadTrailer = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const streamingUnsignedPayloadTrailer = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Why a signature was refused. */
export type SigV4Failure =
  | 'malformed' // the Authorization header or presigned query is not well formed
  | 'mismatch' // the signature does not match
  | 'expired' // a presigned URL past its X-Amz-Expires
  | 'skewed' // X-Amz-Date too far from the server's clock
  | 'scope'; // a credential scope for another service or a bad date

/** Header-signed requests may be this far from the server's clock (AWS allows 15 minutes). */
export const maxClockSkewMs = 15 * 60_000;
/** Longest presigned URL lifetime AWS allows: 7 days. */
export const maxPresignSeconds = 604_800;

export interface SigV4Scope {
  /** `yyyymmdd`. */
  date: string;
  region: string;
  service: string;
}

/** A signed request as the server received it. */
export interface SigV4Request {
  method: string;
  /** The path as sent, still percent-encoded, without the query string. */
  path: string;
  /** The raw query string, without `?` (may be empty). */
  query: string;
  /** Lowercase header names; repeated headers as arrays (joined with "," as SigV4 does). */
  headers: Record<string, string | string[] | undefined>;
}

/** What the Authorization header (or presigned query) claims. */
export interface SigV4Claim {
  form: 'header' | 'query';
  accessKeyId: string;
  scope: SigV4Scope;
  signedHeaders: string[];
  signature: string;
  /** `yyyymmddThhmmssZ`. */
  amzDate: string;
  /** Presigned URLs only: lifetime in seconds. */
  expiresSeconds?: number;
}

function fail(reason: SigV4Failure, message: string, extra: Record<string, unknown> = {}): TrainyardError {
  return new TrainyardError('UNAUTHENTICATED', message, { sigv4: reason, ...extra });
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay as they are. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Whether a request carries SigV4 at all (header or presigned query). */
export function hasSigV4(request: Pick<SigV4Request, 'query' | 'headers'>): boolean {
  const auth = headerValue(request.headers, 'authorization');
  return auth?.startsWith(sigV4Algorithm) === true || /(^|&)X-Amz-Algorithm=/.test(request.query);
}

function headerValue(headers: SigV4Request['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Query pairs, decoded. */
export function parseQuery(query: string): [string, string][] {
  if (query === '') return [];
  return query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const at = part.indexOf('=');
      return at < 0
        ? [safeDecode(part), '']
        : [safeDecode(part.slice(0, at)), safeDecode(part.slice(at + 1))];
    });
}

function parseScope(credential: string): { accessKeyId: string; scope: SigV4Scope } {
  const parts = credential.split('/');
  if (parts.length < 5 || parts[parts.length - 1] !== 'aws4_request') {
    throw fail(
      'malformed',
      `credential "${credential}" is not <key id>/<date>/<region>/<service>/aws4_request`,
    );
  }
  const [date, region, service] = parts.slice(-4, -1);
  const accessKeyId = parts.slice(0, -4).join('/');
  if (!/^\d{8}$/.test(date ?? '') || !region || !service || !accessKeyId) {
    throw fail('malformed', `credential "${credential}" has an empty part or a bad date`);
  }
  return { accessKeyId, scope: { date: date as string, region, service } };
}

/**
 * Reads the claim of a SigV4 request, from `Authorization: AWS4-HMAC-SHA256 Credential=…,
 * SignedHeaders=…, Signature=…` or from presigned `X-Amz-*` query parameters.
 * @returns undefined when the request is not SigV4-signed. @throws UNAUTHENTICATED (malformed)
 */
export function parseSigV4(request: Pick<SigV4Request, 'query' | 'headers'>): SigV4Claim | undefined {
  const auth = headerValue(request.headers, 'authorization');
  if (auth?.startsWith(sigV4Algorithm)) {
    const fields = new Map<string, string>();
    for (const part of auth.slice(sigV4Algorithm.length).split(',')) {
      const at = part.indexOf('=');
      if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw fail('malformed', 'the Authorization header needs Credential, SignedHeaders and Signature');
    }
    const amzDate =
      headerValue(request.headers, 'x-amz-date') ?? isoBasicOf(headerValue(request.headers, 'date'));
    if (!amzDate) throw fail('malformed', 'a signed request needs an X-Amz-Date header');
    return {
      form: 'header',
      ...parseScope(credential),
      signedHeaders: signedHeaders.split(';'),
      signature,
      amzDate,
    };
  }
  const query = new Map(parseQuery(request.query));
  const algorithm = query.get('X-Amz-Algorithm');
  if (algorithm === undefined) return undefined;
  if (algorithm !== sigV4Algorithm) throw fail('malformed', `X-Amz-Algorithm must be ${sigV4Algorithm}`);
  const credential = query.get('X-Amz-Credential');
  const amzDate = query.get('X-Amz-Date');
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  const expires = query.get('X-Amz-Expires');
  if (!credential || !amzDate || !signedHeaders || !signature || !expires) {
    throw fail(
      'malformed',
      'a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature',
    );
  }
  const expiresSeconds = Number(expires);
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > maxPresignSeconds) {
    throw fail('malformed', `X-Amz-Expires must be an integer from 1 to ${maxPresignSeconds} seconds`);
  }
  return {
    form: 'query',
    ...parseScope(credential),
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate,
    expiresSeconds,
  };
}

function isoBasicOf(httpDate: string | undefined): string | undefined {
  if (!httpDate) return undefined;
  const ms = Date.parse(httpDate);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** `yyyymmddThhmmssZ` → epoch ms, or NaN. */
export function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export interface CanonicalOptions {
  /** S3 signs the path encoded once; every other service encodes it twice. Default false. */
  doubleEncodePath?: boolean;
}

/** The canonical request: method, path, query, headers, signed header names, payload hash. */
export function canonicalRequest(
  request: SigV4Request,
  signedHeaders: string[],
  payloadHash: string,
  options: CanonicalOptions = {},
): string {
  const path =
    request.path
      .split('/')
      .map((segment) => {
        const once = uriEncode(safeDecode(segment));
        return options.doubleEncodePath ? uriEncode(once) : once;
      })
      .join('/') || '/';
  const query = parseQuery(request.query)
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = signedHeaders
    .map((name) => `${name}:${(headerValue(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  return [request.method, path, query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

export function scopeString(scope: SigV4Scope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: SigV4Scope, canonical: string): string {
  return [sigV4Algorithm, amzDate, scopeString(scope), sha256Hex(canonical)].join('\n');
}

/** The derived key: HMAC chain over date, region, service and "aws4_request". */
export function signingKey(secret: string, scope: SigV4Scope): Buffer {
  const date = hmac(`AWS4${secret}`, scope.date);
  return hmac(hmac(hmac(date, scope.region), scope.service), 'aws4_request');
}

export function signHex(key: Uint8Array, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}

/** String to sign of one aws-chunked chunk, chained to the previous chunk's signature. */
export function chunkStringToSign(
  amzDate: string,
  scope: SigV4Scope,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return [
    'AWS4-HMAC-SHA256-PAYLOAD',
    amzDate,
    scopeString(scope),
    previousSignature,
    emptySha256,
    chunkSha256Hex,
  ].join('\n');
}

/** String to sign of the trailing headers of a signed aws-chunked body with trailer. */
export function trailerStringToSign(
  amzDate: string,
  scope: SigV4Scope,
  previousSignature: string,
  trailerSha256Hex: string,
): string {
  return ['AWS4-HMAC-SHA256-TRAILER', amzDate, scopeString(scope), previousSignature, trailerSha256Hex].join(
    '\n',
  );
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface VerifyOptions extends CanonicalOptions {
  /** The service the scope must name, e.g. `s3`. */
  service: string;
  /** Hash placed in the canonical request: the x-amz-content-sha256 value, or the body's hash. */
  payloadHash: string;
  /** Server clock, epoch ms. Default `Date.now()`. */
  now?: number;
}

/** What a verified request hands to the body reader (aws-chunked needs both). */
export interface VerifiedSigV4 {
  signingKey: Buffer;
  /** The request's own signature: the seed of an aws-chunked signature chain. */
  seedSignature: string;
}

/**
 * Checks `claim` against `secret`: scope, clock (header form) or expiry (presigned), and the
 * signature over the canonical request. @throws UNAUTHENTICATED with `details.sigv4`
 */
export function verifySigV4(
  request: SigV4Request,
  claim: SigV4Claim,
  secret: string,
  options: VerifyOptions,
): VerifiedSigV4 {
  const now = options.now ?? Date.now();
  if (claim.scope.service !== options.service) {
    throw fail(
      'scope',
      `the credential scope names service "${claim.scope.service}", not "${options.service}"`,
    );
  }
  const signedAt = parseAmzDate(claim.amzDate);
  if (Number.isNaN(signedAt))
    throw fail('malformed', `X-Amz-Date "${claim.amzDate}" is not yyyymmddThhmmssZ`);
  if (claim.amzDate.slice(0, 8) !== claim.scope.date) {
    throw fail(
      'scope',
      `the credential scope date ${claim.scope.date} is not the date of X-Amz-Date ${claim.amzDate}`,
    );
  }
  if (!claim.signedHeaders.includes('host')) throw fail('malformed', 'SignedHeaders must include host');
  if (claim.form === 'query') {
    if (now > signedAt + (claim.expiresSeconds ?? 0) * 1000) {
      throw fail('expired', 'Request has expired', {
        expires: new Date(signedAt + (claim.expiresSeconds ?? 0) * 1000).toISOString(),
        serverTime: new Date(now).toISOString(),
      });
    }
    if (signedAt - now > maxClockSkewMs) throw fail('skewed', 'the presigned URL is dated in the future');
  } else if (Math.abs(now - signedAt) > maxClockSkewMs) {
    throw fail('skewed', 'The difference between the request time and the current time is too large.', {
      requestTime: claim.amzDate,
      serverTime: new Date(now).toISOString(),
    });
  }
  const canonical = canonicalRequest(request, claim.signedHeaders, options.payloadHash, options);
  const toSign = stringToSign(claim.amzDate, claim.scope, canonical);
  const key = signingKey(secret, claim.scope);
  if (!signaturesEqual(signHex(key, toSign), claim.signature)) {
    throw fail(
      'mismatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { canonicalRequest: canonical, stringToSign: toSign },
    );
  }
  return { signingKey: key, seedSignature: claim.signature };
}
