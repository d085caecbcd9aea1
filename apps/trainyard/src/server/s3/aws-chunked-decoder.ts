import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  chunkStringToSign,
  emptySha256,
  type SigV4Scope,
  sha256Hex,
  signaturesEqual,
  signHex,
  trailerStringToSign,
} from '@trainyard/core/access/sigv4';
import { S3Error } from './s3-error.js';

/** Key and chain seed for checking chunk signatures; absent for unsigned (trailer-only) bodies. */
export interface ChunkSigning {
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: SigV4Scope;
}

const maxLineBytes = 8 * 1024;

function signatureMismatch(what: string): S3Error {
  return new S3Error(
    'SignatureDoesNotMatch',
    403,
    `The ${what} signature we calculated does not match the signature you provided.`,
  );
}

function incomplete(message: string): S3Error {
  return new S3Error('IncompleteBody', 400, message);
}

/**
 * Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` … `0…\r\n`
 * then optional trailing headers) as it streams: data passes straight through, each chunk's
 * SHA-256 is computed on the way and its signature checked against the chain when the chunk
 * ends, so nothing is buffered beyond one header line. The first bad signature fails the stream,
 * which makes the store drop the write. Trailing headers (checksums) end up in `trailers`.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  readonly #signing: ChunkSigning | undefined;
  #previousSignature: string;
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line: Buffer[] = [];
  #lineBytes = 0;
  #remaining = 0;
  #claimedSignature: string | undefined;
  #chunkHash: Hash | undefined;
  #trailerText = '';

  constructor(signing: ChunkSigning | undefined) {
    // Room for several socket reads (64 KiB each) so the upload is not paused after every one.
    super({ highWaterMark: 1024 * 1024 });
    this.#signing = signing;
    this.#previousSignature = signing?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.#consume(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    // Some clients end the body right after the final zero-size chunk line, without the last CRLF.
    if (this.#state === 'trailer' && this.#line.length === 0) {
      try {
        this.#finishTrailer();
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    if (this.#state !== 'done') {
      done(incomplete('The aws-chunked body ended before its final zero-size chunk.'));
      return;
    }
    done();
  }

  #consume(input: Buffer): void {
    let at = 0;
    while (at < input.length) {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, input.length - at);
        const piece = input.subarray(at, at + take);
        this.#chunkHash?.update(piece);
        this.push(piece);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) {
          this.#checkChunk(this.#chunkHash);
          this.#state = 'data-end';
        }
        continue;
      }
      if (this.#state === 'done') {
        // Bytes after the end: ignore trailing whitespace, refuse anything else.
        if (input.subarray(at).toString('latin1').trim() !== '')
          throw incomplete('data after the final chunk');
        return;
      }
      const newline = input.indexOf(0x0a, at);
      const end = newline < 0 ? input.length : newline + 1;
      this.#line.push(input.subarray(at, end));
      this.#lineBytes += end - at;
      at = end;
      if (this.#lineBytes > maxLineBytes) throw incomplete('an aws-chunked header line is too long');
      if (newline >= 0) {
        const line = Buffer.concat(this.#line).toString('latin1');
        this.#line = [];
        this.#lineBytes = 0;
        this.#onLine(line.endsWith('\r\n') ? line.slice(0, -2) : line.slice(0, -1));
      }
    }
  }

  #onLine(line: string): void {
    switch (this.#state) {
      case 'data-end':
        if (line !== '') throw incomplete('an aws-chunked chunk is longer than its declared size');
        this.#state = 'size';
        return;
      case 'size': {
        const [sizeText = '', ...extensions] = line.split(';');
        const size = Number.parseInt(sizeText, 16);
        if (!/^[0-9a-fA-F]+$/.test(sizeText.trim()) || !Number.isSafeInteger(size)) {
          throw incomplete(`"${line.slice(0, 80)}" is not an aws-chunked size line`);
        }
        this.#claimedSignature = extensions
          .map((e) => e.trim())
          .find((e) => e.startsWith('chunk-signature='))
          ?.slice('chunk-signature='.length);
        if (this.#signing && !this.#claimedSignature) throw signatureMismatch('chunk (missing)');
        if (size === 0) {
          this.#checkChunk(undefined);
          this.#state = 'trailer';
          return;
        }
        this.#remaining = size;
        this.#chunkHash = this.#signing ? createHash('sha256') : undefined;
        this.#state = 'data';
        return;
      }
      case 'trailer':
        if (line === '') {
          this.#finishTrailer();
          return;
        }
        this.#trailerText += `${line}\n`;
        return;
      default:
        throw incomplete('unexpected aws-chunked framing');
    }
  }

  /** Checks the just-finished chunk's signature (`hash` absent for the zero-size final chunk). */
  #checkChunk(hash: Hash | undefined): void {
    if (!this.#signing) return;
    const chunkSha = hash ? hash.digest('hex') : emptySha256;
    const expected = signHex(
      this.#signing.signingKey,
      chunkStringToSign(this.#signing.amzDate, this.#signing.scope, this.#previousSignature, chunkSha),
    );
    if (!signaturesEqual(expected, this.#claimedSignature ?? '')) throw signatureMismatch('chunk');
    this.#previousSignature = expected;
  }

  #finishTrailer(): void {
    let trailerSignature: string | undefined;
    let canonical = '';
    for (const line of this.#trailerText.split('\n')) {
      if (line === '') continue;
      const at = line.indexOf(':');
      if (at < 0) throw incomplete(`"${line.slice(0, 80)}" is not a trailing header`);
      const name = line.slice(0, at).trim().toLowerCase();
      const value = line.slice(at + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSignature = value;
      else {
        this.trailers.set(name, value);
        canonical += `${name}:${value}\n`;
      }
    }
    if (this.#signing && canonical !== '' && trailerSignature === undefined) {
      throw signatureMismatch('trailer (missing)');
    }
    if (this.#signing && trailerSignature !== undefined) {
      const expected = signHex(
        this.#signing.signingKey,
        trailerStringToSign(
          this.#signing.amzDate,
          this.#signing.scope,
          this.#previousSignature,
          sha256Hex(canonical),
        ),
      );
      if (!signaturesEqual(expected, trailerSignature)) throw signatureMismatch('trailer');
    }
    this.#state = 'done';
  }
}
