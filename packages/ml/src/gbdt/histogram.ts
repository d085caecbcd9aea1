/** Doubles per feature in a node histogram: 256 bins × (gradient, hessian). */
export const FEATURE_STRIDE = 512;

/**
 * The GBDT hot loop: accumulates (gradient, hessian) pairs into per-node histograms. Row `i`'s bins are
 * the bytes of `bins32[i * wordsPerRow .. (i + 1) * wordsPerRow)` (row-major uint8 codes read four at a
 * time); this call handles words `[w0, w1)`, i.e. features `[4 * w0, 4 * w1)`. Nodes are triples
 * `(start, end, slot)` in `nodes`: the rows are `rowIdx[start..end)` (or `start..end` when `identity` is 1)
 * and the histogram is at `hist[slot * wordsPerRow * 2048 ..]`, feature-major,
 * `[bin * 2] = Σg, [bin * 2 + 1] = Σh`.
 *
 * It must stay self-contained (no closures, imports or helpers): worker threads run it from its source text.
 */
export function histKernel(
  bins32: Uint32Array,
  wordsPerRow: number,
  gh: Float64Array,
  rowIdx: Uint32Array,
  hist: Float64Array,
  nodes: Int32Array,
  nNodes: number,
  identity: number,
  w0: number,
  w1: number,
): void {
  const nodeStride = wordsPerRow * 2048;
  for (let q = 0; q < nNodes; q++) {
    const start = nodes[3 * q]!;
    const end = nodes[3 * q + 1]!;
    const base = nodes[3 * q + 2]! * nodeStride + w0 * 2048;
    hist.fill(0, base, base + (w1 - w0) * 2048);
    for (let j = start; j < end; j++) {
      const i = identity === 1 ? j : rowIdx[j]!;
      const g = gh[2 * i]!;
      const h = gh[2 * i + 1]!;
      let w = i * wordsPerRow + w0;
      const wEnd = i * wordsPerRow + w1;
      let o = base;
      while (w < wEnd) {
        const v = bins32[w]!;
        let k = o + ((v & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = o + 512 + (((v >>> 8) & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = o + 1024 + (((v >>> 16) & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = o + 1536 + ((v >>> 24) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        w++;
        o += 2048;
      }
    }
  }
}

/**
 * Builds histograms for a batch of nodes. Implementations own how the work is split; the buffers they
 * read (`bins32`, `gh`, `rowIdx`) and the one they write (`hist`) are fixed at creation so that worker
 * threads can share them without copying.
 */
export interface HistogramBackend {
  readonly threads: number;
  build(nodes: Int32Array, nNodes: number, identity: boolean): void;
  close(): void;
}

/** Buffers a histogram backend works on (SharedArrayBuffers when handed to a worker factory). */
export interface HistogramBuffers {
  bins32: Uint32Array;
  wordsPerRow: number;
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
    histKernel(
      b.bins32,
      b.wordsPerRow,
      b.gh,
      b.rowIdx,
      b.hist,
      nodes,
      nNodes,
      identity ? 1 : 0,
      0,
      b.wordsPerRow,
    );
  }
  close(): void {}
}
