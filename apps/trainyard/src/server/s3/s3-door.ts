import type { IncomingMessage } from 'node:http';
import { TrainyardError } from '@trainyard/contracts/errors';
import { platformBucket } from '@trainyard/contracts/platform-namespace';
import { roleMayAccess } from '@trainyard/contracts/route';
import { anonymousAdmin, type Principal } from '@trainyard/core/access/access-key-service';
import { hasSigV2Query, parseSigV2Query, verifySigV2 } from '@trainyard/core/access/sigv2';
import {
  hasSigV4,
  parseQuery,
  parseSigV4,
  type SigV4Request,
  unsignedPayload,
  verifySigV4,
} from '@trainyard/core/access/sigv4';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DoorServices, DoorSettings } from '../door-services.js';
import { redactServerPaths } from '../server-paths.js';
import type { ChunkSigning } from './aws-chunked-decoder.js';
import { S3Error, s3ErrorOf } from './s3-error.js';
import { S3Operations } from './s3-operations.js';
import type { S3Request, S3Response } from './s3-request.js';

/** Host names under which `<bucket>.<name>` addresses a bucket (virtual-hosted style). */
function virtualHostBases({ host }: DoorSettings): string[] {
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return ['localhost', ...(isIp ? [] : [host])];
}

/** Rebuilds headers from rawHeaders so repeated ones join with "," as SigV4 signs them. */
function signedHeaderMap(raw: IncomingMessage): SigV4Request['headers'] {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
    const name = (raw.rawHeaders[i] as string).toLowerCase();
    const value = raw.rawHeaders[i + 1] as string;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return headers;
}

interface Addressed {
  bucket: string | undefined;
  key: string | undefined;
  path: string;
  query: string;
  /** `/bucket/key` as sent: what SigV2 signs, also for virtual-hosted requests. */
  resourcePath: string;
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
}

/**
 * Finds the S3 request in an HTTP request, or undefined when it is not one: S3 requests carry
 * SigV4 for service `s3` and no X-Amz-Target (that is the SageMaker JSON door), or name a bucket
 * in the Host header (`<bucket>.localhost:7070`).
 */
function addressOf(request: FastifyRequest, bases: string[]): Addressed | undefined {
  const url = request.raw.url ?? '/';
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = at < 0 ? '' : url.slice(at + 1);
  const hostname = String(request.headers.host ?? '')
    .replace(/:\d+$/, '')
    .toLowerCase();
  const base = bases.find((b) => hostname.endsWith(`.${b}`));
  if (base !== undefined) {
    const bucket = hostname.slice(0, -(base.length + 1));
    const key = path.length > 1 ? decodeSegment(path.slice(1)) : undefined;
    return { bucket, key, path, query, resourcePath: `/${bucket}${path}` };
  }
  const headers = { authorization: request.headers.authorization };
  if (request.headers['x-amz-target'] !== undefined) return undefined;
  if (!hasSigV4({ query, headers }) && !hasSigV2Query(query)) return undefined;
  // The SageMaker doors sign with service "sagemaker"; leave those (and their runtime paths) alone.
  if (
    /\/sagemaker\/aws4_request/.test(`${request.headers.authorization ?? ''} ${decodeSegmentLoose(query)}`)
  ) {
    return undefined;
  }
  if (path.startsWith('/endpoints/')) return undefined;
  const slash = path.indexOf('/', 1);
  const rawBucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const rawKey = slash < 0 ? '' : path.slice(slash + 1);
  return {
    bucket: rawBucket === '' ? undefined : decodeSegment(rawBucket),
    key: rawKey === '' ? undefined : decodeSegment(rawKey),
    path,
    query,
    resourcePath: path,
  };
}

function decodeSegmentLoose(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The S3-compatible door on the REST API's listener. It must see each request before routing
 * (a signed `GET /` is ListBuckets, an unsigned one the home page) and before any body parsing
 * (uploads stream straight into the BlobStore, up to 5 GiB), so it answers from an onRequest
 * hook on the root instance: Fastify never parses these bodies and its body limit never applies.
 */
export async function s3Door(app: FastifyInstance, options: { services: DoorServices }): Promise<void> {
  const { services } = options;
  const operations = new S3Operations(services.blobs, services.multipartUploads);
  const bases = virtualHostBases(services.settings);
  const { serverPaths } = services.settings;

  app.addHook('onRequest', async (request, reply) => {
    let addressed: Addressed | undefined;
    try {
      addressed = addressOf(request, bases);
    } catch (error) {
      return sendError(request, reply, error, request.url, serverPaths);
    }
    if (!addressed) return;
    const resource = addressed.path;
    try {
      const s3Request = await authenticate(services, request, addressed);
      const response = await operations.handle(s3Request);
      return send(reply, response);
    } catch (error) {
      return sendError(request, reply, error, resource, serverPaths);
    }
  });
}
// Hooks added by this plugin must apply to the whole app, not an encapsulated child.
(s3Door as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

async function authenticate(
  { settings, keys }: Pick<DoorServices, 'settings' | 'keys'>,
  request: FastifyRequest,
  addressed: Addressed,
): Promise<S3Request> {
  const raw = request.raw;
  const headers = signedHeaderMap(raw);
  const sigRequest: SigV4Request = {
    method: raw.method ?? 'GET',
    path: addressed.path,
    query: addressed.query,
    headers,
  };
  const v2Claim = parseSigV2Query(addressed.query);
  if (v2Claim && settings.auth) return authenticateSigV2(keys, request, addressed, sigRequest, v2Claim);
  let claim: ReturnType<typeof parseSigV4>;
  try {
    claim = parseSigV4(sigRequest);
  } catch (error) {
    if (TrainyardError.is(error) && /X-Amz-Algorithm=/.test(addressed.query)) {
      throw new S3Error('AuthorizationQueryParametersError', 400, error.message);
    }
    throw error;
  }
  const contentSha256Header = request.headers['x-amz-content-sha256'];
  let contentSha256 = typeof contentSha256Header === 'string' ? contentSha256Header : undefined;
  let principal = anonymousAdmin;
  let signing: ChunkSigning | undefined;
  if (settings.auth) {
    if (!claim) {
      throw new S3Error(
        'AccessDenied',
        403,
        'Anonymous access is not allowed: sign requests with a Trainyard access key (SigV4).',
      );
    }
    if (claim.form === 'header' && contentSha256 === undefined) {
      throw new S3Error(
        'InvalidRequest',
        400,
        'Missing required header for this request: x-amz-content-sha256',
      );
    }
    const resolved = await keys.resolveAccessKeyId(claim.accessKeyId).catch((error: unknown) => {
      if (TrainyardError.is(error, 'UNAUTHENTICATED')) {
        throw new S3Error(
          'InvalidAccessKeyId',
          403,
          'The AWS Access Key Id you provided does not exist in our records.',
          {
            AWSAccessKeyId: claim.accessKeyId,
          },
        );
      }
      throw error;
    });
    const verifyWith = (secret: string) =>
      verifySigV4(sigRequest, claim, secret, {
        service: 's3',
        payloadHash: contentSha256 ?? unsignedPayload,
      });
    let verified: ReturnType<typeof verifySigV4>;
    try {
      verified = verifyWith(resolved.secret);
    } catch (error) {
      // During a rotation's grace period a client may still sign with the replaced secret.
      if (resolved.previousSecret === undefined || !TrainyardError.is(error, 'UNAUTHENTICATED')) throw error;
      verified = verifyWith(resolved.previousSecret);
    }
    principal = resolved.principal;
    signing = { ...verified, amzDate: claim.amzDate, scope: claim.scope };
  }
  if (contentSha256 === unsignedPayload) contentSha256 = undefined;
  return s3RequestOf(request, addressed, principal, contentSha256, signing);
}

/** Resolves the key of a SigV2 presigned URL (boto3's default) and checks its signature. */
async function authenticateSigV2(
  keys: DoorServices['keys'],
  request: FastifyRequest,
  addressed: Addressed,
  sigRequest: SigV4Request,
  claim: NonNullable<ReturnType<typeof parseSigV2Query>>,
): Promise<S3Request> {
  const resolved = await keys.resolveAccessKeyId(claim.accessKeyId).catch((error: unknown) => {
    if (TrainyardError.is(error, 'UNAUTHENTICATED')) {
      throw new S3Error(
        'InvalidAccessKeyId',
        403,
        'The AWS Access Key Id you provided does not exist in our records.',
        {
          AWSAccessKeyId: claim.accessKeyId,
        },
      );
    }
    throw error;
  });
  verifySigV2(sigRequest, addressed.resourcePath, claim, resolved.secret);
  // A presigned body is not signed: nothing to check it against.
  return s3RequestOf(request, addressed, resolved.principal, undefined, undefined);
}

/** The S3 request of an authenticated caller, once its role may do what the method asks. */
function s3RequestOf(
  request: FastifyRequest,
  addressed: Addressed,
  principal: Principal,
  contentSha256: string | undefined,
  signing: ChunkSigning | undefined,
): S3Request {
  const raw = request.raw;
  const method = raw.method ?? 'GET';
  request.principal = principal;
  request.audit = { door: 's3', action: `${method} ${addressed.key === undefined ? 'bucket' : 'object'}` };
  const access = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  if (!roleMayAccess(principal.role, access)) {
    throw new S3Error(
      'AccessDenied',
      403,
      principal.role === 'invoker'
        ? `Access Denied: key ${principal.keyId} has role "invoker", which may not use S3`
        : `Access Denied: key ${principal.keyId} has role "${principal.role}", which may only read`,
    );
  }
  if (access === 'write' && addressed.bucket === platformBucket) {
    throw new S3Error(
      'AccessDenied',
      403,
      `Access Denied: bucket "${platformBucket}" holds the platform's dataset versions, fitted recipes and job outputs and is read-only through S3; write to a bucket of your own`,
    );
  }
  const protocol = (request.headers['x-forwarded-proto'] as string | undefined) ?? 'http';
  return {
    method,
    bucket: addressed.bucket,
    key: addressed.key,
    query: new Map(parseQuery(addressed.query)),
    headers: request.headers,
    raw,
    principal,
    contentSha256,
    signing,
    origin: `${protocol}://${request.headers.host ?? 'localhost'}`,
    shutdown: request.server.shutdownSignal,
  };
}

function send(reply: FastifyReply, response: S3Response): FastifyReply {
  reply.code(response.status);
  if (response.headers) reply.headers(response.headers);
  return reply.send(response.body ?? '');
}

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  resource: string,
  serverPaths: readonly string[],
): FastifyReply {
  let s3 = s3ErrorOf(error);
  if (!s3) {
    request.log.error({ err: error }, 's3 request failed');
    s3 = new S3Error(
      'InternalError',
      500,
      'We encountered an internal error. The request id identifies it in the server log.',
    );
  } else if (s3.status >= 500 && s3.code !== 'NotImplemented') {
    request.log.error({ err: error }, 's3 request failed');
  } else {
    // Client errors and unsupported operations are the caller's to fix: no stack trace.
    request.log.debug({ s3Error: s3.code, message: s3.message }, 's3 request refused');
  }
  reply.code(s3.status).header('x-amz-request-id', request.id);
  if (request.method === 'HEAD') return reply.send('');
  return reply.type('application/xml').send(redactServerPaths(s3.toXml(resource, request.id), serverPaths));
}
