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
  const X = denseRows(x);
  const mean = new Float64Array(d);
  if (subtractMean) {
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += X[i * d + j]!;
    for (let j = 0; j < d; j++) mean[j]! /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j]! -= mean[j]!;
  }
  let totalVar = 0;
  for (let q = 0; q < X.length; q++) totalVar += X[q]! * X[q]!;
  totalVar /= n - 1;
  let components: Float64Array;
  let variance: Float64Array;
  if (mode === 'regular') {
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let a = 0; a < d; a++) {
        const xa = X[o + a]!;
        if (xa === 0) continue;
        for (let b = a; b < d; b++) cov[a * d + b]! += xa * X[o + b]!;
      }
    }
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = cov[a * d + b]! / (n - 1);
        cov[a * d + b] = v;
        cov[b * d + a] = v;
      }
    }
    const e = symmetricEigen(cov, d);
    components = e.vectors.slice(0, k * d);
    variance = e.values.slice(0, k);
  } else {
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
