import type { DenseMatrix } from '../data/matrix.js';
import type { GbdtTree } from './tree.js';

const BLOCK = 128;

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
  }

  /**
   * Adds the first `nTrees` trees' outputs to row-major margins `out[i * numOutputs + k]`
   * (the caller initialises `out` with the base margin).
   */
  addMargins(x: DenseMatrix, out: Float64Array, nTrees = this.numTrees): void {
    const n = x.rows;
    const d = this.numFeatures;
    const K = this.numOutputs;
    const data = x.data;
    const blk = this.block;
    const { feat, thr, left, right, missLeft, value, roots, treeClass } = this;
    for (let b0 = 0; b0 < n; b0 += BLOCK) {
      const m = Math.min(BLOCK, n - b0);
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
