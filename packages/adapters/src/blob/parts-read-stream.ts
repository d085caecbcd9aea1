import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** One open file and the bytes of it to read, `start` to `end` inclusive. */
export interface FileSpan {
  file: FileHandle;
  start: number;
  end: number;
}

/**
 * Streams spans of already-open files one after the other, as one body (a multipart object
 * kept as its parts). The files are opened by the caller before the stream exists, so a
 * concurrent overwrite or delete that unlinks them cannot cut a download short; every handle is
 * closed when the stream ends or is destroyed.
 */
export class PartsReadStream extends Readable {
  readonly #spans: FileSpan[];
  readonly #chunkBytes: number;
  #index = 0;
  #position: number;

  constructor(spans: FileSpan[], chunkBytes: number) {
    super({ highWaterMark: chunkBytes });
    this.#spans = spans;
    this.#chunkBytes = chunkBytes;
    this.#position = spans[0]?.start ?? 0;
  }

  override _read(): void {
    this.#readNext().then(
      (chunk) => this.push(chunk),
      (error: Error) => this.destroy(error),
    );
  }

  /** The next chunk, or null at the end; a fresh buffer each time (the consumer may keep it). */
  async #readNext(): Promise<Buffer | null> {
    for (;;) {
      const span = this.#spans[this.#index];
      if (span === undefined) return null;
      const left = span.end - this.#position + 1;
      if (left > 0) {
        const buffer = Buffer.allocUnsafe(Math.min(this.#chunkBytes, left));
        const { bytesRead } = await span.file.read(buffer, 0, buffer.length, this.#position);
        if (bytesRead === 0) throw new Error('a part of the object is shorter than its manifest says');
        this.#position += bytesRead;
        return bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      }
      await span.file.close();
      this.#index++;
      this.#position = this.#spans[this.#index]?.start ?? 0;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const open = this.#spans.slice(this.#index);
    this.#index = this.#spans.length;
    Promise.allSettled(open.map((s) => s.file.close())).then(() => callback(error));
  }
}
