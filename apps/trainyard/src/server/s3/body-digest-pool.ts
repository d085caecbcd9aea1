import { Worker } from 'node:worker_threads';

/** Digests the pool computes off the request thread (CRC32 stays on it: it is cheap). */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256';

/**
 * The worker: one hash per algorithm per job, fed from the job's shared ring. Each `data`
 * message names spans of the ring in order; the worker hashes them there and answers how many
 * bytes it freed. Spans are never copied or transferred.
 */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'start') {
    jobs.set(m.id, { ring: new Uint8Array(m.ring), hashes: m.algorithms.map((a) => [a, createHash(a)]) });
    return;
  }
  const job = jobs.get(m.id);
  if (!job) return;
  if (m.type === 'data') {
    let freed = 0;
    for (let i = 0; i < m.spans.length; i += 2) {
      const piece = job.ring.subarray(m.spans[i], m.spans[i] + m.spans[i + 1]);
      for (const [, hash] of job.hashes) hash.update(piece);
      freed += m.spans[i + 1];
    }
    parentPort.postMessage({ id: m.id, freed });
  } else if (m.type === 'end') {
    jobs.delete(m.id);
    const digests = {};
    for (const [algorithm, hash] of job.hashes) digests[algorithm] = hash.digest();
    parentPort.postMessage({ id: m.id, digests });
  } else if (m.type === 'drop') {
    jobs.delete(m.id);
  }
});
`;

/** Bytes of one job's ring: room for several socket reads while the worker catches up. */
const ringBytes = 4 * 1024 * 1024;
/** The request thread tells the worker about new bytes once this many are waiting (fewer messages). */
const postEveryBytes = 512 * 1024;
/** Rings kept for the next jobs (their pages stay mapped, so copying into them is cheap). */
const keptRings = 8;

interface WorkerMessage {
  id: number;
  freed?: number;
  digests?: Record<string, Uint8Array>;
}

interface PoolWorker {
  worker: Worker;
  jobs: Map<number, BodyDigestJob>;
}

/**
 * Hashes request bodies on worker threads while the request thread receives, verifies CRC32
 * and writes them: on 2 cores the MD5 ETag (0.45 CPU s per 256 MiB, serial) and a signed
 * SHA-256 no longer add to the upload thread's time. The request thread copies each chunk into
 * a job's reused SharedArrayBuffer ring (no allocation, no transfer, so the chunk stays usable
 * downstream) and the worker hashes it there; bench/s3/md5-offload.mjs measures the hand-off.
 * Workers start on first use, do not keep the process alive, and are ended by {@link close}.
 */
export class BodyDigestPool {
  readonly #size: number;
  readonly #workers: PoolWorker[] = [];
  readonly #rings: SharedArrayBuffer[] = [];
  #nextId = 1;
  #closed = false;

  /** @param size worker threads; default 1 (the request thread and the client need the other cores). */
  constructor(size = 1) {
    this.#size = Math.max(1, size);
  }

  /** Jobs started and neither finished nor cancelled (for tests: nothing may leak). */
  get activeJobs(): number {
    return this.#workers.reduce((sum, w) => sum + w.jobs.size, 0);
  }

  /** Worker threads running. */
  get workerCount(): number {
    return this.#workers.length;
  }

  /**
   * Starts hashing one body with the given algorithms on a worker that has no other body, or
   * returns undefined when every worker is busy: the caller then hashes on its own thread, since
   * a worker shared by several bodies adds hand-off costs without adding a core.
   */
  start(algorithms: readonly DigestAlgorithm[]): BodyDigestJob | undefined {
    if (this.#closed) return undefined;
    const host = this.#idleWorker();
    if (!host) return undefined;
    const id = this.#nextId++;
    const ring = this.#rings.pop() ?? new SharedArrayBuffer(ringBytes);
    const job = new BodyDigestJob(id, host.worker, ring, () => {
      host.jobs.delete(id);
      if (this.#rings.length < keptRings && !this.#closed) this.#rings.push(ring);
    });
    host.jobs.set(id, job);
    host.worker.postMessage({ type: 'start', id, ring, algorithms });
    return job;
  }

  /** Ends the workers; jobs still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#rings.length = 0;
    const workers = this.#workers.splice(0);
    for (const w of workers)
      for (const job of w.jobs.values()) job.fail(new Error('the server is shutting down'));
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  #idleWorker(): PoolWorker | undefined {
    const idle = this.#workers.find((w) => w.jobs.size === 0);
    if (idle) return idle;
    return this.#workers.length < this.#size ? this.#spawn() : undefined;
  }

  #spawn(): PoolWorker {
    const worker = new Worker(workerSource, { eval: true });
    worker.unref();
    const host: PoolWorker = { worker, jobs: new Map() };
    this.#workers.push(host);
    worker.on('message', (m: WorkerMessage) => host.jobs.get(m.id)?.onMessage(m));
    const lost = (error: Error) => {
      const at = this.#workers.indexOf(host);
      if (at >= 0) this.#workers.splice(at, 1);
      for (const job of host.jobs.values()) job.fail(error);
      host.jobs.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the body digest worker exited (code ${code})`)));
    return host;
  }
}

/**
 * One body being hashed: {@link update} with every chunk in order, then {@link digests} once,
 * or {@link cancel}. Not reentrant: wait for a pending {@link update} before the next.
 */
export class BodyDigestJob {
  readonly #id: number;
  readonly #worker: Worker;
  readonly #ring: Uint8Array;
  readonly #release: () => void;
  /** Next byte of the ring to write; bytes written and not yet freed by the worker. */
  #head = 0;
  #used = 0;
  /** Bytes written since the last message, as [start, length] spans of the ring. */
  #spans: number[] = [];
  #pendingBytes = 0;
  #waiting: (() => void) | undefined;
  #ending: { resolve: (d: Map<string, Buffer>) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  #done = false;
  #released = false;

  constructor(id: number, worker: Worker, ring: SharedArrayBuffer, release: () => void) {
    this.#id = id;
    this.#worker = worker;
    this.#ring = new Uint8Array(ring);
    this.#release = () => {
      if (this.#released) return;
      this.#released = true;
      release();
    };
  }

  /**
   * Copies `chunk` into the ring for hashing. Returns undefined when it is all in, else a promise
   * that settles once it is (the worker is behind and the ring full); it rejects if the worker fails.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#done) return Promise.reject(new Error('the body digest job has ended'));
    const taken = this.#take(chunk);
    if (taken === chunk.length) return undefined;
    return this.#updateSlowly(chunk.subarray(taken));
  }

  async #updateSlowly(rest: Uint8Array): Promise<void> {
    while (rest.length > 0) {
      this.#post();
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
      if (this.#failure) throw this.#failure;
      rest = rest.subarray(this.#take(rest));
    }
  }

  /** Copies as much of `chunk` as fits; returns the bytes taken. */
  #take(chunk: Uint8Array): number {
    let taken = 0;
    const size = this.#ring.length;
    while (taken < chunk.length && this.#used < size) {
      const room = Math.min(size - this.#used, size - this.#head, chunk.length - taken);
      this.#ring.set(chunk.subarray(taken, taken + room), this.#head);
      this.#spans.push(this.#head, room);
      this.#head = (this.#head + room) % size;
      this.#used += room;
      this.#pendingBytes += room;
      taken += room;
    }
    if (this.#pendingBytes >= postEveryBytes) this.#post();
    return taken;
  }

  #post(): void {
    if (this.#spans.length === 0) return;
    this.#worker.postMessage({ type: 'data', id: this.#id, spans: this.#spans });
    this.#spans = [];
    this.#pendingBytes = 0;
  }

  /** The digests of every byte given, by algorithm. Call once, after the last {@link update}. */
  digests(): Promise<Map<string, Buffer>> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#done) return Promise.reject(new Error('the body digest job has ended'));
    this.#done = true;
    this.#post();
    return new Promise((resolve, reject) => {
      this.#ending = { resolve, reject };
      this.#worker.postMessage({ type: 'end', id: this.#id });
    });
  }

  /** Stops hashing (the body failed or was abandoned); frees the job. Safe to call more than once. */
  cancel(): void {
    if (this.#failure || this.#released) return;
    this.#failure = new Error('the body digest job was cancelled');
    this.#done = true;
    this.#worker.postMessage({ type: 'drop', id: this.#id });
    this.#release();
    this.#wake();
    this.#ending?.reject(this.#failure);
  }

  /** The worker was lost or the pool closed. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#done = true;
    this.#release();
    this.#wake();
    this.#ending?.reject(error);
  }

  onMessage(message: WorkerMessage): void {
    if (message.freed !== undefined) {
      this.#used -= message.freed;
      this.#wake();
    }
    if (message.digests) {
      this.#release();
      const digests = new Map<string, Buffer>();
      for (const [algorithm, bytes] of Object.entries(message.digests)) {
        digests.set(algorithm, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      this.#ending?.resolve(digests);
    }
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
