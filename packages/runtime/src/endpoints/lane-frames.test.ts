import { describe, expect, it } from 'vitest';
import {
  encodeLaneFrame,
  type LaneFrame,
  LaneFrameDecoder,
  LaneFrameError,
  laneHeadBytes,
  lanePreface,
} from './lane-frames.js';

const frame = (id: number, body: string, extra: Partial<LaneFrame> = {}): LaneFrame => ({
  id,
  status: 0,
  contentType: 'text/csv',
  accept: 'application/json',
  customAttributes: undefined,
  body: Buffer.from(body),
  ...extra,
});

function stream(...frames: LaneFrame[]): Buffer {
  return Buffer.concat([lanePreface, ...frames.map(encodeLaneFrame)]);
}

const plain = (f: LaneFrame) => ({ ...f, body: f.body.toString('latin1') });

describe('lane frames', () => {
  it('round-trips frames whatever the chunking: byte by byte, split anywhere, many in one chunk', () => {
    const frames = [
      frame(1, '1,2,3'),
      frame(2, '', { status: 200, accept: undefined, customAttributes: 'trace=1' }),
      frame(3, 'x'.repeat(70_000), { contentType: '', accept: '', customAttributes: '' }),
      frame(0xfffffffe, '\u00ff\u0000\r\n', { status: 599, contentType: 'application/x-npy' }),
    ];
    const bytes = stream(...frames);
    const expected = frames.map(plain);
    // All at once.
    expect(new LaneFrameDecoder(1 << 20).push(bytes).map(plain)).toEqual(expected);
    // One byte at a time.
    const decoder = new LaneFrameDecoder(1 << 20);
    const got: LaneFrame[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...decoder.push(bytes.subarray(i, i + 1)));
    expect(got.map(plain)).toEqual(expected);
    expect(decoder.buffered).toBe(0);
    // Every split point of the first 200 bytes into two chunks (inside the preface, the length, the head).
    for (let cut = 1; cut < 200; cut++) {
      const d = new LaneFrameDecoder(1 << 20);
      const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(out.map(plain)).toEqual(expected);
    }
  });

  it('keeps absent and empty accept / custom attributes apart', () => {
    const [a, b] = new LaneFrameDecoder(1024).push(
      stream(frame(1, 'a', { accept: undefined }), frame(2, 'b', { accept: '', customAttributes: '' })),
    );
    expect(a?.accept).toBeUndefined();
    expect(a?.customAttributes).toBeUndefined();
    expect(b?.accept).toBe('');
    expect(b?.customAttributes).toBe('');
  });

  it('refuses a wrong preface at its first differing byte (an HTTP answer, say)', () => {
    const decoder = new LaneFrameDecoder(1024);
    expect(() => decoder.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toThrow(LaneFrameError);
    // A broken stream stays broken.
    expect(() => decoder.push(stream(frame(1, 'a')))).toThrow(LaneFrameError);
    expect(() => new LaneFrameDecoder(1024).push(Buffer.from('TRAINYARD-X'))).toThrow(/preface/);
    // A correct but partial preface waits.
    expect(new LaneFrameDecoder(1024).push(lanePreface.subarray(0, 5))).toEqual([]);
  });

  it('refuses a huge length from its 4 length bytes alone, before buffering the frame', () => {
    const decoder = new LaneFrameDecoder(6 * 1024 * 1024);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(0xffffffff);
    expect(() => decoder.push(Buffer.concat([lanePreface, head]))).toThrow(/larger than/);
    const small = new LaneFrameDecoder(100);
    expect(() => small.push(stream(frame(1, 'x'.repeat(200))))).toThrow(/larger than 100/);
  });

  it('reads a frame that comes in a later chunk than the preface alone', () => {
    const decoder = new LaneFrameDecoder(1024);
    expect(decoder.push(lanePreface)).toEqual([]);
    expect(decoder.push(encodeLaneFrame(frame(9, 'abc'))).map(plain)).toEqual([plain(frame(9, 'abc'))]);
    const short = Buffer.alloc(7);
    short.writeUInt32LE(3);
    expect(() => decoder.push(short)).toThrow(/shorter/);
  });

  it('refuses a length shorter than the head, strings that overrun the frame and unknown flags', () => {
    const short = Buffer.alloc(8);
    short.writeUInt32LE(3);
    expect(() => new LaneFrameDecoder(1024).push(Buffer.concat([lanePreface, short]))).toThrow(/shorter/);
    const overrun = encodeLaneFrame(frame(1, 'abc'));
    overrun.writeUInt16LE(500, 12);
    expect(() => new LaneFrameDecoder(1024).push(Buffer.concat([lanePreface, overrun]))).toThrow(/overrun/);
    const flags = encodeLaneFrame(frame(1, 'abc'));
    flags.writeUInt16LE(8, 10);
    expect(() => new LaneFrameDecoder(1024).push(Buffer.concat([lanePreface, flags]))).toThrow(/flags/);
  });

  it('survives random garbage after the preface with an error or nothing, never a crash', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let run = 0; run < 300; run++) {
      const junk = Buffer.from(
        Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
      );
      const decoder = new LaneFrameDecoder(4096);
      try {
        for (const f of decoder.push(Buffer.concat([lanePreface, junk]))) {
          expect(f.body.length).toBeLessThanOrEqual(4096 - laneHeadBytes);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(LaneFrameError);
      }
    }
  });

  it('refuses to encode a string longer than its 16-bit length field', () => {
    expect(() => encodeLaneFrame(frame(1, 'a', { customAttributes: 'x'.repeat(70_000) }))).toThrow(
      LaneFrameError,
    );
  });
});
