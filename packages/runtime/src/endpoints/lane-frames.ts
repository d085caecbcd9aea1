import type { Socket } from 'node:net';

/**
 * The router's framed lane to the built-in model server: after a preface each way, both sides
 * send length-prefixed frames, many in flight per connection, matched by id.
 *
 * Frame layout (little-endian): u32 length of the rest, u32 id, u16 status (0 in requests),
 * u16 flags (bit 0: accept present, bit 1: custom attributes present), u16 × 3 byte lengths of
 * content type, accept and custom attributes, those three latin1 strings, then the body.
 * Requests carry content type, accept, custom attributes and body; answers carry status, content
 * type, custom attributes and body (accept empty).
 */
export const lanePreface = Buffer.from('TRAINYARD-LANE/1\n', 'latin1');

/** Bytes of a frame before its strings, the length field included. */
export const laneHeadBytes = 18;
const restMin = laneHeadBytes - 4;
const maxString = 0xffff;

export interface LaneFrame {
  id: number;
  /** 0 in requests; the HTTP status the model server would have answered in answers. */
  status: number;
  contentType: string;
  accept: string | undefined;
  customAttributes: string | undefined;
  body: Buffer;
}

/** A frame or preface that breaks the format: the connection cannot be trusted any further. */
export class LaneFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaneFrameError';
  }
}

/** One frame as one Buffer (one allocation, one write). Strings longer than 65 535 bytes are refused. */
export function encodeLaneFrame(frame: LaneFrame): Buffer {
  const accept = frame.accept ?? '';
  const attributes = frame.customAttributes ?? '';
  const typeBytes = frame.contentType.length;
  const acceptBytes = accept.length;
  const attributeBytes = attributes.length;
  if (typeBytes > maxString || acceptBytes > maxString || attributeBytes > maxString)
    throw new LaneFrameError('a frame string is longer than 65535 bytes');
  const strings = typeBytes + acceptBytes + attributeBytes;
  const out = Buffer.allocUnsafe(laneHeadBytes + strings + frame.body.length);
  out.writeUInt32LE(restMin + strings + frame.body.length, 0);
  out.writeUInt32LE(frame.id >>> 0, 4);
  out.writeUInt16LE(frame.status, 8);
  out.writeUInt16LE(
    (frame.accept !== undefined ? 1 : 0) | (frame.customAttributes !== undefined ? 2 : 0),
    10,
  );
  out.writeUInt16LE(typeBytes, 12);
  out.writeUInt16LE(acceptBytes, 14);
  out.writeUInt16LE(attributeBytes, 16);
  let at = laneHeadBytes;
  // latin1 keeps one byte per char: the strings come from HTTP headers, which node reads as latin1.
  if (typeBytes) at += out.write(frame.contentType, at, 'latin1');
  if (acceptBytes) at += out.write(accept, at, 'latin1');
  if (attributeBytes) at += out.write(attributes, at, 'latin1');
  frame.body.copy(out, at);
  return out;
}

/**
 * Splits a byte stream into frames, whatever the chunking: `push` returns the frames completed by
 * a chunk and throws LaneFrameError on a bad preface, a length beyond `maxFrameBytes` (checked
 * before any of that frame is buffered) or strings that overrun their frame.
 */
export class LaneFrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes needed before parsing is worth trying: the preface, a length field, or a whole frame. */
  #need: number;
  #preface: boolean;
  #failed = false;

  /** @param maxFrameBytes largest frame accepted, its length field included */
  constructor(maxFrameBytes: number, options: { preface?: boolean } = {}) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#preface = options.preface ?? true;
    this.#need = this.#preface ? lanePreface.length : 4;
  }

  push(chunk: Buffer): LaneFrame[] {
    if (this.#failed) throw new LaneFrameError('the stream already broke the format');
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size < this.#need) {
      // A preface is refused as soon as a byte differs, not after it has all come.
      if (this.#preface) this.#checkPreface(this.#joined());
      return [];
    }
    try {
      return this.#parse(this.#joined());
    } catch (error) {
      this.#failed = true;
      this.#chunks = [];
      this.#size = 0;
      throw error;
    }
  }

  /** Bytes held for a frame not yet whole. */
  get buffered(): number {
    return this.#size;
  }

  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    return this.#chunks[0] as Buffer;
  }

  #checkPreface(data: Buffer): void {
    const n = Math.min(data.length, lanePreface.length);
    if (data.compare(lanePreface, 0, n, 0, n) !== 0) {
      this.#failed = true;
      throw new LaneFrameError(
        `not the lane preface: ${JSON.stringify(data.toString('latin1', 0, Math.min(n, 32)))}`,
      );
    }
  }

  #parse(data: Buffer): LaneFrame[] {
    let at = 0;
    if (this.#preface) {
      this.#checkPreface(data);
      this.#preface = false;
      this.#need = 4;
      at = lanePreface.length;
    }
    const frames: LaneFrame[] = [];
    for (;;) {
      if (data.length - at < 4) break;
      const rest = data.readUInt32LE(at);
      if (rest < restMin) throw new LaneFrameError(`a frame of ${rest} bytes is shorter than its head`);
      if (rest + 4 > this.#maxFrameBytes)
        throw new LaneFrameError(`a frame of ${rest + 4} bytes is larger than ${this.#maxFrameBytes}`);
      const end = at + 4 + rest;
      if (data.length < end) {
        this.#need = end - at;
        break;
      }
      const typeBytes = data.readUInt16LE(at + 12);
      const acceptBytes = data.readUInt16LE(at + 14);
      const attributeBytes = data.readUInt16LE(at + 16);
      const flags = data.readUInt16LE(at + 10);
      let s = at + laneHeadBytes;
      if (s + typeBytes + acceptBytes + attributeBytes > end)
        throw new LaneFrameError('frame strings overrun the frame');
      if (flags > 3) throw new LaneFrameError(`unknown frame flags ${flags}`);
      const contentType = data.toString('latin1', s, s + typeBytes);
      s += typeBytes;
      const accept = flags & 1 ? data.toString('latin1', s, s + acceptBytes) : undefined;
      s += acceptBytes;
      const customAttributes = flags & 2 ? data.toString('latin1', s, s + attributeBytes) : undefined;
      s += attributeBytes;
      frames.push({
        id: data.readUInt32LE(at + 4),
        status: data.readUInt16LE(at + 8),
        contentType,
        accept,
        customAttributes,
        body: data.subarray(s, end),
      });
      at = end;
      this.#need = 4;
    }
    if (at >= data.length) {
      this.#chunks = [];
      this.#size = 0;
    } else {
      // The unfinished frame alone is kept (a copy, so the finished ones' buffer can go).
      const left = at === 0 ? data : Buffer.from(data.subarray(at));
      this.#chunks = [left];
      this.#size = left.length;
    }
    return frames;
  }
}

/**
 * Writes frames to a socket, joined per event-loop turn: the first write of a turn corks the
 * socket and a setImmediate uncorks it, so the frames of every request or answer made in one poll
 * phase leave in one writev.
 */
export class LaneWriter {
  readonly #socket: Socket;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  write(frame: Buffer): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(frame);
  }
}
