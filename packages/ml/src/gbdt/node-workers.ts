import { Worker } from 'node:worker_threads';
import {
  CMD_EXIT,
  type GbdtExecutor,
  type GbdtWorkerFactory,
  type GbdtWorkspace,
  kernelSource,
  runTask,
} from './kernels.js';

// Control words in the shared Int32Array.
const SEQ = 0;
const DONE = 1;
// Polls before sleeping in Atomics.wait: the gaps between tasks of a tree are a few microseconds, far
// below a futex wake-up, so a short spin saves most of the hand-over latency.
const SPIN = 20000;

/**
 * Worker body, built from the kernels' source text with `eval: true`, so the same code runs whether the
 * package is loaded from TypeScript sources (tests) or built JavaScript (production).
 */
function workerSource(): string {
  return `
const { workerData } = require('node:worker_threads');
${kernelSource()}
const ws = workerData.ws;
const ctrl = workerData.ctrl;
const part = workerData.part;
let seen = 0;
for (;;) {
  let s = Atomics.load(ctrl, ${SEQ});
  for (let spin = 0; s === seen && spin < ${SPIN}; spin++) s = Atomics.load(ctrl, ${SEQ});
  while (s === seen) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    s = Atomics.load(ctrl, ${SEQ});
  }
  seen = s;
  if (ws.taskI[0] === ${CMD_EXIT}) break;
  const parts = ws.taskI[1];
  if (part < parts) runTask(ws, part, parts);
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;
}

/**
 * Persistent worker threads over one workspace of SharedArrayBuffers. `run(parts)` publishes the task
 * already written to `ws.taskI` by bumping a sequence word, runs part 0 on the calling thread and waits
 * until every worker has acknowledged; no messages are posted after start-up.
 */
class NodeWorkerExecutor implements GbdtExecutor {
  readonly threads: number;
  private readonly ws: GbdtWorkspace;
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];

  constructor(ws: GbdtWorkspace, threads: number) {
    for (const a of [ws.bins32, ws.gh, ws.rowIdx, ws.hist, ws.taskI, ws.margin, ws.colBins]) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error('workspace arrays must be shared');
    }
    this.ws = ws;
    this.threads = Math.max(1, threads);
    this.ctrl = new Int32Array(new SharedArrayBuffer(64));
    const src = workerSource();
    for (let t = 1; t < this.threads; t++) {
      const w = new Worker(src, { eval: true, workerData: { ws, ctrl: this.ctrl, part: t } });
      w.unref();
      this.workers.push(w);
    }
  }

  run(parts: number): void {
    const ws = this.ws;
    const p = Math.max(1, Math.min(parts, this.threads));
    ws.taskI[1] = p;
    if (p === 1) {
      runTask(ws, 0, 1);
      return;
    }
    const ctrl = this.ctrl;
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    runTask(ws, 0, p);
    const need = this.workers.length;
    let done = Atomics.load(ctrl, DONE);
    for (let spin = 0; done < need && spin < SPIN; spin++) done = Atomics.load(ctrl, DONE);
    while (done < need) {
      Atomics.wait(ctrl, DONE, done, 1000);
      done = Atomics.load(ctrl, DONE);
    }
  }

  close(): void {
    this.ws.taskI[0] = CMD_EXIT;
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
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
