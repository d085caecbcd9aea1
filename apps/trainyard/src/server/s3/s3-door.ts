import { TrainyardError } from '@trainyard/contracts/errors';
import { platformBucket } from '@trainyard/contracts/platform-namespace';
import type { Principal } from '@trainyard/core/access/access-key-service';
import { hasSigV2Query, parseSigV2Query, verifySigV2 } from '@trainyard/core/access/sigv2';
import { hasSigV4, parseQuery, type SigV4Request, unsignedPayload } from '@trainyard/core/access/sigv4';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AwsAuthError,
  type AwsCaller,
  authenticateSigV4,
  requireRole,
  resolveAwsKey,
  sigV4RequestOf,
} from '../aws/aws-auth.js';
import type { DoorServices, DoorSettings } from '../door-services.js';
import { redactServerPaths } from '../server-paths.js';
import type { ChunkSigning } from './aws-chunked-decoder.js';
import { BodyDigestPool } from './body-digest-pool.js';
import { S3Error, s3ErrorOf } from './s3-error.js';
import { S3Operations } from './s3-operations.js';
import type { S3Request, S3Response } from './s3-request.js';

/** Host names under which `<bucket>.<name>` addresses a bucket (virtual-hosted style). */
function virtualHostBases({ host }: DoorSettings): string[] {
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return ['localhost', ...(isIp ? [] : [host])];
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
  const digests = new BodyDigestPool();
  app.decorate('s3BodyDigests', digests);
  app.addHook('onClose', async () => digests.close());

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
      const s3Request = { ...(await authenticate(services, request, addressed)), digests };
      const response = await operations.handle(s3Request);
      return send(reply, response);
    } catch (error) {
      return sendError(request, reply, error, resource, serverPaths);
    }
  });
}
declare module 'fastify' {
  interface FastifyInstance {
    /** Hashes the S3 door's large request bodies off the request thread (tests check it leaks no job). */
    s3BodyDigests: BodyDigestPool;
  }
}

// Hooks added by this plugin must apply to the whole app, not an encapsulated child.
(s3Door as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

async function authenticate(
  services: Pick<DoorServices, 'settings' | 'keys'>,
  request: FastifyRequest,
  addressed: Addressed,
): Promise<S3Request> {
  const raw = request.raw;
  const sigRequest = sigV4RequestOf(raw, addressed.path, addressed.query);
  const v2Claim = parseSigV2Query(addressed.query);
  if (v2Claim && services.settings.auth)
    return authenticateSigV2(services.keys, request, addressed, sigRequest, v2Claim);
  const contentSha256Header = request.headers['x-amz-content-sha256'];
  let contentSha256 = typeof contentSha256Header === 'string' ? contentSha256Header : undefined;
  let caller: AwsCaller;
  try {
    caller = await authenticateSigV4(services, sigRequest, {
      service: 's3',
      payloadHash: (claim) => {
        if (claim.form === 'header' && contentSha256 === undefined) {
          throw new S3Error(
            'InvalidRequest',
            400,
            'Missing required header for this request: x-amz-content-sha256',
          );
        }
        return contentSha256 ?? unsignedPayload;
      },
    });
  } catch (error) {
    if (
      TrainyardError.is(error) &&
      error.details.stage === 'parse' &&
      /X-Amz-Algorithm=/.test(addressed.query)
    ) {
      throw new S3Error('AuthorizationQueryParametersError', 400, error.message);
    }
    throw s3AuthError(error);
  }
  const { principal, claim, verified } = caller;
  const signing: ChunkSigning | undefined =
    verified && claim ? { ...verified, amzDate: claim.amzDate, scope: claim.scope } : undefined;
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
  const resolved = await resolveAwsKey(keys, claim.accessKeyId).catch((error: unknown) => {
    throw s3AuthError(error);
  });
  try {
    verifySigV2(sigRequest, addressed.resourcePath, claim, resolved.secret);
  } catch (error) {
    // During a rotation's grace period a client may still sign with the replaced secret.
    if (resolved.previousSecret === undefined || !TrainyardError.is(error, 'UNAUTHENTICATED')) throw error;
    verifySigV2(sigRequest, addressed.resourcePath, claim, resolved.previousSecret);
  }
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
  try {
    requireRole(principal, access, 'S3');
  } catch (error) {
    throw s3AuthError(error);
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

/** The S3 names of the shared AWS door's refusals. */
function s3AuthError(error: unknown): unknown {
  if (!(error instanceof AwsAuthError)) return error;
  switch (error.problem) {
    case 'anonymous':
      return new S3Error('AccessDenied', 403, error.message);
    case 'unknown-key':
      return new S3Error('InvalidAccessKeyId', 403, error.message, {
        AWSAccessKeyId: error.accessKeyId ?? '',
      });
    case 'role':
      return new S3Error('AccessDenied', 403, `Access Denied: ${error.message}`);
  }
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
