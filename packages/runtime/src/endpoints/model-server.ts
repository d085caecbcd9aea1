import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import {
  encodeLaneFrame,
  type LaneFrame,
  LaneFrameDecoder,
  LaneWriter,
  laneHeadBytes,
  lanePreface,
} from './lane-frames.js';
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

/** What the built-in server answers to one invocation, whichever way it came (HTTP or the lane). */
interface Answer {
  status: number;
  contentType: string;
  body: string;
}

function predictAnswer(
  model: ServedModel,
  contentType: string | undefined,
  acceptHeader: string | undefined,
  body: Buffer,
): Answer | Promise<Answer> {
  const type = requestTypeOf(contentType);
  if (!type)
    throw new BadInvocationError(
      `content type ${JSON.stringify(contentType ?? '')} is not supported; use text/csv, application/json, application/jsonlines or application/x-npy`,
      415,
    );
  // NPY in, JSON out unless the caller asks for another text type (SageMaker's XGBoost container does the same).
  const accept = acceptOf(acceptHeader, type === 'application/x-npy' ? 'application/json' : type);
  if (!accept)
    throw new BadInvocationError(
      `Accept ${JSON.stringify(acceptHeader)} is not supported; use text/csv, application/json or application/jsonlines`,
      406,
    );
  const x = parseInvocation(body, type, model.numFeatures);
  const predictions = model.predict(x);
  // The built-in runtimes answer at once; only ONNX Runtime's run() is asynchronous.
  if (predictions instanceof Promise)
    return predictions.then((p) => ({
      status: 200,
      contentType: accept,
      body: formatPredictions(p, x.rows, accept),
    }));
  return { status: 200, contentType: accept, body: formatPredictions(predictions, x.rows, accept) };
}

/** The answer to a failed invocation: 4xx with the message for the caller's mistakes, else 500. */
function errorAnswer(error: unknown): Answer {
  if (error instanceof BadInvocationError)
    return { status: error.status, contentType: 'text/plain', body: error.message };
  if ((error as Error).name === 'MlInputError')
    return { status: 400, contentType: 'text/plain', body: (error as Error).message };
  process.stderr.write(`invocation failed: ${(error as Error).stack ?? String(error)}\n`);
  return { status: 500, contentType: 'text/plain', body: `prediction failed: ${(error as Error).message}` };
}

function sendAnswer(response: ServerResponse, answer: Answer): void {
  send(response, answer.status, answer.contentType, answer.body);
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
  sendAnswer(response, errorAnswer(error));
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
  /**
   * Also listen on this port for the router's framed lane (lane-frames.ts). Only the built-in
   * models take it: with `handler` it is refused.
   */
  lanePort?: number;
}): Promise<{
  server: Server;
  /** The lane's listener, when `lanePort` was given. */
  lane?: NetServer;
  model: ServedModel | InvocationHandler;
}> {
  if (options.handler && options.lanePort !== undefined)
    throw new Error('the lane serves built-in models only, not script handlers');
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
        const answer = predictAnswer(
          model as ServedModel,
          request.headers['content-type'],
          request.headers.accept,
          body,
        );
        if (answer instanceof Promise)
          answer.then(
            (a) => sendAnswer(response, a),
            (error: unknown) => sendError(response, error),
          );
        else sendAnswer(response, answer);
      } catch (error) {
        sendError(response, error);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  // The lane listens first: once /ping answers, the router may use it at once.
  let lane: NetServer | undefined;
  if (options.lanePort !== undefined) {
    const served = model as ServedModel;
    const listener = createNetServer({ noDelay: true }, (socket) => serveLane(served, socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(options.lanePort, options.host ?? '127.0.0.1', () => resolve());
    });
    lane = listener;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return lane ? { server, lane, model } : { server, model };
}

/** The largest request frame: a 6 MiB body and three strings of at most 64 KiB. */
const maxRequestFrameBytes = laneHeadBytes + maxBodyBytes + 3 * 0xffff;

/**
 * One lane connection from the router: answers each request frame with a frame of the same id,
 * the status and body the HTTP path would have given. Answers of one event-loop turn leave in one
 * write. A connection that breaks the format is closed (the router fails its requests over).
 */
function serveLane(model: ServedModel, socket: Socket): void {
  const decoder = new LaneFrameDecoder(maxRequestFrameBytes);
  const writer = new LaneWriter(socket);
  const answer = (id: number, a: Answer) => {
    if (socket.destroyed) return;
    writer.write(
      encodeLaneFrame({
        id,
        status: a.status,
        contentType: a.contentType,
        accept: undefined,
        customAttributes: undefined,
        body: Buffer.from(a.body, 'utf8'),
      }),
    );
  };
  const one = (frame: LaneFrame) => {
    try {
      const result = predictAnswer(model, frame.contentType, frame.accept, frame.body);
      if (result instanceof Promise)
        result.then(
          (a) => answer(frame.id, a),
          (error: unknown) => answer(frame.id, errorAnswer(error)),
        );
      else answer(frame.id, result);
    } catch (error) {
      answer(frame.id, errorAnswer(error));
    }
  };
  socket.write(lanePreface);
  socket.on('data', (chunk: Buffer) => {
    let frames: LaneFrame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      process.stderr.write(`lane connection closed: ${(error as Error).message}\n`);
      socket.destroy();
      return;
    }
    for (const frame of frames) one(frame);
  });
  socket.on('error', () => undefined);
}
