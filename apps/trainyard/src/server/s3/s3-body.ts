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
import type { BodyDigestJob, BodyDigestPool, DigestAlgorithm } from './body-digest-pool.js';
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
  /** Compute the body's MD5 (the S3 ETag) even without Content-MD5: read it as `md5Hex` after the end. */
  md5?: boolean;
  /** Hashes large bodies on worker threads; without it every digest is computed on the request thread. */
  digests?: BodyDigestPool | undefined;
}

/** A request body being decoded and verified; `md5Hex` is set once it has ended, when asked for. */
export type VerifiedBody = Transform & { readonly md5Hex: string | undefined };

/** Checksums a client may send as `x-amz-checksum-<algorithm>` (header or trailer), base64. */
const checksumAlgorithms = ['crc32', 'sha1', 'sha256'] as const;
type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/**
 * Bodies declared smaller than this are hashed on the request thread: handing them to a worker
 * costs more than it frees. Bodies of unknown length go to the worker.
 */
export const offloadFromBytes = 256 * 1024;

/** Digests computed on the request thread, for small bodies or without a pool. */
class InlineDigests {
  readonly #hashes: [DigestAlgorithm, Hash][];

  constructor(algorithms: readonly DigestAlgorithm[]) {
    this.#hashes = algorithms.map((a) => [a, createHash(a)]);
  }

  update(chunk: Buffer): undefined {
    for (const [, hash] of this.#hashes) hash.update(chunk);
    return undefined;
  }

  async digests(): Promise<Map<string, Buffer>> {
    return new Map(this.#hashes.map(([a, hash]) => [a, hash.digest()]));
  }

  cancel(): void {}
}

/**
 * Verifies a body as it passes: length limit and declared length, Content-MD5, the signed
 * SHA-256 of a non-chunked body, and x-amz-checksum-crc32/sha1/sha256 (from headers or the
 * aws-chunked trailer). Mismatches fail the stream at its end, so the store never commits the write.
 * CRC32 is computed on the request thread; MD5, SHA-1 and SHA-256 (each at most once, whichever
 * checks need it) on a worker for large bodies, and the end waits for them.
 */
class BodyVerifier extends Transform {
  readonly #options: BodyOptions;
  readonly #decoder: AwsChunkedDecoder | undefined;
  readonly #expectedLength: number | undefined;
  readonly #hasher: InlineDigests | BodyDigestJob | undefined;
  readonly #signedSha256: boolean;
  readonly #checksums: ChecksumAlgorithm[] = [];
  #crc = 0;
  #size = 0;
  #md5Hex: string | undefined;

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
    const algorithms = new Set<DigestAlgorithm>();
    if (typeof h['content-md5'] === 'string') {
      if (Buffer.from(h['content-md5'], 'base64').length !== 16) {
        throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.');
      }
      algorithms.add('md5');
    }
    if (options.md5) algorithms.add('md5');
    const sha = options.contentSha256;
    this.#signedSha256 = sha !== undefined && /^[0-9a-f]{64}$/.test(sha);
    if (this.#signedSha256) algorithms.add('sha256');
    const announced = String(h['x-amz-trailer'] ?? '').toLowerCase();
    for (const algorithm of checksumAlgorithms) {
      const name = `x-amz-checksum-${algorithm}`;
      if (h[name] !== undefined || announced.includes(name)) {
        this.#checksums.push(algorithm);
        if (algorithm !== 'crc32') algorithms.add(algorithm);
      }
    }
    if (algorithms.size > 0) {
      const large = this.#expectedLength === undefined || this.#expectedLength >= offloadFromBytes;
      const offloaded = large ? options.digests?.start([...algorithms]) : undefined;
      this.#hasher = offloaded ?? new InlineDigests([...algorithms]);
    }
  }

  get md5Hex(): string | undefined {
    return this.#md5Hex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#options.maxBytes) {
      done(tooLarge(this.#options.maxBytes));
      return;
    }
    if (this.#checksums.includes('crc32')) this.#crc = crc32(chunk, this.#crc);
    const hashed = this.#hasher?.update(chunk);
    if (hashed === undefined) {
      done(null, chunk);
      return;
    }
    // The worker is behind: pass the chunk on now, take the next one when it has caught up.
    this.push(chunk);
    hashed.then(
      () => done(),
      (error: Error) => done(error),
    );
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
    const pending = this.#hasher ? this.#hasher.digests() : Promise.resolve(new Map<string, Buffer>());
    pending.then(
      (digests) => done(this.#check(digests, h)),
      (error: Error) => done(error),
    );
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#hasher?.cancel();
    done(error);
  }

  /** The first failing check, or null. */
  #check(digests: Map<string, Buffer>, h: IncomingMessage['headers']): S3Error | null {
    const md5 = digests.get('md5');
    if (typeof h['content-md5'] === 'string' && md5?.toString('base64') !== h['content-md5']) {
      return new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
    }
    if (this.#signedSha256 && digests.get('sha256')?.toString('hex') !== this.#options.contentSha256) {
      return new S3Error(
        'XAmzContentSHA256Mismatch',
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    for (const algorithm of this.#checksums) {
      const name = `x-amz-checksum-${algorithm}`;
      const claimed = (h[name] as string | undefined) ?? this.#decoder?.trailers.get(name);
      if (claimed === undefined) continue;
      let actual: string | undefined;
      if (algorithm === 'crc32') {
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(this.#crc >>> 0);
        actual = crc.toString('base64');
      } else actual = digests.get(algorithm)?.toString('base64');
      if (actual !== claimed) {
        return new S3Error(
          'BadDigest',
          400,
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
    }
    this.#md5Hex = md5?.toString('hex');
    return null;
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
export function verifiedBody(raw: IncomingMessage, options: BodyOptions): VerifiedBody {
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
