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
 * Quantile sketch per feature from (a deterministic sample of) the non-missing values.
 * `maxBin` is the number of value bins (2..256), as in XGBoost's `max_bin`.
 */
export function computeCuts(x: DenseMatrix, maxBin: number, sampleSize = 1 << 18): BinCuts {
  if (maxBin < 2 || maxBin > 256) throw new MlInputError('max_bin', `must be in 2..256, got ${maxBin}`);
  const n = x.rows;
  const d = x.cols;
  const parts: Float32Array[] = [];
  const offsets = new Int32Array(d + 1);
  const numBins = new Int32Array(d);
  const hasMissing = new Uint8Array(d);
  const stride = n > sampleSize ? n / sampleSize : 1;
  const buf = new Float32Array(Math.min(n, sampleSize));
  for (let f = 0; f < d; f++) {
    const col = x.column(f);
    let missing = 0;
    for (let i = 0; i < n; i++) if (col[i] !== col[i]) missing++;
    hasMissing[f] = missing > 0 ? 1 : 0;
    let m = 0;
    if (stride === 1) {
      for (let i = 0; i < n; i++) {
        const v = col[i]!;
        if (v === v) buf[m++] = v;
      }
    } else {
      // Evenly spaced rows keep the sketch deterministic without an RNG.
      for (let s = 0; s < sampleSize; s++) {
        const v = col[Math.floor(s * stride)]!;
        if (v === v) buf[m++] = v;
      }
    }
    const sorted = buf.subarray(0, m).sort();
    const valueBins = missing > 0 ? Math.min(maxBin, 255) : maxBin;
    const cuts = quantileCuts(sorted, valueBins);
    parts.push(cuts);
    numBins[f] = cuts.length + 1;
    offsets[f + 1] = offsets[f]! + cuts.length;
  }
  const all = new Float32Array(offsets[d]!);
  for (let f = 0; f < d; f++) all.set(parts[f]!, offsets[f]!);
  return { cuts: all, offsets, numBins, hasMissing };
}

function quantileCuts(sorted: Float32Array, bins: number): Float32Array {
  const m = sorted.length;
  if (m === 0) return new Float32Array(0);
  let distinct = 1;
  for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= bins) {
    for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  } else {
    let last = sorted[0]!;
    for (let q = 1; q < bins; q++) {
      const v = sorted[Math.floor((q * m) / bins)]!;
      if (v > last) {
        out.push(v);
        last = v;
      }
    }
  }
  return Float32Array.from(out);
}

/**
 * Feature bins as uint8 in two layouts: column-major (`col[f * n + i]`, read when partitioning a node on
 * one feature) and row-major (`row[i * d + f]`, read by the histogram kernel, which visits a node's rows
 * once and touches all features of a row in one cache line).
 */
export interface BinnedMatrix {
  rows: number;
  cols: number;
  colBins: Uint8Array;
  rowBins: Uint8Array;
}

/** Bins every value of `x` with `cuts`. `shared` places the row-major bins in a SharedArrayBuffer for workers. */
export function binMatrix(x: DenseMatrix, cuts: BinCuts, shared = false): BinnedMatrix {
  const n = x.rows;
  const d = x.cols;
  const colBins = new Uint8Array(n * d);
  const rowBuf = shared ? new SharedArrayBuffer(n * d) : new ArrayBuffer(n * d);
  const rowBins = new Uint8Array(rowBuf);
  for (let f = 0; f < d; f++) {
    const col = x.column(f);
    const lo = cuts.offsets[f]!;
    const nc = cuts.offsets[f + 1]! - lo;
    const c = cuts.cuts.subarray(lo, lo + nc);
    const missingBin = cuts.numBins[f]!;
    const base = f * n;
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      let b: number;
      if (v !== v) b = missingBin;
      else {
        let a = 0;
        let e = nc;
        while (a < e) {
          const mid = (a + e) >>> 1;
          if (c[mid]! <= v) a = mid + 1;
          else e = mid;
        }
        b = a;
      }
      colBins[base + i] = b;
      rowBins[i * d + f] = b;
    }
  }
  return { rows: n, cols: d, colBins, rowBins };
}
