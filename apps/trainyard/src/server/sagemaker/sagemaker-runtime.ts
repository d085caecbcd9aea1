import { TrainyardError } from '@trainyard/contracts/errors';
import type { Principal } from '@trainyard/core/access/access-key-service';
import { sha256Hex } from '@trainyard/core/access/sigv4';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateSigV4, requireRole, sigV4RequestOf } from '../aws/aws-auth.js';
import type { DoorServices } from '../door-services.js';
import type { InvocationResult } from '../endpoint-router.js';
import { SageMakerError, sageMakerErrorOf } from './sagemaker-error.js';
import { arnPrefix } from './sagemaker-mapping.js';

/**
 * True for an AWS-signed call of the runtime API (`InvokeEndpoint` from the AWS SDKs, the aws CLI
 * or boto3): an `AWS4-HMAC-SHA256` Authorization header or a presigned query. Bearer calls of
 * the same path keep the REST API's behaviour and error shape.
 */
export function isSigV4Invocation(request: FastifyRequest): boolean {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') return authorization.startsWith('AWS4-HMAC-SHA256');
  return (request.raw.url ?? '').includes('X-Amz-Algorithm=');
}

/**
 * Checks an InvokeEndpoint signature (service `sagemaker`, the body's SHA-256 as the payload
 * hash: the SDKs sign it without sending it) and that the key may invoke.
 * @throws AwsAuthError or UNAUTHENTICATED TrainyardError, answered by sendRuntimeError
 */
export async function authenticateInvocation(
  services: Pick<DoorServices, 'settings' | 'keys'>,
  request: FastifyRequest,
  body: Buffer,
): Promise<Principal> {
  const raw = request.raw;
  const url = raw.url ?? '/';
  const at = url.indexOf('?');
  const caller = await authenticateSigV4(
    services,
    sigV4RequestOf(raw, at < 0 ? url : url.slice(0, at), at < 0 ? '' : url.slice(at + 1)),
    { service: 'sagemaker', payloadHash: () => sha256Hex(body) },
  );
  requireRole(caller.principal, 'invoke', 'InvokeEndpoint');
  return caller.principal;
}

/** The runtime API's names for a failure before the model answered (sagemaker-runtime's model). */
function runtimeErrorOf(error: unknown, endpoint: string): SageMakerError {
  if (TrainyardError.is(error, 'NOT_FOUND'))
    return new SageMakerError(
      'ValidationError',
      400,
      `Endpoint ${endpoint} of account ${arnPrefix.split(':')[4]} not found.`,
    );
  if (TrainyardError.is(error, 'INVALID_ARGUMENT') || TrainyardError.is(error, 'FAILED_PRECONDITION'))
    return new SageMakerError('ValidationError', 400, error.message);
  if (TrainyardError.is(error, 'UNAVAILABLE'))
    return new SageMakerError('ServiceUnavailable', 503, error.message);
  const mapped = sageMakerErrorOf(error);
  if (mapped && mapped.type !== 'ValidationException') return mapped;
  if (mapped) return new SageMakerError('ValidationError', 400, mapped.message);
  return new SageMakerError(
    'InternalFailure',
    500,
    'We encountered an internal error. The request id identifies it in the server log.',
  );
}

/** Answers a refused SigV4 invocation in the AWS error form (`x-amzn-ErrorType`, `message`). */
export function sendRuntimeError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  endpoint: string,
): FastifyReply {
  const failure = runtimeErrorOf(error, endpoint);
  if (failure.status >= 500 && failure.type === 'InternalFailure')
    request.log.error({ err: error }, 'invocation failed');
  return reply
    .code(failure.status)
    .header('x-amzn-RequestId', request.id)
    .header('x-amzn-ErrorType', failure.type)
    .type('application/json')
    .send(JSON.stringify({ message: failure.message }));
}

/**
 * The router's ModelError (the model answered 4xx/5xx) in sagemaker-runtime's shape:
 * 424 with `Message`, `OriginalStatusCode` and `OriginalMessage`, as the SDKs parse it.
 */
export function runtimeModelError(result: InvocationResult): InvocationResult {
  const parsed = JSON.parse(String(result.body)) as {
    error?: { message?: string; originalStatusCode?: number; originalMessage?: string };
  };
  return {
    ...result,
    headers: { ...result.headers, 'x-amzn-errortype': 'ModelError', 'content-type': 'application/json' },
    body: JSON.stringify({
      message: parsed.error?.message,
      OriginalStatusCode: parsed.error?.originalStatusCode,
      OriginalMessage: parsed.error?.originalMessage,
    }),
  };
}
