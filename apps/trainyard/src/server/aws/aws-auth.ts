import type { IncomingMessage } from 'node:http';
import { TrainyardError } from '@trainyard/contracts/errors';
import { type Access, roleMayAccess } from '@trainyard/contracts/route';
import { anonymousAdmin, type Principal } from '@trainyard/core/access/access-key-service';
import {
  parseSigV4,
  type SigV4Claim,
  type SigV4Request,
  type VerifiedSigV4,
  verifySigV4,
} from '@trainyard/core/access/sigv4';
import type { DoorServices } from '../door-services.js';

/**
 * Why the AWS doors refused a caller before any signature math: each door names these its own
 * way (S3: AccessDenied / InvalidAccessKeyId; SageMaker: MissingAuthenticationToken /
 * UnrecognizedClient). Signature, scope, skew and expiry failures stay the UNAUTHENTICATED
 * TrainyardErrors of sigv4.ts with `details.sigv4`.
 */
export class AwsAuthError extends Error {
  readonly problem: 'anonymous' | 'unknown-key' | 'role';
  readonly accessKeyId: string | undefined;

  constructor(problem: AwsAuthError['problem'], message: string, accessKeyId?: string) {
    super(message);
    this.name = 'AwsAuthError';
    this.problem = problem;
    this.accessKeyId = accessKeyId;
  }
}

/** Rebuilds headers from rawHeaders so repeated ones join with "," as SigV4 signs them. */
export function signedHeaderMap(raw: IncomingMessage): SigV4Request['headers'] {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
    const name = (raw.rawHeaders[i] as string).toLowerCase();
    const value = raw.rawHeaders[i + 1] as string;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return headers;
}

/** The SigV4 request of an incoming HTTP request, path and query as sent. */
export function sigV4RequestOf(raw: IncomingMessage, path: string, query: string): SigV4Request {
  return { method: raw.method ?? 'GET', path, query, headers: signedHeaderMap(raw) };
}

/** Finds the secret of an access key id. @throws AwsAuthError `unknown-key` */
export async function resolveAwsKey(
  keys: DoorServices['keys'],
  accessKeyId: string,
): Promise<{ principal: Principal; secret: string; previousSecret?: string }> {
  try {
    return await keys.resolveAccessKeyId(accessKeyId);
  } catch (error) {
    if (TrainyardError.is(error, 'UNAUTHENTICATED')) {
      throw new AwsAuthError(
        'unknown-key',
        'The AWS Access Key Id you provided does not exist in our records.',
        accessKeyId,
      );
    }
    throw error;
  }
}

export interface AwsCaller {
  principal: Principal;
  /** Undefined when the request was not signed (auth off) or signed by a presigned URL's query. */
  claim: SigV4Claim | undefined;
  /** Key and seed signature for aws-chunked bodies; undefined when auth is off. */
  verified: VerifiedSigV4 | undefined;
}

export interface AwsAuthOptions {
  /** The service the credential scope must name: `s3`, `sagemaker`. */
  service: string;
  /**
   * The payload hash the signature covers, given the claim: S3 takes x-amz-content-sha256 (and
   * refuses a header-signed request without it); the JSON doors hash the body they read, since
   * the SDKs sign that hash without sending it.
   */
  payloadHash(claim: SigV4Claim): string;
}

/**
 * Checks a SigV4 request (Authorization header or presigned query): the key exists and is not
 * revoked, the scope names `service`, the clock is within 15 minutes (or the URL unexpired), the
 * signature matches (with the previous secret too while a rotation's grace runs). With auth off (a loopback-only server) every caller is an anonymous admin.
 * @throws AwsAuthError, or TrainyardError UNAUTHENTICATED with `details.sigv4` (and
 * `details.stage: 'parse'` when the header or query is not SigV4's form)
 */
export async function authenticateSigV4(
  { settings, keys }: Pick<DoorServices, 'settings' | 'keys'>,
  request: SigV4Request,
  options: AwsAuthOptions,
): Promise<AwsCaller> {
  let claim: SigV4Claim | undefined;
  try {
    claim = parseSigV4(request);
  } catch (error) {
    // S3 names a malformed presigned query differently from a bad signature: mark the stage.
    if (TrainyardError.is(error)) {
      throw new TrainyardError(error.code, error.message, { ...error.details, stage: 'parse' });
    }
    throw error;
  }
  if (!settings.auth) return { principal: anonymousAdmin, claim, verified: undefined };
  if (!claim) {
    throw new AwsAuthError(
      'anonymous',
      'Anonymous access is not allowed: sign requests with a Trainyard access key (SigV4).',
    );
  }
  const payloadHash = options.payloadHash(claim);
  const resolved = await resolveAwsKey(keys, claim.accessKeyId);
  const verifyWith = (secret: string) =>
    verifySigV4(request, claim, secret, { service: options.service, payloadHash });
  let verified: VerifiedSigV4;
  try {
    verified = verifyWith(resolved.secret);
  } catch (error) {
    // During a rotation's grace period a client may still sign with the replaced secret.
    if (resolved.previousSecret === undefined || !TrainyardError.is(error, 'UNAUTHENTICATED')) throw error;
    verified = verifyWith(resolved.previousSecret);
  }
  return { principal: resolved.principal, claim, verified };
}

/** Refuses a caller whose role may not do `access`. @throws AwsAuthError `role` */
export function requireRole(principal: Principal, access: Access, what: string): void {
  if (roleMayAccess(principal.role, access)) return;
  throw new AwsAuthError(
    'role',
    access !== 'write' || principal.role === 'invoker'
      ? `key ${principal.keyId} has role "${principal.role}", which may not use ${what}`
      : `key ${principal.keyId} has role "${principal.role}", which may only read`,
    principal.keyId,
  );
}
