import { Worker } from 'node:worker_threads';
import type { DenseMatrix } from '../data/matrix.js';
import {
  type CompiledForest,
  completeMargins,
  type GbdtPredictPool,
  genericMargins,
  type WasmForest,
  wasmForestMargins,
} from './forest.js';
import {
  CMD_EXIT,
  type GbdtExecutor,
  type GbdtWorkerFactory,
  type GbdtWorkspace,
  kernelSource,
  runTask,
} from './kernels.js';

// Control words in the shared Int32Array. TASK = (task sequence << 12) | next chunk to take: one
// compare-and-swap both checks that the task is still current and claims a chunk.
const TASK = 0;
const DONE = 1;
// Set by a worker whose chunk threw; the message goes to ERROR_TEXT as UTF-8.
const FAILED = 2;
const ERROR_TEXT_BYTES = 2048;
const CHUNK_BITS = 12;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
// Polls before sleeping in Atomics.wait: the gaps between tasks of a tree are a few microseconds, far
// below a futex wake-up, so a short spin saves most of the hand-over latency.
const SPIN = 2000;
const STALL_SECONDS = 60;

/**
 * Worker body, built from the kernels' source text with `eval: true`, so the same code runs whether the
 * package is loaded from TypeScript sources (tests) or built JavaScript (production).
 */
function workerSource(): string {
  return `
const { workerData } = require('node:worker_threads');
${kernelSource()}
const ws = workerData.ws;
// Each thread has its own instance of the WebAssembly kernels over the one shared memory.
if (ws.wasm) ws.kern = new WebAssembly.Instance(ws.wasm.module, { env: { memory: ws.wasm.memory } }).exports;
const ctrl = workerData.ctrl;
const tid = workerData.tid;
let seq = 0;
for (;;) {
  let w = Atomics.load(ctrl, ${TASK});
  for (let spin = 0; w >>> ${CHUNK_BITS} === seq && spin < ${SPIN}; spin++) w = Atomics.load(ctrl, ${TASK});
  while (w >>> ${CHUNK_BITS} === seq) {
    Atomics.wait(ctrl, ${TASK}, w);
    w = Atomics.load(ctrl, ${TASK});
  }
  seq = w >>> ${CHUNK_BITS};
  if (ws.taskI[0] === ${CMD_EXIT}) break;
  const chunks = ws.taskI[1];
  for (;;) {
    w = Atomics.load(ctrl, ${TASK});
    if (w >>> ${CHUNK_BITS} !== seq || (w & ${CHUNK_MASK}) >= chunks) break;
    if (Atomics.compareExchange(ctrl, ${TASK}, w, w + 1) !== w) continue;
    try {
      runTask(ws, w & ${CHUNK_MASK}, chunks, tid);
    } catch (error) {
      // Report instead of dying: a dead worker would leave the calling thread waiting for its chunk.
      const text = new TextEncoder().encode(String(error && error.stack || error)).subarray(0, ${ERROR_TEXT_BYTES});
      workerData.errorText.set(text);
      Atomics.store(ctrl, ${FAILED}, text.length + 1);
    }
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
}
`;
}

/**
 * Persistent worker threads over one workspace of SharedArrayBuffers. `run(chunks)` publishes the task
 * already written to `ws.taskI`; the calling thread and the workers then claim chunks one at a time, so
 * a thread the OS has descheduled delays only the chunk it holds. No messages are posted after start-up.
 */
class NodeWorkerExecutor implements GbdtExecutor {
  readonly threads: number;
  private readonly ws: GbdtWorkspace;
  private readonly ctrl: Int32Array;
  private readonly errorText: Uint8Array;
  private readonly workers: Worker[] = [];
  private seq = 0;

  constructor(ws: GbdtWorkspace, threads: number) {
    for (const a of [ws.bins32, ws.gh, ws.rowIdx, ws.hist, ws.taskI, ws.margin, ws.colBins]) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error('workspace arrays must be shared');
    }
    this.ws = ws;
    this.threads = Math.max(1, threads);
    this.ctrl = new Int32Array(new SharedArrayBuffer(64));
    this.errorText = new Uint8Array(new SharedArrayBuffer(ERROR_TEXT_BYTES));
    const src = workerSource();
    for (let t = 1; t < this.threads; t++) {
      const w = new Worker(src, {
        eval: true,
        // The calling thread's kernel instance cannot be cloned; workers make their own from ws.wasm.
        workerData: { ws: { ...ws, kern: null }, ctrl: this.ctrl, tid: t, errorText: this.errorText },
      });
      w.unref();
      this.workers.push(w);
    }
  }

  run(chunks: number): void {
    const ws = this.ws;
    if (chunks > CHUNK_MASK) throw new Error(`at most ${CHUNK_MASK} chunks per task`);
    ws.taskI[1] = chunks;
    if (chunks === 1) {
      runTask(ws, 0, 1, 0);
      return;
    }
    const ctrl = this.ctrl;
    Atomics.store(ctrl, DONE, 0);
    this.seq = (this.seq + 1) & 0x7ffff;
    const mine = this.seq;
    Atomics.store(ctrl, TASK, mine << CHUNK_BITS);
    Atomics.notify(ctrl, TASK);
    for (;;) {
      const w = Atomics.load(ctrl, TASK);
      if ((w & CHUNK_MASK) >= chunks) break;
      if (Atomics.compareExchange(ctrl, TASK, w, w + 1) !== w) continue;
      runTask(ws, w & CHUNK_MASK, chunks, 0);
      Atomics.add(ctrl, DONE, 1);
    }
    let done = Atomics.load(ctrl, DONE);
    for (let spin = 0; done < chunks && spin < SPIN; spin++) done = Atomics.load(ctrl, DONE);
    let stalled = 0;
    while (done < chunks) {
      // A worker that died holding a chunk would block forever: fail after a minute without progress.
      if (Atomics.wait(ctrl, DONE, done, 1000) === 'timed-out' && ++stalled >= STALL_SECONDS)
        throw new Error(
          `GBDT worker made no progress for ${STALL_SECONDS} s (task ${ws.taskI[0]}, ${done}/${chunks} chunks done, next ${Atomics.load(ctrl, TASK) & CHUNK_MASK})`,
        );
      const now = Atomics.load(ctrl, DONE);
      if (now !== done) stalled = 0;
      done = now;
    }
    // Close the task before the caller writes the next one into taskI: a worker that read the next
    // task's chunk count under this sequence number must not be able to claim anything.
    Atomics.store(ctrl, TASK, (mine << CHUNK_BITS) | CHUNK_MASK);
    const failed = Atomics.load(ctrl, FAILED);
    if (failed > 0) {
      Atomics.store(ctrl, FAILED, 0);
      throw new Error(`GBDT worker failed: ${new TextDecoder().decode(this.errorText.slice(0, failed - 1))}`);
    }
  }

  close(): void {
    this.ws.taskI[0] = CMD_EXIT;
    this.seq = (this.seq + 1) & 0x7ffff;
    Atomics.store(this.ctrl, TASK, this.seq << CHUNK_BITS);
    Atomics.notify(this.ctrl, TASK);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/**
 * Node.js worker_threads factory for multi-threaded training (`nthread > 1`).
 *
 * @example
 * import { nodeWorkerFactory } from '@trainyard/ml/gbdt/node-workers';
 * const model = trainGbdt(train, { nthread: 2 }, { workerFactory: nodeWorkerFactory });
 */
export const nodeWorkerFactory: GbdtWorkerFactory = (ws, threads) => new NodeWorkerExecutor(ws, threads);

// Prediction pool control words: next chunk to claim, chunks done, failed flag.
const P_NEXT = 0;
const P_DONE = 1;
const P_FAILED = 2;
const PREDICT_BLOCK = 128;

function predictWorkerSource(): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
${completeMargins.toString()}
${genericMargins.toString()}
${wasmForestMargins.toString()}
const BLOCK = ${PREDICT_BLOCK};
let blk = new Float32Array(0);
// This thread's instance of the WebAssembly kernels over the forest's memory (remade when its id changes).
let wf = null;
parentPort.on('message', (m) => {
  if (m.wasm !== null && (wf === null || wf.id !== m.wasm.id)) {
    wf = { ...m.wasm, kern: new WebAssembly.Instance(m.wasm.shared.module, { env: { memory: m.wasm.shared.memory } }).exports };
  }
  if (blk.length !== ${PREDICT_BLOCK} * m.d) blk = new Float32Array(${PREDICT_BLOCK} * m.d);
  const fn = m.complete ? completeMargins : genericMargins;
  for (;;) {
    const c = Atomics.add(m.ctrl, ${P_NEXT}, 1);
    if (c >= m.chunks) break;
    try {
      if (m.wasm !== null) wasmForestMargins(wf, m.n, m.d, m.K, c * m.rows, Math.min(m.n, (c + 1) * m.rows), m.nTrees, workerData.tid);
      else fn(m.arrays, m.data, m.n, m.d, m.K, m.out, c * m.rows, Math.min(m.n, (c + 1) * m.rows), m.nTrees, blk);
    } catch (error) {
      // Counted as done so the caller does not wait forever; the flag makes it throw.
      Atomics.store(m.ctrl, ${P_FAILED}, 1);
    }
    Atomics.add(m.ctrl, ${P_DONE}, 1);
    Atomics.notify(m.ctrl, ${P_DONE});
  }
});
`;
}

/**
 * Persistent worker threads for batch prediction. Each call shares the forest (copied to
 * SharedArrayBuffers once per model), the input (copied unless already shared) and the margins with the
 * workers by one message each, then every thread claims row ranges until none are left.
 */
class NodePredictPool implements GbdtPredictPool {
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private blk = new Float32Array(0);
  // The input and margin copies the workers read and write, kept across calls and grown when a batch
  // needs more: fresh memory costs a page fault per 4 KiB on first touch (≈ 30 ms for a 50k × 28 batch
  // on the bench machine, more than the prediction itself), memory already touched costs only the copy.
  private dataBuf = new Float32Array(new SharedArrayBuffer(0));
  private outBuf = new Float64Array(new SharedArrayBuffer(0));

  constructor(threads: number) {
    this.threads = Math.max(1, threads);
    const src = predictWorkerSource();
    for (let t = 1; t < this.threads; t++) {
      const w = new Worker(src, { eval: true, workerData: { tid: t } });
      w.unref();
      this.workers.push(w);
    }
  }

  addMargins(forest: CompiledForest, x: DenseMatrix, out: Float64Array, nTrees: number): void {
    const n = x.rows;
    const d = x.cols;
    const wf = forest.wasmFor(n, this.threads);
    if (wf) {
      this.addWasmMargins(wf, forest, x, out, nTrees);
      return;
    }
    let data = x.data;
    if (!(data.buffer instanceof SharedArrayBuffer)) {
      if (this.dataBuf.length < data.length)
        this.dataBuf = new Float32Array(new SharedArrayBuffer(4 * data.length));
      const copy = this.dataBuf.subarray(0, data.length);
      copy.set(data);
      data = copy;
    }
    if (this.outBuf.length < out.length)
      this.outBuf = new Float64Array(new SharedArrayBuffer(8 * out.length));
    const shared = this.outBuf.subarray(0, out.length);
    shared.set(out);
    // About 8 ranges per thread (on whole blocks): a descheduled thread delays one range, not a share.
    const rows = Math.max(PREDICT_BLOCK, Math.ceil(n / (8 * this.threads) / PREDICT_BLOCK) * PREDICT_BLOCK);
    const chunks = Math.ceil(n / rows);
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    const msg = {
      ctrl,
      arrays: forest.sharedArrays(),
      complete: forest.complete,
      wasm: null,
      data,
      n,
      d,
      K: forest.numOutputs,
      out: shared,
      rows,
      chunks,
      nTrees,
    };
    if (this.blk.length !== PREDICT_BLOCK * d) this.blk = new Float32Array(PREDICT_BLOCK * d);
    const fn = forest.complete ? completeMargins : genericMargins;
    // Workers may still be running chunks of this call: the next call must not share their buffers.
    this.runChunks(
      msg,
      (start, end) => fn(msg.arrays, data, n, d, msg.K, shared, start, end, nTrees, this.blk),
      () => this.dropBuffers(),
    );
    out.set(shared);
  }

  /**
   * Posts `msg` to the workers, takes chunks on this thread too, and waits until every chunk is
   * done. On a worker's failure, or no progress for STALL_SECONDS, calls `abandon` (the call's
   * buffers must not be reused) and throws.
   */
  private runChunks(
    msg: { ctrl: Int32Array; chunks: number; rows: number; n: number },
    run: (start: number, end: number) => void,
    abandon: () => void,
  ): void {
    const { ctrl, chunks, rows, n } = msg;
    for (const w of this.workers) w.postMessage(msg);
    try {
      for (;;) {
        const c = Atomics.add(ctrl, P_NEXT, 1);
        if (c >= chunks) break;
        run(c * rows, Math.min(n, (c + 1) * rows));
        Atomics.add(ctrl, P_DONE, 1);
      }
      let stalled = 0;
      for (let done = Atomics.load(ctrl, P_DONE); done < chunks; done = Atomics.load(ctrl, P_DONE)) {
        if (Atomics.wait(ctrl, P_DONE, done, 1000) === 'timed-out' && ++stalled >= STALL_SECONDS)
          throw new Error(`GBDT predict worker made no progress for ${STALL_SECONDS} s`);
      }
      if (Atomics.load(ctrl, P_FAILED) !== 0) throw new Error('GBDT predict worker failed');
    } catch (error) {
      abandon();
      throw error;
    }
  }

  /**
   * As addMargins, with the WebAssembly kernel: the input and margins go through the forest's memory
   * (made for this batch size once), the workers get its id and, when it is new to them, the memory.
   */
  private addWasmMargins(
    wf: WasmForest,
    forest: CompiledForest,
    x: DenseMatrix,
    out: Float64Array,
    nTrees: number,
  ): void {
    const n = x.rows;
    const d = x.cols;
    const K = forest.numOutputs;
    wf.data.set(x.data.subarray(0, n * d));
    const shared = wf.out.subarray(0, out.length);
    shared.set(out);
    const rows = Math.max(PREDICT_BLOCK, Math.ceil(n / (8 * this.threads) / PREDICT_BLOCK) * PREDICT_BLOCK);
    const chunks = Math.ceil(n / rows);
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    // The kernel instance of the calling thread cannot be cloned; workers make their own.
    const wasm = {
      id: wf.id,
      shared: wf.shared,
      rows: wf.rows,
      threads: wf.threads,
      ptrs: wf.ptrs,
      data: wf.data,
      out: wf.out,
      blk: wf.blk,
    };
    const msg = { ctrl, wasm, complete: true, n, d, K, rows, chunks, nTrees };
    // The stalled or failed worker may still write into this memory: the next call must not share it.
    this.runChunks(
      msg,
      (start, end) => wasmForestMargins(wf, n, d, K, start, end, nTrees, 0),
      () => forest.dropWasm(),
    );
    out.set(shared);
  }

  private dropBuffers(): void {
    this.dataBuf = new Float32Array(new SharedArrayBuffer(0));
    this.outBuf = new Float64Array(new SharedArrayBuffer(0));
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.dropBuffers();
  }
}

/**
 * Node.js worker_threads pool for batch prediction on `threads` threads (the calling thread is one);
 * reuse it across calls, `close()` it when done. Predictions equal single-threaded ones bit for bit.
 *
 * @example
 * const pool = nodePredictPool(2);
 * const p = model.predict(x, { pool });
 * pool.close();
 */
export function nodePredictPool(threads: number): GbdtPredictPool {
  return new NodePredictPool(threads);
}
