import type { JobLogStream } from '@trainyard/contracts/jobs';
import type { JobStore, NewJobLogEvent } from '@trainyard/core/ports/job-store';

export interface JobLogWriterOptions {
  store: JobStore;
  jobId: string;
  /** Events already stored (a restarted job continues after them). */
  startAfterSeq: number;
  /** ms between flushes. Default 250. */
  flushMs?: number;
  /** Events kept per job; past this one "truncated" line is written and the rest dropped. Default 200 000. */
  maxEvents?: number;
  /** Called when a flush fails (the events are kept and retried at the next flush). */
  onError?: (error: unknown) => void;
}

/** Batches a job's output lines into the job log, so followers see them within `flushMs`. */
export class JobLogWriter {
  #seq: number;
  #buffer: NewJobLogEvent[] = [];
  #timer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  #written = 0;
  #truncated = false;

  constructor(private readonly options: JobLogWriterOptions) {
    this.#seq = options.startAfterSeq;
    this.#timer = setInterval(() => void this.flush(), options.flushMs ?? 250);
  }

  write(stream: JobLogStream, message: string): void {
    if (this.#truncated) return;
    if (this.#written >= (this.options.maxEvents ?? 200_000)) {
      this.#truncated = true;
      this.#buffer.push({
        seq: ++this.#seq,
        at: new Date(),
        stream: 'system',
        message: '[trainyard] log limit reached; further output of this attempt is dropped',
      });
      return;
    }
    this.#written++;
    this.#buffer.push({ seq: ++this.#seq, at: new Date(), stream, message });
  }

  /** Writes what is buffered; calls are serialized so events land in order. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#buffer.length === 0) return;
      const batch = this.#buffer;
      this.#buffer = [];
      try {
        await this.options.store.appendLogs(this.options.jobId, batch);
      } catch (error) {
        this.#buffer = [...batch, ...this.#buffer];
        this.options.onError?.(error);
      }
    });
    return this.#flushing;
  }

  /** Stops the timer and flushes the rest. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
