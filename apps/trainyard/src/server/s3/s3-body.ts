import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  streamingSignedPayload,
  streamingSignedPayloadTrailer,
  streamingUnsignedPayloadTrailer,
  unsignedPayload,
} from '@trainyard/core/access/sigv4';
import { cutByShutdown } from '../shutdown-cut.js';
import { AwsChunkedDecoder, type ChunkSigning } from './aws-chunked-decoder.js';
import { S3Error } from './s3-error.js';

/** S3's limit for one PutObject or UploadPart: 5 GiB. */
export const maxSingleUploadBytes = 5 * 1024 ** 3;

export interface BodyOptions {
  /** The x-amz-content-sha256 value (undefined for presigned URLs without one). */
  contentSha256: string | undefined;
  /** Chunk signing material for STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER); undefined when auth is off. */
  signing: ChunkSigning | undefined;
  headers: IncomingMessage['headers'];
  /** Largest decoded body accepted, bytes. */
  maxBytes: number;
  /** The server's shutdown: an upload still streaming then fails with 503 and stores nothing. */
  shutdown?: AbortSignal | undefined;
}

/** Checksums a client may send as `x-amz-checksum-<algorithm>` (header or trailer), base64. */
const checksumAlgorithms = ['crc32', 'sha1', 'sha256'] as const;
type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/**
 * Verifies a body as it passes: length limit and declared length, Content-MD5, the signed
 * SHA-256 of a non-chunked body, and x-amz-checksum-crc32/sha1/sha256 (from headers or the
 * aws-chunked trailer). Mismatches fail the stream at its end, so the store never commits the write.
 */
class BodyVerifier extends Transform {
  readonly #options: BodyOptions;
  readonly #decoder: AwsChunkedDecoder | undefined;
  readonly #expectedLength: number | undefined;
  readonly #md5: Hash | undefined;
  readonly #sha256: Hash | undefined;
  readonly #checksums = new Map<ChecksumAlgorithm, { hash: Hash | undefined; crc: number }>();
  #size = 0;

  constructor(options: BodyOptions, decoder: AwsChunkedDecoder | undefined) {
    // Room for several socket reads (64 KiB each) so the upload is not paused after every one.
    super({ highWaterMark: 1024 * 1024 });
    this.#options = options;
    this.#decoder = decoder;
    const h = options.headers;
    const declared = decoder ? h['x-amz-decoded-content-length'] : h['content-length'];
    this.#expectedLength = typeof declared === 'string' ? Number(declared) : undefined;
    if (this.#expectedLength !== undefined && !(this.#expectedLength >= 0)) {
      throw new S3Error('InvalidArgument', 400, 'the declared content length is not a number');
    }
    if (this.#expectedLength !== undefined && this.#expectedLength > options.maxBytes) {
      throw tooLarge(options.maxBytes);
    }
    if (typeof h['content-md5'] === 'string') {
      if (Buffer.from(h['content-md5'], 'base64').length !== 16) {
        throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
      }
      this.#md5 = createHash('md5');
    }
    const sha = options.contentSha256;
    if (sha !== undefined && /^[0-9a-f]{64}$/.test(sha)) this.#sha256 = createHash('sha256');
    const announced = String(h['x-amz-trailer'] ?? '').toLowerCase();
    for (const algorithm of checksumAlgorithms) {
      const name = `x-amz-checksum-${algorithm}`;
      if (h[name] !== undefined || announced.includes(name)) {
        this.#checksums.set(algorithm, {
          hash: algorithm === 'crc32' ? undefined : createHash(algorithm),
          crc: 0,
        });
      }
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#options.maxBytes) {
      done(tooLarge(this.#options.maxBytes));
      return;
    }
    this.#md5?.update(chunk);
    this.#sha256?.update(chunk);
    for (const state of this.#checksums.values()) {
      if (state.hash) state.hash.update(chunk);
      else state.crc = crc32(chunk, state.crc);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const h = this.#options.headers;
    if (this.#expectedLength !== undefined && this.#size !== this.#expectedLength) {
      done(
        new S3Error(
          'IncompleteBody',
          400,
          `You did not provide the number of bytes specified by the Content-Length HTTP header (${this.#size} of ${this.#expectedLength}).`,
        ),
      );
      return;
    }
    if (this.#md5 && this.#md5.digest('base64') !== h['content-md5']) {
      done(new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.'));
      return;
    }
    if (this.#sha256 && this.#sha256.digest('hex') !== this.#options.contentSha256) {
      done(
        new S3Error(
          'XAmzContentSHA256Mismatch',
          400,
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
      );
      return;
    }
    for (const [algorithm, state] of this.#checksums) {
      const name = `x-amz-checksum-${algorithm}`;
      const claimed = (h[name] as string | undefined) ?? this.#decoder?.trailers.get(name);
      if (claimed === undefined) continue;
      let actual: string;
      if (state.hash) actual = state.hash.digest('base64');
      else {
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(state.crc >>> 0);
        actual = crc.toString('base64');
      }
      if (actual !== claimed) {
        done(
          new S3Error(
            'BadDigest',
            400,
            `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
          ),
        );
        return;
      }
    }
    done();
  }
}

function tooLarge(max: number): S3Error {
  return new S3Error(
    'EntityTooLarge',
    400,
    `Your proposed upload exceeds the maximum allowed size of ${max} bytes`,
  );
}

/**
 * The request body decoded and verified as it streams; fails with an S3Error before its end
 * when a check fails. The caller passes it to the store, which then drops the write.
 */
export function verifiedBody(raw: IncomingMessage, options: BodyOptions): Transform {
  const mode = options.contentSha256;
  const chunked =
    mode === streamingSignedPayload ||
    mode === streamingSignedPayloadTrailer ||
    mode === streamingUnsignedPayloadTrailer;
  if (mode !== undefined && !chunked && mode !== unsignedPayload && !/^[0-9a-f]{64}$/.test(mode)) {
    throw new S3Error(
      'InvalidArgument',
      400,
      `x-amz-content-sha256 must be a hex SHA-256, ${unsignedPayload} or a STREAMING-* value, not "${mode}"`,
    );
  }
  const decoder = chunked
    ? new AwsChunkedDecoder(mode === streamingUnsignedPayloadTrailer ? undefined : options.signing)
    : undefined;
  const verifier = new BodyVerifier(options, decoder);
  const fail = (error: Error) => verifier.destroy(error);
  raw.on('error', fail);
  const cut = () => {
    raw.unpipe();
    fail(new S3Error('ServiceUnavailable', 503, `Please reduce your request rate. (${cutByShutdown})`));
  };
  if (options.shutdown?.aborted) queueMicrotask(cut);
  else options.shutdown?.addEventListener('abort', cut, { once: true });
  verifier.once('close', () => options.shutdown?.removeEventListener('abort', cut));
  raw.on('close', () => {
    if (!raw.complete) fail(new S3Error('IncompleteBody', 400, 'The client closed the connection mid-body.'));
  });
  if (decoder) {
    decoder.on('error', fail);
    raw.pipe(decoder).pipe(verifier);
  } else {
    raw.pipe(verifier);
  }
  return verifier;
}

/** Reads a small request body (XML) whole, verified. @throws S3Error */
export async function smallBody(
  raw: IncomingMessage,
  options: Omit<BodyOptions, 'maxBytes'>,
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of verifiedBody(raw, { ...options, maxBytes: 1024 * 1024 }))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
