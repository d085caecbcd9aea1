import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from '../data/matrix.js';
import { binColumn, transposeBins } from './kernels.js';

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
