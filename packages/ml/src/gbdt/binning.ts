import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from '../data/matrix.js';

/**
 * Per-feature quantile cut points. For feature `f`, `cuts.subarray(offsets[f], offsets[f + 1])` is strictly
 * increasing; a value `x` falls in bin `b = #{c : c <= x}` (upper bound), so the split "bin <= b goes
 * left" is exactly `x < cuts[b]`, the comparison XGBoost and ONNX trees use. Missing values get the code
 * `numBins[f]`, which is only used when the feature had missing values during training.
 */
export interface BinCuts {
  cuts: Float32Array;
  offsets: Int32Array;
  /** Number of value bins of each feature (1..256; at most 255 when the feature has missing values). */
  numBins: Int32Array;
  hasMissing: Uint8Array;
}

/**
 * Feature bins as uint8 in two layouts: column-major (`colBins[f * rows + i]`, read when partitioning a
 * node on one feature) and row-major (`rowBins[i * rowStride + f]`, read by the histogram kernel, which
 * visits a node's rows once and loads four features per 32-bit word). `rowStride` is `cols` rounded up to
 * a multiple of 4; padding bytes are 0 and land in histogram slots nobody reads.
 */
export interface BinnedMatrix {
  rows: number;
  cols: number;
  rowStride: number;
  colBins: Uint8Array;
  rowBins: Uint8Array;
}

/**
 * Quantile-bins feature `f` of the column-major float32 matrix `data` (n rows) into at most `maxBin`
 * (2..256) uint8 codes: the column is radix-sorted once, the cuts are read off the sorted values and the
 * codes assigned by one walk over the same order, so no per-value binary search is needed. Writes
 * `colBins[f * n ..]`, the cuts to `cutBuf[f * 256 ..]`, `numBins[f]` and `hasMissing[f]`; `scratch`
 * holds 4n uint32 from `so`. Self-contained (worker threads run it from its source text).
 */
export function binColumn(
  data: Float32Array,
  n: number,
  f: number,
  maxBin: number,
  colBins: Uint8Array,
  cutBuf: Float32Array,
  numBins: Int32Array,
  hasMissing: Uint8Array,
  scratch: Uint32Array,
  so: number,
): void {
  const keys = scratch.subarray(so, so + n);
  const idx = scratch.subarray(so + n, so + 2 * n);
  const keys2 = scratch.subarray(so + 2 * n, so + 3 * n);
  const idx2 = scratch.subarray(so + 3 * n, so + 4 * n);
  const counts = new Uint32Array(2048 * 3);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const col = data.subarray(f * n, (f + 1) * n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    f32[0] = col[i]!;
    // -0 and +0 compare equal, so they must share a key.
    const bits = u32[0]! === 0x80000000 ? 0 : u32[0]!;
    // NaN is excluded; the key flip makes unsigned order equal float order.
    if (!Number.isNaN(col[i]!)) {
      keys[m] = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
      idx[m++] = i;
    }
  }
  radixSort(keys, idx, keys2, idx2, m, counts);
  const missing = n - m;
  hasMissing[f] = missing > 0 ? 1 : 0;
  const valueBins = missing > 0 ? Math.min(maxBin, 255) : maxBin;
  const cuts = quantileCuts(keys, m, valueBins, f32, u32);
  cutBuf.set(cuts, f * 256);
  const nb = cuts.length + 1;
  numBins[f] = nb;
  const base = f * n;
  if (missing > 0) colBins.fill(nb, base, base + n);
  let b = 0;
  let next = cuts.length > 0 ? cuts[0]! : Number.POSITIVE_INFINITY;
  for (let k = 0; k < m; k++) {
    const v = col[idx[k]!]!;
    while (v >= next) {
      b++;
      next = b < cuts.length ? cuts[b]! : Number.POSITIVE_INFINITY;
    }
    colBins[base + idx[k]!] = b;
  }
}

/** Rows [i0, i1) of the column-major bins into the row-major layout (blocked so both stream through cache). */
export function transposeBins(
  colBins: Uint8Array,
  rowBins: Uint8Array,
  n: number,
  d: number,
  stride: number,
  i0: number,
  i1: number,
): void {
  for (let b0 = i0; b0 < i1; b0 += 1024) {
    const b1 = Math.min(i1, b0 + 1024);
    for (let f = 0; f < d; f++) {
      const base = f * n;
      for (let i = b0; i < b1; i++) rowBins[i * stride + f] = colBins[base + i]!;
    }
  }
}

/** Packs the per-feature cuts written by `binColumn` into a `BinCuts`. */
export function collectCuts(cutBuf: Float32Array, numBins: Int32Array, hasMissing: Uint8Array): BinCuts {
  const d = numBins.length;
  const offsets = new Int32Array(d + 1);
  for (let f = 0; f < d; f++) offsets[f + 1] = offsets[f]! + numBins[f]! - 1;
  const all = new Float32Array(offsets[d]!);
  for (let f = 0; f < d; f++) all.set(cutBuf.subarray(f * 256, f * 256 + numBins[f]! - 1), offsets[f]!);
  return { cuts: all, offsets, numBins: Int32Array.from(numBins), hasMissing: Uint8Array.from(hasMissing) };
}

/**
 * Quantile-bins every feature of `x` into at most `maxBin` (2..256) uint8 codes on the calling thread
 * (`trainGbdt` runs `binColumn` / `transposeBins` as tasks instead, so that workers share the work).
 */
export function quantize(x: DenseMatrix, maxBin: number): { cuts: BinCuts; binned: BinnedMatrix } {
  checkMaxBin(maxBin);
  const n = x.rows;
  const d = x.cols;
  const stride = (d + 3) & ~3;
  const colBins = new Uint8Array(n * d);
  const rowBins = new Uint8Array(n * stride);
  const cutBuf = new Float32Array(256 * d);
  const numBins = new Int32Array(d);
  const hasMissing = new Uint8Array(d);
  const scratch = new Uint32Array(4 * n);
  for (let f = 0; f < d; f++)
    binColumn(x.data, n, f, maxBin, colBins, cutBuf, numBins, hasMissing, scratch, 0);
  transposeBins(colBins, rowBins, n, d, stride, 0, n);
  return {
    cuts: collectCuts(cutBuf, numBins, hasMissing),
    binned: { rows: n, cols: d, rowStride: stride, colBins, rowBins },
  };
}

export function checkMaxBin(maxBin: number): void {
  if (!Number.isInteger(maxBin) || maxBin < 2 || maxBin > 256) {
    throw new MlInputError('max_bin', `must be an integer in 2..256, got ${maxBin}`);
  }
}

/** LSD radix sort of `m` uint32 keys (11-bit digits, 3 passes), carrying `idx`; result ends in keys/idx. */
export function radixSort(
  keys: Uint32Array,
  idx: Uint32Array,
  k2: Uint32Array,
  i2: Uint32Array,
  m: number,
  counts: Uint32Array,
): void {
  counts.fill(0);
  for (let k = 0; k < m; k++) {
    const v = keys[k]!;
    counts[v & 2047]!++;
    counts[2048 + ((v >>> 11) & 2047)]!++;
    counts[4096 + (v >>> 22)]!++;
  }
  let srcK = keys;
  let srcI = idx;
  let dstK = k2;
  let dstI = i2;
  for (let pass = 0; pass < 3; pass++) {
    const shift = pass * 11;
    const off = pass * 2048;
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[off + b]!;
      counts[off + b] = sum;
      sum += c;
    }
    for (let k = 0; k < m; k++) {
      const v = srcK[k]!;
      const pos = counts[off + ((v >>> shift) & 2047)]!++;
      dstK[pos] = v;
      dstI[pos] = srcI[k]!;
    }
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
    const ti = srcI;
    srcI = dstI;
    dstI = ti;
  }
  // Three passes leave the result in the scratch arrays.
  keys.set(srcK.subarray(0, m));
  idx.set(srcI.subarray(0, m));
}

export function keyToFloat(key: number, f32: Float32Array, u32: Uint32Array): number {
  u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return f32[0]!;
}

/** Cut points at evenly spaced ranks among the sorted keys; all distinct values when few enough. */
export function quantileCuts(
  sorted: Uint32Array,
  m: number,
  bins: number,
  f32: Float32Array,
  u32: Uint32Array,
): Float32Array {
  if (m === 0) return new Float32Array(0);
  let distinct = 1;
  for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= bins) {
    for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) out.push(keyToFloat(sorted[i]!, f32, u32));
  } else {
    let last = sorted[0]!;
    for (let q = 1; q < bins; q++) {
      const k = sorted[Math.floor((q * m) / bins)]!;
      if (k > last) {
        out.push(keyToFloat(k, f32, u32));
        last = k;
      }
    }
  }
  return Float32Array.from(out);
}
