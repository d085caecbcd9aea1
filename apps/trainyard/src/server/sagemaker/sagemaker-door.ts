import { sha256Hex } from '@trainyard/core/access/sigv4';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateSigV4, requireRole, sigV4RequestOf } from '../aws/aws-auth.js';
import type { DoorServices } from '../door-services.js';
import { SageMakerError, sageMakerErrorOf } from './sagemaker-error.js';
import { type SageMakerOperation, sageMakerOperations } from './sagemaker-operations.js';
import { sageMakerTuningOperations } from './sagemaker-tuning-operations.js';
import { validateInput } from './sagemaker-validate.js';

/** The SageMaker control plane's target prefix: `X-Amz-Target: SageMaker.<Operation>`. */
export const targetPrefix = 'SageMaker.';
const jsonType = 'application/x-amz-json-1.1';
/** SageMaker requests are small JSON documents; this bounds what the door buffers. */
const maxBodyBytes = 6 * 1024 * 1024;

/** Reads the whole body, which the signature covers by its SHA-256 (the SDKs do not send it). */
async function readBody(request: FastifyRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) {
      throw new SageMakerError(
        'ValidationException',
        400,
        `the request body is larger than ${maxBodyBytes} bytes`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The SageMaker-compatible control plane on the REST API's listener: `POST /` with
 * `X-Amz-Target: SageMaker.<Operation>` and an AWS JSON 1.1 body, SigV4-signed for service
 * `sagemaker` with any Trainyard access key. Like the S3 door it answers from an onRequest hook,
 * before Fastify parses the body, because the signature covers the body's exact bytes.
 */
export async function sageMakerDoor(
  app: FastifyInstance,
  options: { services: DoorServices },
): Promise<void> {
  const { services } = options;
  const operations = { ...sageMakerOperations(services), ...sageMakerTuningOperations(services) };

  app.addHook('onRequest', async (request, reply) => {
    const target = request.headers['x-amz-target'];
    if (typeof target !== 'string' || !target.startsWith(targetPrefix)) return;
    try {
      if (request.method !== 'POST' || (request.raw.url ?? '/').split('?')[0] !== '/') {
        throw new SageMakerError(
          'UnknownOperationException',
          404,
          'SageMaker operations are POST / requests',
        );
      }
      const name = target.slice(targetPrefix.length);
      const operation: SageMakerOperation | undefined = Object.hasOwn(operations, name)
        ? operations[name]
        : undefined;
      const body = await readBody(request);
      const raw = request.raw;
      const url = raw.url ?? '/';
      const at = url.indexOf('?');
      const caller = await authenticateSigV4(
        services,
        sigV4RequestOf(raw, at < 0 ? url : url.slice(0, at), at < 0 ? '' : url.slice(at + 1)),
        { service: 'sagemaker', payloadHash: () => sha256Hex(body) },
      );
      if (!operation) {
        throw new SageMakerError(
          'UnknownOperationException',
          400,
          `Trainyard does not support the SageMaker operation ${name}; supported: ${Object.keys(operations).join(', ')}`,
        );
      }
      request.principal = caller.principal;
      // Every call is a POST: only the operations that change something go to the audit log.
      if (operation.access !== 'read') request.audit = { door: 'sagemaker', action: name };
      requireRole(caller.principal, operation.access, `SageMaker.${name}`);
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        throw new SageMakerError('SerializationException', 400, 'the request body is not valid JSON');
      }
      validateInput(name, input);
      const output = await operation.handle(input as Record<string, unknown>);
      return reply
        .code(200)
        .header('x-amzn-RequestId', request.id)
        .type(jsonType)
        .send(JSON.stringify(output));
    } catch (error) {
      return sendError(request, reply, error);
    }
  });
}
// Hooks added by this plugin must apply to the whole app, not an encapsulated child.
(sageMakerDoor as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  let failure = sageMakerErrorOf(error);
  if (!failure) {
    request.log.error({ err: error }, 'sagemaker request failed');
    failure = new SageMakerError(
      'InternalFailure',
      500,
      'We encountered an internal error. The request id identifies it in the server log.',
    );
  } else if (failure.status >= 500) {
    request.log.error({ err: error }, 'sagemaker request failed');
  }
  return reply
    .code(failure.status)
    .header('x-amzn-RequestId', request.id)
    .header('x-amzn-ErrorType', failure.type)
    .type(jsonType)
    .send(JSON.stringify({ __type: failure.type, message: failure.message }));
}

/** The README's table of supported operations, from the dispatcher's own table. */
export function operationsMarkdown(operations: Record<string, SageMakerOperation>): string {
  const rows = Object.entries(operations).map(
    ([name, operation]) => `| \`${name}\` | ${operation.access} | ${operation.summary} |`,
  );
  return ['| operation | access | maps to |', '| --- | --- | --- |', ...rows, ''].join('\n');
}
