import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  BadInvocationError,
  formatPredictions,
  type InvocationContentType,
  invocationTypeOf,
  loadServedModel,
  parseInvocation,
  requestTypeOf,
  type ServedModel,
} from './served-model.js';

const maxBodyBytes = 6 * 1024 * 1024;

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function acceptOf(
  header: string | undefined,
  fallback: InvocationContentType,
): InvocationContentType | undefined {
  if (!header || header.includes('*/*')) return fallback;
  for (const part of header.split(',')) {
    const type = invocationTypeOf(part);
    if (type) return type;
  }
  return undefined;
}

function invoke(
  model: ServedModel,
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
): void | Promise<void> {
  const type = requestTypeOf(request.headers['content-type']);
  if (!type)
    throw new BadInvocationError(
      `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; use text/csv, application/json, application/jsonlines or application/x-npy`,
      415,
    );
  // NPY in, JSON out unless the caller asks for another text type (SageMaker's XGBoost container does the same).
  const accept = acceptOf(request.headers.accept, type === 'application/x-npy' ? 'application/json' : type);
  if (!accept)
    throw new BadInvocationError(
      `Accept ${JSON.stringify(request.headers.accept)} is not supported; use text/csv, application/json or application/jsonlines`,
      406,
    );
  const x = parseInvocation(body, type, model.numFeatures);
  const predictions = model.predict(x);
  // The built-in runtimes answer at once; only ONNX Runtime's run() is asynchronous.
  if (predictions instanceof Promise)
    return predictions.then((p) => send(response, 200, accept, formatPredictions(p, x.rows, accept)));
  send(response, 200, accept, formatPredictions(predictions, x.rows, accept));
}

/**
 * A model that reads request bodies itself, such as a script handler's hooks: it gets the bytes
 * with their content type and the wanted `Accept`, and returns the response body and its type.
 */
export interface InvocationHandler {
  description: string;
  invoke(
    body: Buffer,
    contentType: string | undefined,
    accept: string | undefined,
  ): Promise<{ body: string | Uint8Array; contentType: string }>;
}

function sendError(response: ServerResponse, error: unknown): void {
  if (error instanceof BadInvocationError) send(response, error.status, 'text/plain', error.message);
  else if ((error as Error).name === 'MlInputError')
    send(response, 400, 'text/plain', (error as Error).message);
  else {
    process.stderr.write(`invocation failed: ${(error as Error).stack ?? String(error)}\n`);
    send(response, 500, 'text/plain', `prediction failed: ${(error as Error).message}`);
  }
}

/**
 * The built-in model server of the SageMaker container contract: `GET /ping` answers 200 once the
 * model is loaded, `POST /invocations` predicts rows of `text/csv`, `application/json` or
 * `application/jsonlines`. Input problems answer 4xx with a plain-text message the router passes on.
 */
export async function startModelServer(options: {
  modelDir: string;
  port: number;
  host?: string;
  /** ONNX Runtime threads per prediction. Default 1. */
  threads?: number;
  /** Serve this handler (script hooks) instead of the model found in `modelDir`. */
  handler?: InvocationHandler;
}): Promise<{
  server: Server;
  model: ServedModel | InvocationHandler;
}> {
  const handler = options.handler;
  const model = handler ?? (await loadServedModel(options.modelDir, { threads: options.threads ?? 1 }));
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/ping') return send(response, 200, 'text/plain', 'ok\n');
    if (request.method !== 'POST' || request.url !== '/invocations')
      return send(response, 404, 'text/plain', `no route ${request.method} ${request.url}\n`);
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on('end', () => {
      try {
        if (size > maxBodyBytes) throw new BadInvocationError('the body is larger than 6 MiB', 413);
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (handler) {
          handler.invoke(body, request.headers['content-type'], request.headers.accept).then(
            (answer) => {
              response.writeHead(200, {
                'content-type': answer.contentType,
                'content-length': Buffer.byteLength(answer.body),
              });
              response.end(answer.body);
            },
            (error: unknown) => sendError(response, error),
          );
          return;
        }
        const pending = invoke(model as ServedModel, request, response, body);
        if (pending) pending.catch((error: unknown) => sendError(response, error));
      } catch (error) {
        sendError(response, error);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return { server, model };
}
