/** Doubles per feature in a node histogram: 256 bins × (gradient, hessian). */
export const FEATURE_STRIDE = 512;

/**
 * The GBDT hot loop: accumulates (gradient, hessian) pairs into per-node histograms for features
 * `[f0, f1)`. Nodes are given as triples `(start, end, slot)` in `nodes`: the node's rows are
 * `rowIdx[start..end)` (or the identity `start..end` when `identity` is 1) and its histogram lives at
 * `hist[slot * nFeat * 512 ..]`, feature-major, `[bin * 2] = Σg, [bin * 2 + 1] = Σh`.
 *
 * It must stay self-contained (no closures, imports or helpers): worker threads run it from its source text.
 */
export function histKernel(
  bins: Uint8Array,
  nFeat: number,
  gh: Float64Array,
  rowIdx: Uint32Array,
  hist: Float64Array,
  nodes: Int32Array,
  nNodes: number,
  identity: number,
  f0: number,
  f1: number,
): void {
  const span = (f1 - f0) * 512;
  for (let q = 0; q < nNodes; q++) {
    const start = nodes[3 * q]!;
    const end = nodes[3 * q + 1]!;
    const base = nodes[3 * q + 2]! * nFeat * 512 + f0 * 512;
    hist.fill(0, base, base + span);
    const width = f1 - f0;
    if (width === nFeat && identity === 1) {
      for (let i = start; i < end; i++) {
        const g = gh[2 * i]!;
        const h = gh[2 * i + 1]!;
        let r = i * nFeat;
        let o = base;
        for (let f = 0; f < nFeat; f++) {
          const k = o + (bins[r]! << 1);
          hist[k]! += g;
          hist[k + 1]! += h;
          r++;
          o += 512;
        }
      }
    } else {
      for (let j = start; j < end; j++) {
        const i = identity === 1 ? j : rowIdx[j]!;
        const g = gh[2 * i]!;
        const h = gh[2 * i + 1]!;
        let r = i * nFeat + f0;
        let o = base;
        for (let f = 0; f < width; f++) {
          const k = o + (bins[r]! << 1);
          hist[k]! += g;
          hist[k + 1]! += h;
          r++;
          o += 512;
        }
      }
    }
  }
}

/**
 * Builds histograms for a batch of nodes. Implementations own how the work is split; the buffers they
 * read (`bins`, `gh`, `rowIdx`) and the one they write (`hist`) are fixed at creation so that worker
 * threads can share them without copying.
 */
export interface HistogramBackend {
  readonly threads: number;
  build(nodes: Int32Array, nNodes: number, identity: boolean): void;
  close(): void;
}

/** Buffers a histogram backend works on. `shared` is true when they live in SharedArrayBuffers. */
export interface HistogramBuffers {
  bins: Uint8Array;
  nFeat: number;
  gh: Float64Array;
  rowIdx: Uint32Array;
  hist: Float64Array;
}

/** Creates a multi-threaded backend over shared buffers; see `node-workers.ts` for Node's worker_threads. */
export type HistogramWorkerFactory = (buffers: HistogramBuffers, threads: number) => HistogramBackend;

/** Single-threaded backend: runs the kernel over all features on the calling thread. */
export class SerialHistogramBackend implements HistogramBackend {
  readonly threads = 1;
  private readonly b: HistogramBuffers;
  constructor(buffers: HistogramBuffers) {
    this.b = buffers;
  }
  build(nodes: Int32Array, nNodes: number, identity: boolean): void {
    const b = this.b;
    histKernel(b.bins, b.nFeat, b.gh, b.rowIdx, b.hist, nodes, nNodes, identity ? 1 : 0, 0, b.nFeat);
  }
  close(): void {}
}
