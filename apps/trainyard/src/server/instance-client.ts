import { connect, type Socket } from 'node:net';
import { TrainyardError } from '@trainyard/contracts/errors';

/** What an instance answered to `POST /invocations`. */
export interface InstanceAnswer {
  status: number;
  contentType: string | undefined;
  customAttributes: string | undefined;
  body: Buffer;
}

/** The instance could not be reached or dropped the connection before a whole answer: retry elsewhere. */
export class UnreachableInstance extends Error {}

/** The instance's answer is not HTTP we accept (too large a head or body, a broken framing). */
export class MalformedAnswer extends Error {}

export interface InstanceRequest {
  /** The instance's base URL, `http://host:port`. */
  url: string;
  contentType: string;
  accept: string | undefined;
  customAttributes: string | undefined;
  body: Buffer;
}

const maxHeadBytes = 64 * 1024;
/** Larger answers are refused: the router holds each answer in memory. */
const maxAnswerBytes = 64 * 1024 * 1024;
/** Bodies up to this size go out in the same write as the request head (one syscall, one segment). */
const joinBodyBytes = 16 * 1024;
/** Idle keep-alive connections older than this are closed (the instance may restart meanwhile). */
const idleMs = 30_000;
const maxConnectionsPerInstance = 512;
const crlfcrlf = Buffer.from('\r\n\r\n');
/** Header values must not be able to add lines to the request. */
const unsafeValue = /[\r\n\0]/;
/** What node:http would refuse to send on in a response header. */
const unsendableValue = /[^\t\x20-\x7e\x80-\xff]/;

interface AnswerHead {
  status: number;
  contentType?: string;
  customAttributes?: string;
  /** The instance will close the connection after this answer. */
  close: boolean;
}

interface Exchange {
  resolve(answer: InstanceAnswer): void;
  reject(error: Error): void;
}

/**
 * One keep-alive HTTP/1.1 connection to an instance, serving one exchange at a time. It parses
 * only what the router needs from the answer (status, Content-Type, the custom attributes,
 * Content-Length or chunked framing), which is what makes it cheaper than node:http's client.
 */
class InstanceConnection {
  readonly socket: Socket;
  idleSince = 0;
  /** Answered at least once: a failure before any answer byte may be a keep-alive race. */
  reused = false;
  #exchange: Exchange | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #head: AnswerHead | undefined;
  #bodyStart = 0;
  /** Content-Length, or -1 for chunked, or -2 for "until the connection closes". */
  #length = 0;
  #closed = false;

  constructor(
    host: string,
    port: number,
    readonly onIdle: (connection: InstanceConnection) => void,
    readonly onGone: (connection: InstanceConnection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.#close());
  }

  get busy(): boolean {
    return this.#exchange !== undefined;
  }

  send(head: string, body: Buffer, exchange: Exchange): void {
    this.#exchange = exchange;
    this.#chunks = [];
    this.#size = 0;
    this.#head = undefined;
    if (body.length <= joinBodyBytes) {
      const headBytes = Buffer.byteLength(head, 'latin1');
      const out = Buffer.allocUnsafe(headBytes + body.length);
      out.write(head, 0, 'latin1');
      body.copy(out, headBytes);
      this.socket.write(out);
    } else {
      this.socket.cork();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    }
  }

  /** Ends the connection; an exchange in flight fails with `error`. */
  destroy(error?: Error): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.socket.destroy();
    if (exchange) exchange.reject(error ?? new UnreachableInstance('connection closed'));
  }

  #data(chunk: Buffer): void {
    if (!this.#exchange) {
      // Bytes nobody asked for: the connection is out of step; never reuse it.
      this.destroy();
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    try {
      this.#parse();
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    return this.#chunks[0] as Buffer;
  }

  #parse(): void {
    while (!this.#head) {
      const data = this.#joined();
      const end = data.indexOf(crlfcrlf);
      if (end < 0) {
        if (data.length > maxHeadBytes) throw new MalformedAnswer('the answer head is larger than 64 KiB');
        return;
      }
      const head = data.toString('latin1', 0, end);
      // An informational answer (100 Continue, 103 Early Hints) comes before the real one: skip it.
      if (/^HTTP\/1\.[01] 1\d\d(?: |$)/.test(head)) {
        this.#chunks = [data.subarray(end + 4)];
        this.#size = data.length - end - 4;
        continue;
      }
      this.#readHead(head);
      this.#bodyStart = end + 4;
    }
    const data = this.#joined();
    if (this.#length >= 0) {
      if (data.length - this.#bodyStart >= this.#length)
        this.#finish(
          data.subarray(this.#bodyStart, this.#bodyStart + this.#length),
          data.length - this.#bodyStart > this.#length,
        );
      return;
    }
    if (this.#length === -1) {
      const body = dechunk(data, this.#bodyStart);
      if (body) this.#finish(body.body, body.end < data.length);
    }
    if (this.#size > maxAnswerBytes) throw new MalformedAnswer('the answer is larger than 64 MiB');
  }

  #readHead(text: string): void {
    const lines = text.split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (!status)
      throw new MalformedAnswer(
        `not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`,
      );
    const head: AnswerHead = { status: Number(status[2]), close: status[1] === '0' };
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MalformedAnswer('a header line without a name');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value)))
          throw new MalformedAnswer(`Content-Length ${JSON.stringify(value)}`);
        length = Number(value);
      } else if (name === 'transfer-encoding')
        chunked = value.toLowerCase().split(',').at(-1)?.trim() === 'chunked';
      else if (name === 'connection') head.close ||= value.toLowerCase().includes('close');
      else if (name === 'content-type' && !unsendableValue.test(value)) head.contentType = value;
      else if (name === 'x-amzn-sagemaker-custom-attributes' && !unsendableValue.test(value))
        head.customAttributes = value;
    }
    if (chunked) this.#length = -1;
    else if (length !== undefined) {
      if (length > maxAnswerBytes) throw new MalformedAnswer('the answer is larger than 64 MiB');
      this.#length = length;
    } else if (head.status === 204 || head.status === 304) this.#length = 0;
    else {
      this.#length = -2;
      head.close = true;
    }
    this.#head = head;
  }

  #finish(body: Buffer, extra: boolean): void {
    const head = this.#head!;
    const exchange = this.#exchange!;
    this.#exchange = undefined;
    this.#chunks = [];
    this.#size = 0;
    exchange.resolve({
      status: head.status,
      contentType: head.contentType,
      customAttributes: head.customAttributes,
      // A copy when the body is a slice of a larger read: the rest of that buffer is not held.
      body: extra ? Buffer.from(body) : body,
    });
    if (head.close || extra) this.destroy();
    else {
      this.reused = true;
      this.onIdle(this);
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const exchange = this.#exchange;
    this.#exchange = undefined;
    if (exchange) {
      // An answer framed by the end of the connection is whole now.
      if (this.#head && this.#length === -2) {
        const data = this.#joined();
        exchange.resolve({
          status: this.#head.status,
          contentType: this.#head.contentType,
          customAttributes: this.#head.customAttributes,
          body: data.subarray(this.#bodyStart),
        });
      } else
        exchange.reject(
          Object.assign(new UnreachableInstance('the instance closed the connection'), {
            answered: this.#size > 0,
          }),
        );
    }
    this.onGone(this);
  }
}

/** Decodes a chunked body starting at `start`; undefined while incomplete. */
function dechunk(data: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  let size = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at, 'latin1');
    if (eol < 0) {
      if (data.length - at > 1024) throw new MalformedAnswer('a chunk size line longer than 1 KiB');
      return undefined;
    }
    const sizeText = data.toString('latin1', at, eol).split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
      throw new MalformedAnswer(`chunk size ${JSON.stringify(sizeText)}`);
    const length = Number.parseInt(sizeText, 16);
    if (length === 0) {
      // Trailers (ignored) end with an empty line; without trailers it follows at once.
      let end: number;
      if (data.length < eol + 4) return undefined;
      if (data[eol + 2] === 13 && data[eol + 3] === 10) end = eol + 4;
      else {
        const trailers = data.indexOf(crlfcrlf, eol + 2);
        if (trailers < 0) return undefined;
        end = trailers + 4;
      }
      return { body: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size), end };
    }
    if (data.length < eol + 2 + length + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + length));
    size += length;
    if (size > maxAnswerBytes) throw new MalformedAnswer('the answer is larger than 64 MiB');
    at = eol + 2 + length + 2;
  }
}

/** Idle connections and waiters of one instance. */
interface InstancePool {
  host: string;
  port: number;
  idle: InstanceConnection[];
  open: number;
  waiting: Array<(connection: InstanceConnection) => void>;
}

/**
 * The router's client for the hop to instances: `POST /invocations` over keep-alive HTTP/1.1
 * connections, one exchange per connection at a time, at most 512 connections per instance
 * (more requests wait for one). It is node:http's client minus what the router does not use
 * (no header objects, no streams per request, one write per small request).
 */
export class InstanceClient {
  readonly #pools = new Map<string, InstancePool>();
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor() {
    this.#sweeper = setInterval(() => this.#sweep(), idleMs / 3);
    this.#sweeper.unref();
  }

  /**
   * Sends the request; resolves with the whole answer, rejects with UnreachableInstance when the
   * connection failed before a whole answer came (nothing was answered: another instance may
   * take it) or MalformedAnswer. `timeoutMs` ends the exchange with status 504.
   */
  post(request: InstanceRequest, timeoutMs: number): Promise<InstanceAnswer> {
    for (const [field, value] of [
      ['Content-Type', request.contentType],
      ['Accept', request.accept],
      ['X-Amzn-SageMaker-Custom-Attributes', request.customAttributes],
    ] as const)
      if (value !== undefined && unsafeValue.test(value))
        return Promise.reject(
          new TrainyardError('INVALID_ARGUMENT', `${field}: holds a line break or NUL`, { field }),
        );
    const pool = this.#pool(request.url);
    let head = `POST /invocations HTTP/1.1\r\nHost: ${pool.host}:${pool.port}\r\nContent-Type: ${request.contentType}\r\nContent-Length: ${request.body.length}\r\n`;
    if (request.accept) head += `Accept: ${request.accept}\r\n`;
    if (request.customAttributes !== undefined)
      head += `X-Amzn-SageMaker-Custom-Attributes: ${request.customAttributes}\r\n`;
    head += '\r\n';
    return new Promise<InstanceAnswer>((resolve, reject) => {
      let connection: InstanceConnection | undefined;
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        connection?.destroy(new Error('timeout'));
        resolve({
          status: 504,
          contentType: 'text/plain',
          customAttributes: undefined,
          body: Buffer.from(`the model did not answer within ${Math.round(timeoutMs / 1000)} s`),
        });
      }, timeoutMs);
      const attempt = (fresh: boolean) => {
        this.#take(pool, fresh, (taken) => {
          if (done) {
            this.#release(pool, taken);
            return;
          }
          connection = taken;
          const wasReused = taken.reused;
          taken.send(head, request.body, {
            resolve: (answer) => {
              done = true;
              clearTimeout(timer);
              resolve(answer);
            },
            reject: (error) => {
              if (done) return;
              // A kept-alive connection the instance closed as we wrote: once more on a new one.
              if (
                wasReused &&
                error instanceof UnreachableInstance &&
                !(error as { answered?: boolean }).answered &&
                !this.#closed
              )
                return attempt(true);
              done = true;
              clearTimeout(timer);
              reject(error);
            },
          });
        });
      };
      attempt(false);
    });
  }

  #pool(url: string): InstancePool {
    let pool = this.#pools.get(url);
    if (!pool) {
      const parsed = new URL(url);
      pool = {
        host: parsed.hostname.replace(/^\[|\]$/g, ''),
        port: Number(parsed.port || 80),
        idle: [],
        open: 0,
        waiting: [],
      };
      this.#pools.set(url, pool);
    }
    return pool;
  }

  #take(pool: InstancePool, fresh: boolean, use: (connection: InstanceConnection) => void): void {
    if (!fresh) {
      let idle = pool.idle.pop();
      // One the sweeper ended whose 'close' has not come yet is not reusable.
      while (idle?.socket.destroyed) idle = pool.idle.pop();
      if (idle) {
        use(idle);
        return;
      }
    }
    if (pool.open >= maxConnectionsPerInstance) {
      pool.waiting.push(use);
      return;
    }
    pool.open += 1;
    use(
      new InstanceConnection(
        pool.host,
        pool.port,
        (connection) => this.#release(pool, connection),
        (connection) => {
          pool.open -= 1;
          const at = pool.idle.indexOf(connection);
          if (at >= 0) pool.idle.splice(at, 1);
          const next = pool.waiting.shift();
          if (next) this.#take(pool, true, next);
        },
      ),
    );
  }

  #release(pool: InstancePool, connection: InstanceConnection): void {
    if (this.#closed) {
      connection.destroy();
      return;
    }
    const next = pool.waiting.shift();
    if (next) {
      next(connection);
      return;
    }
    connection.idleSince = Date.now();
    pool.idle.push(connection);
  }

  #sweep(): void {
    const before = Date.now() - idleMs;
    for (const [url, pool] of this.#pools) {
      for (const connection of pool.idle.filter((c) => c.idleSince < before)) connection.destroy();
      if (pool.open === 0 && pool.waiting.length === 0) this.#pools.delete(url);
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const pool of this.#pools.values()) for (const connection of [...pool.idle]) connection.destroy();
    this.#pools.clear();
  }
}
