import { connect, type Socket } from 'node:net';
import { TrainyardError } from '@trainyard/contracts/errors';
import {
  encodeLaneFrame,
  LaneFrameDecoder,
  LaneFrameError,
  lanePreface,
} from '@trainyard/runtime/endpoints/lane-frames';
import {
  type InstanceAnswer,
  type InstanceRequest,
  MalformedAnswer,
  UnreachableInstance,
} from './instance-client.js';

/** Larger answers are refused, as on the HTTP hop: the router holds each answer in memory. */
const maxAnswerFrameBytes = 64 * 1024 * 1024;
/** A connection with nothing in flight for this long is closed. */
const idleMs = 30_000;
/** Requests held while the instance works on earlier ones go out at this many at the latest... */
const holdFrames = 64;
/** ...or after this many ms. */
const holdMs = 1;
/** Header values must not be able to add lines to the request (as on the HTTP hop). */
const unsafeValue = /[\r\n\0]/;
/** What node:http would refuse to send on in a response header. */
const unsendableValue = /[^\t\x20-\x7e\x80-\xff]/;

/** Why a header value cannot go on the lane, or undefined when it can. */
function unsafeHeader(value: string): string | undefined {
  if (value.length > 0xffff) return 'too long';
  return unsafeValue.test(value) ? 'line break or NUL' : undefined;
}

interface Pending {
  resolve(answer: InstanceAnswer): void;
  reject(error: Error): void;
  /** performance.now() after which it answers 504. */
  deadline: number;
  timeoutMs: number;
}

/**
 * One lane connection to an instance: many requests in flight, answered by id in any order.
 * When it fails, every request in flight fails with UnreachableInstance (the router tries another
 * instance); when the instance breaks the format, with MalformedAnswer (a 502-shaped ModelError).
 */
class LaneConnection {
  readonly socket: Socket;
  readonly pending = new Map<number, Pending>();
  readonly #decoder = new LaneFrameDecoder(maxAnswerFrameBytes);
  #nextId = 1;
  /** Frames not written yet, and whether a flush is scheduled (setImmediate) or armed (timer). */
  #queue: Buffer[] = [];
  #scheduled = false;
  #holdTimer: NodeJS.Timeout | undefined;
  /** Frames written whose answer has not come (nor timed out). */
  #unanswered = 0;
  /** Has answered at least once: a failure on it may be the instance restarting, not refusing. */
  answered = false;
  lastUsed = performance.now();
  gone = false;

  constructor(
    host: string,
    port: number,
    readonly onGone: (connection: LaneConnection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.write(lanePreface);
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.fail(new UnreachableInstance('the instance closed the lane')));
  }

  send(request: InstanceRequest, pending: Pending): number {
    const id = this.#nextId;
    this.#nextId = id >= 0xfffffffe ? 1 : id + 1;
    this.pending.set(id, pending);
    this.lastUsed = performance.now();
    this.#queue.push(
      encodeLaneFrame({
        id,
        status: 0,
        contentType: request.contentType,
        accept: request.accept,
        customAttributes: request.customAttributes,
        body: request.body,
      }),
    );
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flushSoon());
    }
    return id;
  }

  /** A request in flight ended without its answer (timeout): it no longer holds the queue. */
  forget(): void {
    if (this.#unanswered > 0) this.#unanswered -= 1;
  }

  /**
   * At the end of an event-loop turn: writes what the turn queued in one write, unless the
   * instance is still working on earlier frames. Then the queue waits for their answers (the
   * instance reads nothing sooner anyway: it is one thread), `holdFrames` or `holdMs`, so that
   * under load each write and each read on both sides carries many frames.
   */
  #flushSoon(): void {
    this.#scheduled = false;
    if (this.#unanswered > 0 && this.#queue.length < holdFrames) {
      this.#holdTimer ??= setTimeout(() => {
        this.#holdTimer = undefined;
        this.#flush();
      }, holdMs);
      return;
    }
    this.#flush();
  }

  #flush(): void {
    if (this.#holdTimer) {
      clearTimeout(this.#holdTimer);
      this.#holdTimer = undefined;
    }
    const queue = this.#queue;
    if (queue.length === 0 || this.gone) return;
    this.#queue = [];
    this.#unanswered += queue.length;
    if (queue.length === 1) this.socket.write(queue[0] as Buffer);
    else {
      this.socket.cork();
      for (const frame of queue) this.socket.write(frame);
      this.socket.uncork();
    }
  }

  /** Ends the connection; everything in flight fails with `error`. */
  fail(error: Error): void {
    if (!this.gone) {
      this.gone = true;
      this.#queue = [];
      if (this.#holdTimer) clearTimeout(this.#holdTimer);
      this.socket.destroy();
      this.onGone(this);
    }
    if (this.pending.size === 0) return;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(error);
  }

  #data(chunk: Buffer): void {
    let frames: ReturnType<LaneFrameDecoder['push']>;
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.fail(
        new MalformedAnswer(
          error instanceof LaneFrameError ? `the lane broke its format: ${error.message}` : String(error),
        ),
      );
      return;
    }
    for (const frame of frames) {
      const pending = this.pending.get(frame.id);
      if (!pending) {
        // An answer for a request that timed out is dropped; one for an id never sent breaks the lane.
        if (frame.id >= this.#nextId || frame.id === 0) {
          this.fail(new MalformedAnswer(`the lane answered id ${frame.id}, which was never sent`));
          return;
        }
        continue;
      }
      if (frame.status < 100 || frame.status > 599) {
        this.fail(new MalformedAnswer(`the lane answered status ${frame.status}`));
        return;
      }
      this.pending.delete(frame.id);
      this.forget();
      this.answered = true;
      this.lastUsed = performance.now();
      pending.resolve({
        status: frame.status,
        contentType:
          frame.contentType !== '' && !unsendableValue.test(frame.contentType)
            ? frame.contentType
            : undefined,
        customAttributes:
          frame.customAttributes !== undefined && !unsendableValue.test(frame.customAttributes)
            ? frame.customAttributes
            : undefined,
        // A copy when the body shares its read with other answers: each can be freed on its own.
        body: frames.length > 1 ? Buffer.from(frame.body) : frame.body,
      });
    }
    // The instance has answered: what waited for it goes now.
    if (this.#queue.length > 0 && !this.gone) this.#flush();
  }
}

/**
 * The router's client for the framed lane to our own model server (lane-frames.ts): one
 * connection per instance carries every request to it, requests and answers of one event-loop
 * turn leave in one write each way. Same promise as InstanceClient.post: the whole answer,
 * UnreachableInstance when the connection failed before it (another instance may take it),
 * MalformedAnswer, or status 504 after `timeoutMs`.
 */
export class LaneClient {
  readonly #connections = new Map<string, LaneConnection>();
  #sweeper: NodeJS.Timeout | undefined;
  #sweepMs = 0;
  #closed = false;

  post(laneUrl: string, request: InstanceRequest, timeoutMs: number): Promise<InstanceAnswer> {
    // Checked one by one (no array per request): the hot path.
    const bad =
      unsafeHeader(request.contentType) !== undefined
        ? 'Content-Type'
        : request.accept !== undefined && unsafeHeader(request.accept) !== undefined
          ? 'Accept'
          : request.customAttributes !== undefined && unsafeHeader(request.customAttributes) !== undefined
            ? 'X-Amzn-SageMaker-Custom-Attributes'
            : undefined;
    if (bad)
      return Promise.reject(
        new TrainyardError('INVALID_ARGUMENT', `${bad}: holds a line break or NUL, or is too long`, {
          field: bad,
        }),
      );
    if (this.#closed) return Promise.reject(new UnreachableInstance('the lane client is closed'));
    this.#watch(timeoutMs);
    return new Promise<InstanceAnswer>((resolve, reject) => {
      const attempt = (failed: LaneConnection | undefined) => {
        const connection = this.#connection(laneUrl, failed);
        const reused = connection.answered;
        connection.send(request, {
          resolve,
          reject: (error) => {
            // A connection that had served before closed (the far side went away as we wrote):
            // once more on a new one (shared by every request retried so) before the router
            // tries elsewhere.
            if (!failed && reused && error instanceof UnreachableInstance && !this.#closed)
              return attempt(connection);
            reject(error);
          },
          deadline: performance.now() + timeoutMs,
          timeoutMs,
        });
      };
      attempt(undefined);
    });
  }

  /** The open connection to `laneUrl` (never `failed`), or a new one. */
  #connection(laneUrl: string, failed: LaneConnection | undefined): LaneConnection {
    let connection = this.#connections.get(laneUrl);
    if (connection && !connection.gone && connection !== failed) return connection;
    const parsed = new URL(laneUrl);
    if (parsed.protocol !== 'tcp:' || !parsed.port)
      throw new TrainyardError('INTERNAL', `lane address ${JSON.stringify(laneUrl)} is not tcp://host:port`);
    connection = new LaneConnection(parsed.hostname.replace(/^\[|\]$/g, ''), Number(parsed.port), (gone) => {
      if (this.#connections.get(laneUrl) === gone) this.#connections.delete(laneUrl);
    });
    this.#connections.set(laneUrl, connection);
    return connection;
  }

  /** One timer for every request in flight (not one per request): ends the late ones with 504. */
  #watch(timeoutMs: number): void {
    const every = Math.min(1000, Math.max(5, Math.floor(timeoutMs / 10)));
    if (this.#sweeper && every >= this.#sweepMs) return;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweepMs = every;
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const now = performance.now();
    for (const connection of [...this.#connections.values()]) {
      for (const [id, p] of connection.pending)
        if (p.deadline <= now) {
          connection.pending.delete(id);
          connection.forget();
          p.resolve({
            status: 504,
            contentType: 'text/plain',
            customAttributes: undefined,
            body: Buffer.from(`the model did not answer within ${Math.round(p.timeoutMs / 1000)} s`),
          });
        }
      if (connection.pending.size === 0 && now - connection.lastUsed > idleMs)
        connection.fail(new UnreachableInstance('idle'));
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const connection of [...this.#connections.values()])
      connection.fail(new UnreachableInstance('the router is closing'));
    this.#connections.clear();
  }
}
