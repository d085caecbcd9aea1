import { Worker } from 'node:worker_threads';
import type { HistogramBackend, HistogramBuffers, HistogramWorkerFactory } from './histogram.js';
import { histKernel } from './histogram.js';

// Control words in the shared Int32Array.
const SEQ = 0;
const CMD = 1;
const N_NODES = 2;
const IDENTITY = 3;
const DONE = 4;
const CMD_RUN = 1;
const CMD_EXIT = 2;

/**
 * Worker body. Built from the kernel's source text with `eval: true`, so the same code runs whether the
 * package is loaded from TypeScript sources (tests) or built JavaScript (production).
 */
function workerSource(): string {
  return `
const { workerData } = require('node:worker_threads');
const histKernel = ${histKernel.toString()};
const w = workerData;
const ctrl = new Int32Array(w.ctrl);
const bins32 = new Uint32Array(w.bins32);
const gh = new Float64Array(w.gh);
const rowIdx = new Uint32Array(w.rowIdx);
const hist = new Float64Array(w.hist);
const nodes = new Int32Array(w.nodes);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  if (Atomics.load(ctrl, ${CMD}) === ${CMD_EXIT}) break;
  histKernel(bins32, w.wordsPerRow, gh, rowIdx, hist, nodes, ctrl[${N_NODES}], ctrl[${IDENTITY}], w.w0, w.w1);
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;
}

/**
 * Splits the features (in 4-feature words) of every histogram between the calling thread and `threads - 1` worker threads.
 * Each feature is summed by one thread in the same row order as the serial kernel, so the histograms -
 * and therefore the trees - are bit-identical to `nthread = 1`.
 */
class NodeWorkerBackend implements HistogramBackend {
  readonly threads: number;
  private readonly b: HistogramBuffers;
  private readonly ctrl: Int32Array;
  private readonly nodes: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly mainW1: number;

  constructor(b: HistogramBuffers, threads: number) {
    for (const a of [b.bins32, b.gh, b.rowIdx, b.hist]) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error('histogram buffers must be shared');
    }
    this.b = b;
    this.threads = Math.max(1, Math.min(threads, b.wordsPerRow));
    this.ctrl = new Int32Array(new SharedArrayBuffer(64));
    this.nodes = new Int32Array(new SharedArrayBuffer(4 * 3 * 4096));
    const per = b.wordsPerRow / this.threads;
    this.mainW1 = Math.round(per);
    const src = workerSource();
    for (let t = 1; t < this.threads; t++) {
      const w0 = Math.round(per * t);
      const w1 = t === this.threads - 1 ? b.wordsPerRow : Math.round(per * (t + 1));
      const w = new Worker(src, {
        eval: true,
        workerData: {
          ctrl: this.ctrl.buffer,
          bins32: b.bins32.buffer,
          gh: b.gh.buffer,
          rowIdx: b.rowIdx.buffer,
          hist: b.hist.buffer,
          nodes: this.nodes.buffer,
          wordsPerRow: b.wordsPerRow,
          w0,
          w1,
        },
      });
      w.unref();
      this.workers.push(w);
    }
  }

  build(nodes: Int32Array, nNodes: number, identity: boolean): void {
    const b = this.b;
    const ctrl = this.ctrl;
    // Large batches are cut to the shared node buffer's capacity.
    const cap = this.nodes.length / 3;
    for (let off = 0; off < nNodes; off += cap) {
      const cnt = Math.min(cap, nNodes - off);
      this.nodes.set(nodes.subarray(3 * off, 3 * (off + cnt)));
      ctrl[N_NODES] = cnt;
      ctrl[IDENTITY] = identity ? 1 : 0;
      ctrl[CMD] = CMD_RUN;
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
      histKernel(
        b.bins32,
        b.wordsPerRow,
        b.gh,
        b.rowIdx,
        b.hist,
        this.nodes,
        cnt,
        identity ? 1 : 0,
        0,
        this.mainW1,
      );
      const need = this.workers.length;
      for (;;) {
        const done = Atomics.load(ctrl, DONE);
        if (done >= need) break;
        Atomics.wait(ctrl, DONE, done, 1000);
      }
    }
  }

  close(): void {
    Atomics.store(this.ctrl, CMD, CMD_EXIT);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/**
 * Node.js worker_threads factory for parallel histogram building (`nthread > 1`).
 *
 * @example
 * import { nodeWorkerFactory } from '@trainyard/ml/gbdt/node-workers';
 * const model = trainGbdt(train, { nthread: 2 }, { workerFactory: nodeWorkerFactory });
 */
export const nodeWorkerFactory: HistogramWorkerFactory = (buffers, threads) =>
  new NodeWorkerBackend(buffers, threads);
