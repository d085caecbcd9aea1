import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import { denseRows } from '../data/dense-rows.js';
import type { DenseMatrix } from '../data/matrix.js';
import { symmetricEigen } from './eigen.js';

const FORMAT_VERSION = 1;

/** Principal axes (unit rows, largest-magnitude loading positive) with their explained variance. */
export class PcaModel {
  readonly numFeatures: number;
  readonly numComponents: number;
  readonly mean: Float64Array;
  /** Row-major `numComponents × numFeatures`. */
  readonly components: Float64Array;
  /** Variance along each component (n − 1 denominator, as scikit-learn). */
  readonly explainedVariance: Float64Array;
  readonly explainedVarianceRatio: Float64Array;

  constructor(a: {
    mean: Float64Array;
    components: Float64Array;
    explainedVariance: Float64Array;
    explainedVarianceRatio: Float64Array;
  }) {
    this.mean = a.mean;
    this.numFeatures = a.mean.length;
    this.components = a.components;
    this.numComponents = a.explainedVariance.length;
    this.explainedVariance = a.explainedVariance;
    this.explainedVarianceRatio = a.explainedVarianceRatio;
  }

  /** Projects rows onto the components: row-major `n × numComponents`. */
  transform(x: DenseMatrix): Float64Array {
    if (x.cols !== this.numFeatures)
      throw new MlInputError('x', `has ${x.cols} columns, expected ${this.numFeatures}`);
    const n = x.rows;
    const d = this.numFeatures;
    const k = this.numComponents;
    const out = new Float64Array(n * k);
    for (let j = 0; j < d; j++) {
      const c = x.column(j);
      const m = this.mean[j]!;
      for (let q = 0; q < k; q++) {
        const w = this.components[q * d + j]!;
        for (let i = 0; i < n; i++) out[i * k + q]! += (c[i]! - m) * w;
      }
    }
    return out;
  }

  toJSON() {
    return {
      format: 'trainyard-ml' as const,
      kind: 'pca' as const,
      version: FORMAT_VERSION,
      mean: Array.from(this.mean),
      components: Array.from(this.components),
      explainedVariance: Array.from(this.explainedVariance),
      explainedVarianceRatio: Array.from(this.explainedVarianceRatio),
    };
  }

  static fromJSON(j: ReturnType<PcaModel['toJSON']>): PcaModel {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'pca')
      throw new MlInputError('model', 'is not a Trainyard PCA model');
    return new PcaModel({
      mean: Float64Array.from(j.mean),
      components: Float64Array.from(j.components),
      explainedVariance: Float64Array.from(j.explainedVariance),
      explainedVarianceRatio: Float64Array.from(j.explainedVarianceRatio),
    });
  }
}

/**
 * PCA with SageMaker's hyperparameters: `num_components` (required), `algorithm_mode` 'regular' (exact,
 * eigen-decomposition of the d × d covariance; best for moderate d) or 'randomized' (Halko et al. range
 * finder with `extra_components` oversampling, default 10, and 2 power iterations), `subtract_mean`
 * (default true), `seed`.
 *
 * @example
 * const pca = trainPca(x, { num_components: 3 });
 * const z = pca.transform(x); // n × 3
 */
export function trainPca(x: DenseMatrix, hyperparameters: Readonly<Record<string, HyperValue>>): PcaModel {
  const r = new ParamReader(hyperparameters);
  if (hyperparameters.num_components === undefined) throw new MlInputError('num_components', 'is required');
  const n = x.rows;
  const d = x.cols;
  const k = r.int('num_components', 1, { min: 1 });
  if (k > d) throw new MlInputError('num_components', `is ${k} but the data has ${d} features`);
  const mode = r.choice('algorithm_mode', 'regular', ['regular', 'randomized'] as const);
  const subtractMean = r.bool('subtract_mean', true);
  const extra = r.int('extra_components', 10, { min: 0 });
  const rng = new Random(r.int('seed', 0));
  if (n < 2) throw new MlInputError('x', `needs at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  if (subtractMean) {
    for (let j = 0; j < d; j++) {
      const c = x.column(j);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += c[i]!;
      mean[j] = sum / n;
    }
  }
  let components: Float64Array;
  let variance: Float64Array;
  let totalVar = 0;
  if (mode === 'regular') {
    const cov = covariance(x, mean);
    for (let a = 0; a < d; a++) totalVar += cov[a * d + a]!;
    const e = symmetricEigen(cov, d);
    components = e.vectors.slice(0, k * d);
    variance = e.values.slice(0, k);
  } else {
    const X = denseRows(x);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j]! -= mean[j]!;
    for (let q = 0; q < X.length; q++) totalVar += X[q]! * X[q]!;
    totalVar /= n - 1;
    ({ components, variance } = randomized(X, n, d, k, Math.min(d, k + extra), rng));
  }
  for (let q = 0; q < k; q++) {
    let big = 0;
    for (let j = 0; j < d; j++)
      if (Math.abs(components[q * d + j]!) > Math.abs(components[q * d + big]!)) big = j;
    if (components[q * d + big]! < 0)
      for (let j = 0; j < d; j++) components[q * d + j] = -components[q * d + j]!;
  }
  const ratio = Float64Array.from(variance, (v) => (totalVar > 0 ? v / totalVar : 0));
  return new PcaModel({ mean, components, explainedVariance: variance, explainedVarianceRatio: ratio });
}

const COV_BLOCK = 512;

/**
 * Covariance (n − 1 denominator) of the columns of `x` about `mean`: rows in blocks of COV_BLOCK centred
 * into a column-major float64 buffer (padded to a multiple of 4 columns), then each block's products in
 * 2 × 4 tiles of column pairs with eight running sums in registers (six loads feed eight products, where
 * the row-by-row update reads and writes the d × d sums for every product).
 */
function covariance(x: DenseMatrix, mean: Float64Array): Float64Array {
  const n = x.rows;
  const d = x.cols;
  const dp = (d + 3) & ~3;
  const B = COV_BLOCK;
  const buf = new Float64Array(dp * B);
  const acc = new Float64Array(dp * dp);
  const cols = Array.from({ length: d }, (_, j) => x.column(j));
  for (let i0 = 0; i0 < n; i0 += B) {
    const m = Math.min(B, n - i0);
    for (let j = 0; j < d; j++) {
      const c = cols[j]!;
      const mu = mean[j]!;
      const o = j * B;
      for (let i = 0; i < m; i++) buf[o + i] = c[i0 + i]! - mu;
    }
    for (let a = 0; a < d; a += 2) {
      const a0 = a * B;
      // With d odd the second row of the last tile is a zero padding column.
      const a1 = a0 + B;
      for (let b = a & ~3; b < dp; b += 4) {
        const b0 = b * B;
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        for (let i = 0; i < m; i++) {
          const u = buf[a0 + i]!;
          const v = buf[a1 + i]!;
          const w0 = buf[b0 + i]!;
          const w1 = buf[b0 + B + i]!;
          const w2 = buf[b0 + 2 * B + i]!;
          const w3 = buf[b0 + 3 * B + i]!;
          s00 += u * w0;
          s01 += u * w1;
          s02 += u * w2;
          s03 += u * w3;
          s10 += v * w0;
          s11 += v * w1;
          s12 += v * w2;
          s13 += v * w3;
        }
        const r0 = a * dp + b;
        const r1 = r0 + dp;
        acc[r0]! += s00;
        acc[r0 + 1]! += s01;
        acc[r0 + 2]! += s02;
        acc[r0 + 3]! += s03;
        acc[r1]! += s10;
        acc[r1 + 1]! += s11;
        acc[r1 + 2]! += s12;
        acc[r1 + 3]! += s13;
      }
    }
  }
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++)
    for (let b = a; b < d; b++) {
      // Tiles cover b >= a rounded down to a multiple of 4, so acc[a][b] holds every (a, b) with b >= a.
      const v = acc[a * dp + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  return cov;
}

/** Randomized range finder: Q spans X·Ω (with power iterations); the top eigenpairs of (QᵀX)ᵀ(QᵀX) are the answer. */
function randomized(X: Float64Array, n: number, d: number, k: number, l: number, rng: Random) {
  let Q = new Float64Array(n * l);
  const omega = new Float64Array(d * l);
  for (let q = 0; q < omega.length; q++) omega[q] = rng.normal();
  mul(X, n, d, omega, l, Q);
  orthonormalize(Q, n, l);
  const Z = new Float64Array(d * l);
  for (let p = 0; p < 2; p++) {
    // Z = Xᵀ Q, Q = orth(X Z)
    Z.fill(0);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) for (let c = 0; c < l; c++) Z[j * l + c]! += X[i * d + j]! * Q[i * l + c]!;
    orthonormalize(Z, d, l);
    Q = new Float64Array(n * l);
    mul(X, n, d, Z, l, Q);
    orthonormalize(Q, n, l);
  }
  // B = Qᵀ X (l × d); eigen of B Bᵀ (l × l) gives the right singular vectors via Bᵀ u / σ.
  const B = new Float64Array(l * d);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) B[c * d + j]! += Q[i * l + c]! * X[i * d + j]!;
  const BBt = new Float64Array(l * l);
  for (let a = 0; a < l; a++)
    for (let b = 0; b < l; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += B[a * d + j]! * B[b * d + j]!;
      BBt[a * l + b] = s;
    }
  const e = symmetricEigen(BBt, l);
  const components = new Float64Array(k * d);
  const variance = new Float64Array(k);
  for (let q = 0; q < k; q++) {
    const s2 = Math.max(e.values[q]!, 0);
    const sigma = Math.sqrt(s2);
    variance[q] = s2 / (n - 1);
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (let a = 0; a < l; a++) v += B[a * d + j]! * e.vectors[q * l + a]!;
      components[q * d + j] = sigma > 0 ? v / sigma : 0;
    }
  }
  return { components, variance };
}

function mul(X: Float64Array, n: number, d: number, M: Float64Array, l: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const x = X[i * d + j]!;
      if (x === 0) continue;
      for (let c = 0; c < l; c++) out[i * l + c]! += x * M[j * l + c]!;
    }
  }
}

/** Modified Gram-Schmidt on the columns of a row-major `rows × cols` matrix. */
function orthonormalize(A: Float64Array, rows: number, cols: number): void {
  for (let c = 0; c < cols; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < rows; i++) dot += A[i * cols + c]! * A[i * cols + p]!;
      for (let i = 0; i < rows; i++) A[i * cols + c]! -= dot * A[i * cols + p]!;
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) norm += A[i * cols + c]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < rows; i++) A[i * cols + c] = norm > 0 ? A[i * cols + c]! / norm : 0;
  }
}
