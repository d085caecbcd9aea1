import type { DenseMatrix } from '../data/matrix.js';
import {
  instantiateKernels,
  WasmArena,
  type WasmKernels,
  type WasmShared,
  wasmKernelModule,
} from '../wasm/kernels.js';
import type { GbdtTree } from './tree.js';

const BLOCK = 128;
/** Below this many rows a batch runs on the calling thread: handing it out costs more than it saves. */
const MIN_POOL_ROWS = 2048;

/** The arrays of a `CompiledForest` the prediction kernels read. */
export interface ForestArrays {
  roots: Int32Array;
  treeClass: Int32Array;
  feat: Int32Array;
  thr: Float32Array;
  left: Int32Array;
  right: Int32Array;
  missLeft: Uint8Array;
  value: Float64Array;
  cDepth: Int32Array;
  cBase: Int32Array;
  cLeafBase: Int32Array;
  cFeat: Int32Array;
  cThr: Float32Array;
  cMissLeft: Int32Array;
  cValue: Float64Array;
}

/**
 * Threads for batch prediction (e.g. `nodePredictPool` from `./node-workers.js`): `addMargins` cuts the
 * rows into ranges run by `completeMargins` / `genericMargins` on every thread, and returns when all are done.
 */
export interface GbdtPredictPool {
  readonly threads: number;
  addMargins(forest: CompiledForest, x: DenseMatrix, out: Float64Array, nTrees: number): void;
  close(): void;
}
/** Below this many rows a batch runs the JS kernel: no WebAssembly memory is made for it. */
const MIN_WASM_ROWS = BLOCK;

/**
 * The complete layout, a batch's input and its margins in one shared WebAssembly memory, for the
 * `forestMargins` kernel (the same sums as `completeMargins`, without the bounds checks). Made once per
 * forest and kept while batches fit (`rows`, and a row block for each of `threads` threads).
 */
export interface WasmForest {
  /** Changes whenever a new memory is made: a pool worker instantiates the kernels once per id. */
  id: number;
  shared: WasmShared;
  /** The calling thread's instance. */
  kern: WasmKernels;
  rows: number;
  threads: number;
  /** Byte offsets of cDepth, cBase, cLeafBase, treeClass, cFeat, cThr, cMissLeft, cValue. */
  ptrs: number[];
  /** Column-major input (capacity rows × d) and row-major margins (rows × K), views into the memory. */
  data: Float32Array;
  out: Float64Array;
  /** Byte offset of thread t's row block: blk + t × BLOCK × d × 4. */
  blk: number;
}

let wasmForestIds = 0;

/** Trees up to this depth are also laid out as complete binary trees for the batch predictor. */
const MAX_COMPLETE_DEPTH = 10;

/**
 * All trees of a model flattened into one set of typed arrays (absolute node indices), the layout the
 * prediction loops want: no objects, no closures, rows visited in blocks transposed to row-major so a
 * tree's nodes and a block of rows both stay in cache.
 */
export class CompiledForest {
  readonly numTrees: number;
  readonly numOutputs: number;
  readonly numFeatures: number;
  private readonly roots: Int32Array;
  private readonly treeClass: Int32Array;
  private readonly feat: Int32Array;
  private readonly thr: Float32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly missLeft: Uint8Array;
  private readonly value: Float64Array;
  private readonly block: Float32Array;
  // Complete layout (every tree padded to a complete binary tree of its depth: a leaf above the bottom
  // becomes a subtree whose leaves all hold its value, so the walk is a fixed number of branch-free
  // steps `node = 2 * node + 1 + goRight`). Empty when some tree is deeper than MAX_COMPLETE_DEPTH.
  private readonly cDepth: Int32Array;
  private readonly cBase: Int32Array;
  private readonly cLeafBase: Int32Array;
  private readonly cFeat: Int32Array;
  private readonly cThr: Float32Array;
  private readonly cMissLeft: Int32Array;
  private readonly cValue: Float64Array;
  private own: ForestArrays | undefined;
  private shared: ForestArrays | undefined;
  private wasm: WasmForest | undefined;

  constructor(
    trees: readonly GbdtTree[],
    treeClass: ArrayLike<number>,
    numOutputs: number,
    numFeatures: number,
  ) {
    let total = 0;
    for (const t of trees) total += t.left.length;
    this.numTrees = trees.length;
    this.numOutputs = numOutputs;
    this.numFeatures = numFeatures;
    this.roots = new Int32Array(trees.length);
    this.treeClass = Int32Array.from(treeClass);
    this.feat = new Int32Array(total);
    this.thr = new Float32Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.missLeft = new Uint8Array(total);
    this.value = new Float64Array(total);
    let o = 0;
    trees.forEach((t, k) => {
      this.roots[k] = o;
      for (let j = 0; j < t.left.length; j++) {
        const leaf = t.left[j]! < 0;
        this.feat[o + j] = leaf ? -1 : t.feature[j]!;
        this.thr[o + j] = t.threshold[j]!;
        this.left[o + j] = leaf ? -1 : o + t.left[j]!;
        this.right[o + j] = leaf ? -1 : o + t.right[j]!;
        this.missLeft[o + j] = t.defaultLeft[j]!;
        this.value[o + j] = t.value[j]!;
      }
      o += t.left.length;
    });
    this.block = new Float32Array(BLOCK * numFeatures);

    const depths = trees.map(treeDepth);
    const complete = depths.every((dd) => dd <= MAX_COMPLETE_DEPTH);
    this.cDepth = Int32Array.from(complete ? depths : []);
    this.cBase = new Int32Array(this.cDepth.length);
    this.cLeafBase = new Int32Array(this.cDepth.length);
    let ni = 0;
    let nl = 0;
    for (let k = 0; k < this.cDepth.length; k++) {
      this.cBase[k] = ni;
      this.cLeafBase[k] = nl;
      ni += 2 ** this.cDepth[k]! - 1;
      nl += 2 ** this.cDepth[k]!;
    }
    this.cFeat = new Int32Array(ni);
    this.cThr = new Float32Array(ni);
    this.cMissLeft = new Int32Array(ni);
    this.cValue = new Float64Array(nl);
    for (let k = 0; k < this.cDepth.length; k++) this.fillComplete(trees[k]!, k);
  }

  private fillComplete(t: GbdtTree, k: number): void {
    const D = this.cDepth[k]!;
    const ib = this.cBase[k]!;
    const lb = this.cLeafBase[k]!;
    const inner = 2 ** D - 1;
    // (original node, complete index, depth) triples.
    const stack: number[] = [0, 0, 0];
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const c = stack.pop()!;
      const j = stack.pop()!;
      if (depth === D) {
        this.cValue[lb + c - inner] = t.value[j]!;
        continue;
      }
      const leaf = t.left[j]! < 0;
      // Padding nodes compare feature 0 with 0: both sides lead to the same leaf value.
      this.cFeat[ib + c] = leaf ? 0 : t.feature[j]!;
      this.cThr[ib + c] = leaf ? 0 : t.threshold[j]!;
      this.cMissLeft[ib + c] = leaf ? 1 : t.defaultLeft[j]!;
      stack.push(leaf ? j : t.left[j]!, 2 * c + 1, depth + 1, leaf ? j : t.right[j]!, 2 * c + 2, depth + 1);
    }
  }

  /**
   * Adds the first `nTrees` trees' outputs to row-major margins `out[i * numOutputs + k]`
   * (the caller initialises `out` with the base margin). With a `pool`, row ranges run on its threads
   * (same sums: each row's trees are added in tree order whoever runs it).
   */
  addMargins(x: DenseMatrix, out: Float64Array, nTrees = this.numTrees, pool?: GbdtPredictPool): void {
    if (pool && pool.threads > 1 && x.rows >= MIN_POOL_ROWS) {
      pool.addMargins(this, x, out, nTrees);
      return;
    }
    const wf = this.wasmFor(x.rows, 1);
    if (wf) {
      const n = x.rows;
      const d = this.numFeatures;
      wf.data.set(x.data.subarray(0, n * d));
      const o = wf.out.subarray(0, out.length);
      o.set(out);
      wasmForestMargins(wf, n, d, this.numOutputs, 0, n, nTrees, 0);
      out.set(o);
      return;
    }
    const fn = this.complete ? completeMargins : genericMargins;
    fn(this.arrays, x.data, x.rows, this.numFeatures, this.numOutputs, out, 0, x.rows, nTrees, this.block);
  }

  /**
   * The forest in a WebAssembly memory with room for `rows` rows on `threads` threads (made or grown
   * here), or null when the kernels are unavailable, the forest is not complete or the batch is small.
   */
  /**
   * Forgets the WebAssembly memory, so the next batch gets a new one: after a worker stalled, it
   * may still write into the old memory.
   */
  dropWasm(): void {
    this.wasm = undefined;
  }

  wasmFor(rows: number, threads: number): WasmForest | null {
    if (!this.complete || rows < MIN_WASM_ROWS) return null;
    const cur = this.wasm;
    if (cur && cur.rows >= rows && cur.threads >= threads) return cur;
    const module = wasmKernelModule();
    if (!module) return null;
    // Grown to the largest batch and thread count seen, so that alternating sizes do not remake it.
    const cap = Math.max(rows, cur ? cur.rows : 0);
    const th = Math.max(threads, cur ? cur.threads : 1);
    const d = this.numFeatures;
    const K = this.numOutputs;
    const parts = [
      this.cDepth,
      this.cBase,
      this.cLeafBase,
      this.treeClass,
      this.cFeat,
      this.cThr,
      this.cMissLeft,
    ];
    let bytes = 8 * this.cValue.length + 4 * cap * d + 8 * cap * K + 4 * BLOCK * d * th;
    for (const a of parts) bytes += a.byteLength;
    const arena = WasmArena.create(bytes, parts.length + 4);
    if (!arena) return null;
    const ptrs: number[] = [];
    for (const a of parts) {
      const c = a instanceof Float32Array ? arena.f32(a.length) : arena.i32(a.length);
      c.set(a);
      ptrs.push(c.byteOffset);
    }
    const cValue = arena.f64(this.cValue.length);
    cValue.set(this.cValue);
    ptrs.push(cValue.byteOffset);
    const shared = { module, memory: arena.memory };
    this.wasm = {
      id: ++wasmForestIds,
      shared,
      kern: instantiateKernels(shared),
      rows: cap,
      threads: th,
      ptrs,
      data: arena.f32(cap * d),
      out: arena.f64(cap * K),
      blk: arena.f32(BLOCK * d * th).byteOffset,
    };
    return this.wasm;
  }

  /** Whether every tree fits the complete layout (`completeMargins`), else `genericMargins`. */
  get complete(): boolean {
    return this.cDepth.length === this.numTrees;
  }

  /** The typed arrays the prediction kernels read (copies in SharedArrayBuffers for a worker pool, made once). */
  sharedArrays(): ForestArrays {
    if (!this.shared) {
      const own = this.arrays;
      const copy = {} as Record<string, Int32Array | Float32Array | Float64Array | Uint8Array>;
      for (const [key, v] of Object.entries(own)) {
        const Ctor = v.constructor as new (b: SharedArrayBuffer) => typeof v;
        const c = new Ctor(new SharedArrayBuffer(v.byteLength));
        c.set(v as never);
        copy[key] = c;
      }
      this.shared = copy as unknown as ForestArrays;
    }
    return this.shared;
  }

  private get arrays(): ForestArrays {
    this.own ??= {
      roots: this.roots,
      treeClass: this.treeClass,
      feat: this.feat,
      thr: this.thr,
      left: this.left,
      right: this.right,
      missLeft: this.missLeft,
      value: this.value,
      cDepth: this.cDepth,
      cBase: this.cBase,
      cLeafBase: this.cLeafBase,
      cFeat: this.cFeat,
      cThr: this.cThr,
      cMissLeft: this.cMissLeft,
      cValue: this.cValue,
    };
    return this.own;
  }

  /** Adds all trees' outputs for one row (`row[f]`, feature order) into `out[k]`. */
  addRowMargins(row: ArrayLike<number>, out: Float64Array, nTrees = this.numTrees): void {
    const { feat, thr, left, right, missLeft, value, roots, treeClass } = this;
    for (let t = 0; t < nTrees; t++) {
      let nd = roots[t]!;
      let f = feat[nd]!;
      while (f >= 0) {
        // Inputs are compared as float32, like XGBoost and ONNX do, so float64 callers see the same splits.
        const v = Math.fround(row[f]!);
        nd =
          v < thr[nd]! ? left[nd]! : v >= thr[nd]! ? right[nd]! : missLeft[nd] === 1 ? left[nd]! : right[nd]!;
        f = feat[nd]!;
      }
      out[treeClass[t]!]! += value[nd]!;
    }
  }
}

/**
 * Rows [r0, r1) of the batch already copied into `wf` (n rows, d features, K outputs), run by `kern`
 * (this thread's instance) with thread `tid`'s row block.
 */
export function wasmForestMargins(
  wf: WasmForest,
  n: number,
  d: number,
  K: number,
  r0: number,
  r1: number,
  nTrees: number,
  tid: number,
): void {
  const p = wf.ptrs;
  wf.kern.forestMargins(
    p[0]!,
    p[1]!,
    p[2]!,
    p[3]!,
    p[4]!,
    p[5]!,
    p[6]!,
    p[7]!,
    nTrees,
    wf.data.byteOffset,
    n,
    d,
    K,
    wf.out.byteOffset,
    r0,
    r1,
    wf.blk + tid * BLOCK * d * 4,
    BLOCK,
  );
}

/** Depth of a tree (a lone leaf has depth 0). */
function treeDepth(t: GbdtTree): number {
  let max = 0;
  const stack = [0, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const j = stack.pop()!;
    if (t.left[j]! < 0) max = Math.max(max, depth);
    else stack.push(t.left[j]!, depth + 1, t.right[j]!, depth + 1);
  }
  return max;
}

/**
 * Blocks of rows transposed to row-major float32, each tree walked for eight rows at a time in blocks
 * without a missing value, four in the others (independent load chains in flight), over the complete
 * layout; values added in tree order, so the sums equal `addRowMargins`' whatever the row range [r0, r1).
 * Self-contained: worker threads run it from its source text. `blk` holds a block of rows (row-major, `d` floats each).
 */
export function completeMargins(
  a: ForestArrays,
  data: Float32Array,
  n: number,
  d: number,
  K: number,
  out: Float64Array,
  r0: number,
  r1: number,
  nTrees: number,
  blk: Float32Array,
): void {
  const { cDepth, cBase, cLeafBase, cFeat, cThr, cMissLeft, cValue, treeClass } = a;
  const B = blk.length / d;
  for (let b0 = r0; b0 < r1; b0 += B) {
    const m = Math.min(B, r1 - b0);
    let nan = 0;
    for (let f = 0; f < d; f++) {
      const src = f * n + b0;
      for (let r = 0; r < m; r++) {
        const v = data[src + r]!;
        blk[r * d + f] = v;
        nan |= Number.isNaN(v) as unknown as number;
      }
    }
    const m4 = m & ~3;
    const m8 = m & ~7;
    if (nan === 0) {
      // No missing value in this block: plain comparisons.
      for (let t = 0; t < nTrees; t++) {
        const D = cDepth[t]!;
        const ib = cBase[t]!;
        const lb = cLeafBase[t]! - (2 ** D - 1);
        const k = treeClass[t]!;
        let r = 0;
        // Eight rows per walk first (eight independent load chains: ≈ 15% less CPU than four on the bench
        // model), then four, then one.
        for (; r < m8; r += 8) {
          const o0 = r * d;
          const o1 = o0 + d;
          const o2 = o0 + 2 * d;
          const o3 = o0 + 3 * d;
          const o4 = o0 + 4 * d;
          const o5 = o0 + 5 * d;
          const o6 = o0 + 6 * d;
          const o7 = o0 + 7 * d;
          let n0 = 0;
          let n1 = 0;
          let n2 = 0;
          let n3 = 0;
          let n4 = 0;
          let n5 = 0;
          let n6 = 0;
          let n7 = 0;
          for (let l = 0; l < D; l++) {
            const a0 = ib + n0;
            const a1 = ib + n1;
            const a2 = ib + n2;
            const a3 = ib + n3;
            const a4 = ib + n4;
            const a5 = ib + n5;
            const a6 = ib + n6;
            const a7 = ib + n7;
            n0 = 2 * n0 + 2 - ((blk[o0 + cFeat[a0]!]! < cThr[a0]!) as unknown as number);
            n1 = 2 * n1 + 2 - ((blk[o1 + cFeat[a1]!]! < cThr[a1]!) as unknown as number);
            n2 = 2 * n2 + 2 - ((blk[o2 + cFeat[a2]!]! < cThr[a2]!) as unknown as number);
            n3 = 2 * n3 + 2 - ((blk[o3 + cFeat[a3]!]! < cThr[a3]!) as unknown as number);
            n4 = 2 * n4 + 2 - ((blk[o4 + cFeat[a4]!]! < cThr[a4]!) as unknown as number);
            n5 = 2 * n5 + 2 - ((blk[o5 + cFeat[a5]!]! < cThr[a5]!) as unknown as number);
            n6 = 2 * n6 + 2 - ((blk[o6 + cFeat[a6]!]! < cThr[a6]!) as unknown as number);
            n7 = 2 * n7 + 2 - ((blk[o7 + cFeat[a7]!]! < cThr[a7]!) as unknown as number);
          }
          const q = (b0 + r) * K + k;
          out[q]! += cValue[lb + n0]!;
          out[q + K]! += cValue[lb + n1]!;
          out[q + 2 * K]! += cValue[lb + n2]!;
          out[q + 3 * K]! += cValue[lb + n3]!;
          out[q + 4 * K]! += cValue[lb + n4]!;
          out[q + 5 * K]! += cValue[lb + n5]!;
          out[q + 6 * K]! += cValue[lb + n6]!;
          out[q + 7 * K]! += cValue[lb + n7]!;
        }
        for (; r < m4; r += 4) {
          const o0 = r * d;
          const o1 = o0 + d;
          const o2 = o1 + d;
          const o3 = o2 + d;
          let n0 = 0;
          let n1 = 0;
          let n2 = 0;
          let n3 = 0;
          for (let l = 0; l < D; l++) {
            const a0 = ib + n0;
            const a1 = ib + n1;
            const a2 = ib + n2;
            const a3 = ib + n3;
            n0 = 2 * n0 + 2 - ((blk[o0 + cFeat[a0]!]! < cThr[a0]!) as unknown as number);
            n1 = 2 * n1 + 2 - ((blk[o1 + cFeat[a1]!]! < cThr[a1]!) as unknown as number);
            n2 = 2 * n2 + 2 - ((blk[o2 + cFeat[a2]!]! < cThr[a2]!) as unknown as number);
            n3 = 2 * n3 + 2 - ((blk[o3 + cFeat[a3]!]! < cThr[a3]!) as unknown as number);
          }
          const q = (b0 + r) * K + k;
          out[q]! += cValue[lb + n0]!;
          out[q + K]! += cValue[lb + n1]!;
          out[q + 2 * K]! += cValue[lb + n2]!;
          out[q + 3 * K]! += cValue[lb + n3]!;
        }
        for (; r < m; r++) {
          const o0 = r * d;
          let n0 = 0;
          for (let l = 0; l < D; l++) {
            const a0 = ib + n0;
            n0 = 2 * n0 + 2 - ((blk[o0 + cFeat[a0]!]! < cThr[a0]!) as unknown as number);
          }
          out[(b0 + r) * K + k]! += cValue[lb + n0]!;
        }
      }
      continue;
    }
    for (let t = 0; t < nTrees; t++) {
      const D = cDepth[t]!;
      const ib = cBase[t]!;
      const lb = cLeafBase[t]! - (2 ** D - 1);
      const k = treeClass[t]!;
      let r = 0;
      for (; r < m4; r += 4) {
        const o0 = r * d;
        const o1 = o0 + d;
        const o2 = o1 + d;
        const o3 = o2 + d;
        let n0 = 0;
        let n1 = 0;
        let n2 = 0;
        let n3 = 0;
        for (let l = 0; l < D; l++) {
          const a0 = ib + n0;
          const a1 = ib + n1;
          const a2 = ib + n2;
          const a3 = ib + n3;
          const v0 = blk[o0 + cFeat[a0]!]!;
          const v1 = blk[o1 + cFeat[a1]!]!;
          const v2 = blk[o2 + cFeat[a2]!]!;
          const v3 = blk[o3 + cFeat[a3]!]!;
          // Left when v < threshold, or when v is missing (NaN) and the default is left.
          n0 =
            2 * n0 +
            2 -
            (((v0 < cThr[a0]!) as unknown as number) |
              ((Number.isNaN(v0) as unknown as number) & cMissLeft[a0]!));
          n1 =
            2 * n1 +
            2 -
            (((v1 < cThr[a1]!) as unknown as number) |
              ((Number.isNaN(v1) as unknown as number) & cMissLeft[a1]!));
          n2 =
            2 * n2 +
            2 -
            (((v2 < cThr[a2]!) as unknown as number) |
              ((Number.isNaN(v2) as unknown as number) & cMissLeft[a2]!));
          n3 =
            2 * n3 +
            2 -
            (((v3 < cThr[a3]!) as unknown as number) |
              ((Number.isNaN(v3) as unknown as number) & cMissLeft[a3]!));
        }
        const q = (b0 + r) * K + k;
        out[q]! += cValue[lb + n0]!;
        out[q + K]! += cValue[lb + n1]!;
        out[q + 2 * K]! += cValue[lb + n2]!;
        out[q + 3 * K]! += cValue[lb + n3]!;
      }
      for (; r < m; r++) {
        const o0 = r * d;
        let n0 = 0;
        for (let l = 0; l < D; l++) {
          const a0 = ib + n0;
          const v0 = blk[o0 + cFeat[a0]!]!;
          n0 =
            2 * n0 +
            2 -
            (((v0 < cThr[a0]!) as unknown as number) |
              ((Number.isNaN(v0) as unknown as number) & cMissLeft[a0]!));
        }
        out[(b0 + r) * K + k]! += cValue[lb + n0]!;
      }
    }
  }
}

/** As `completeMargins`, for any depth: trees walked node by node. */
export function genericMargins(
  a: ForestArrays,
  data: Float32Array,
  n: number,
  d: number,
  K: number,
  out: Float64Array,
  r0: number,
  r1: number,
  nTrees: number,
  blk: Float32Array,
): void {
  const { feat, thr, left, right, missLeft, value, roots, treeClass } = a;
  const B = blk.length / d;
  for (let b0 = r0; b0 < r1; b0 += B) {
    const m = Math.min(B, r1 - b0);
    for (let f = 0; f < d; f++) {
      const src = f * n + b0;
      for (let r = 0; r < m; r++) blk[r * d + f] = data[src + r]!;
    }
    for (let t = 0; t < nTrees; t++) {
      const root = roots[t]!;
      const k = treeClass[t]!;
      for (let r = 0; r < m; r++) {
        const ro = r * d;
        let nd = root;
        let f = feat[nd]!;
        while (f >= 0) {
          const v = blk[ro + f]!;
          nd =
            v < thr[nd]!
              ? left[nd]!
              : v >= thr[nd]!
                ? right[nd]!
                : missLeft[nd] === 1
                  ? left[nd]!
                  : right[nd]!;
          f = feat[nd]!;
        }
        out[(b0 + r) * K + k]! += value[nd]!;
      }
    }
  }
}
