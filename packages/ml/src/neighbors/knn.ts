import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import { type Dataset, validateDataset } from '../data/dataset.js';
import { denseRows } from '../data/dense-rows.js';
import type { DenseMatrix } from '../data/matrix.js';

const FORMAT_VERSION = 1;

/**
 * Brute-force k-nearest-neighbours (Euclidean) with SageMaker's names: `k`, `predictor_type`
 * 'classifier' (majority vote; ties go to the class whose neighbours are nearer in total) or 'regressor'
 * (mean), `sample_size` (rows kept from training, sampled without replacement; default all).
 * Top-k per query uses a bounded max-heap: O(n log k) per query, no sort of all distances.
 *
 * @example
 * const knn = KnnModel.fit({ x, y }, { k: 5, predictor_type: 'classifier' });
 * knn.predict(xTest);
 */
export class KnnModel {
  readonly k: number;
  readonly predictorType: 'classifier' | 'regressor';
  readonly numFeatures: number;
  /** Stored points, row-major. */
  readonly points: Float64Array;
  readonly labels: Float64Array;

  constructor(
    k: number,
    predictorType: 'classifier' | 'regressor',
    numFeatures: number,
    points: Float64Array,
    labels: Float64Array,
  ) {
    this.k = k;
    this.predictorType = predictorType;
    this.numFeatures = numFeatures;
    this.points = points;
    this.labels = labels;
  }

  static fit(train: Dataset, hyperparameters: Readonly<Record<string, HyperValue>>): KnnModel {
    const r = new ParamReader(hyperparameters);
    if (hyperparameters.k === undefined) throw new MlInputError('k', 'is required');
    if (hyperparameters.predictor_type === undefined) throw new MlInputError('predictor_type', 'is required');
    const type = r.choice('predictor_type', 'classifier', ['classifier', 'regressor'] as const);
    validateDataset(train, { field: 'train' });
    const n = train.x.rows;
    const d = train.x.cols;
    const k = r.int('k', 1, { min: 1 });
    const sample = r.int('sample_size', n, { min: 1 });
    if (k > Math.min(n, sample))
      throw new MlInputError('k', `is ${k} but only ${Math.min(n, sample)} points are stored`);
    const X = denseRows(train.x, 'train.x');
    let rows = Array.from({ length: n }, (_, i) => i);
    if (sample < n) {
      const rng = new Random(r.int('seed', 0));
      for (let i = 0; i < sample; i++) {
        const j = i + rng.int(n - i);
        [rows[i], rows[j]] = [rows[j]!, rows[i]!];
      }
      rows = rows.slice(0, sample).sort((a, b) => a - b);
    }
    const m = rows.length;
    const points = new Float64Array(m * d);
    const labels = new Float64Array(m);
    for (let q = 0; q < m; q++) {
      const i = rows[q]!;
      points.set(X.subarray(i * d, (i + 1) * d), q * d);
      labels[q] = train.y[i]!;
    }
    return new KnnModel(k, type, d, points, labels);
  }

  /**
   * Indices (into the stored points) and squared distances of each query's k nearest neighbours,
   * nearest first: row-major `n × k`.
   */
  kneighbors(x: DenseMatrix): { index: Int32Array; dist2: Float64Array } {
    if (x.cols !== this.numFeatures)
      throw new MlInputError('x', `has ${x.cols} columns, expected ${this.numFeatures}`);
    const Q = denseRows(x);
    const n = x.rows;
    const d = this.numFeatures;
    const k = this.k;
    const P = this.points;
    const m = this.labels.length;
    const index = new Int32Array(n * k);
    const dist2 = new Float64Array(n * k);
    const hd = new Float64Array(k);
    const hi = new Int32Array(k);
    for (let q = 0; q < n; q++) {
      let size = 0;
      const qo = q * d;
      for (let p = 0; p < m; p++) {
        const po = p * d;
        let s = 0;
        for (let j = 0; j < d; j++) {
          const t = Q[qo + j]! - P[po + j]!;
          s += t * t;
        }
        if (size < k) {
          // sift up
          let c = size++;
          while (c > 0) {
            const par = (c - 1) >> 1;
            if (hd[par]! >= s) break;
            hd[c] = hd[par]!;
            hi[c] = hi[par]!;
            c = par;
          }
          hd[c] = s;
          hi[c] = p;
        } else if (s < hd[0]!) {
          // replace the root (current k-th nearest) and sift down
          let c = 0;
          for (;;) {
            const a = 2 * c + 1;
            if (a >= k) break;
            const b = a + 1;
            const big = b < k && hd[b]! > hd[a]! ? b : a;
            if (hd[big]! <= s) break;
            hd[c] = hd[big]!;
            hi[c] = hi[big]!;
            c = big;
          }
          hd[c] = s;
          hi[c] = p;
        }
      }
      // Heap to ascending order (k is small).
      const order = Array.from({ length: k }, (_, t) => t).sort((a, b) => hd[a]! - hd[b]! || hi[a]! - hi[b]!);
      for (let t = 0; t < k; t++) {
        index[q * k + t] = hi[order[t]!]!;
        dist2[q * k + t] = hd[order[t]!]!;
      }
    }
    return { index, dist2 };
  }

  /** Majority class (classifier) or mean label of the k nearest stored points (regressor). */
  predict(x: DenseMatrix): Float64Array {
    const { index, dist2 } = this.kneighbors(x);
    const n = x.rows;
    const k = this.k;
    const out = new Float64Array(n);
    const votes = new Map<number, { c: number; d: number }>();
    for (let q = 0; q < n; q++) {
      if (this.predictorType === 'regressor') {
        let s = 0;
        for (let t = 0; t < k; t++) s += this.labels[index[q * k + t]!]!;
        out[q] = s / k;
        continue;
      }
      votes.clear();
      for (let t = 0; t < k; t++) {
        const l = this.labels[index[q * k + t]!]!;
        const v = votes.get(l) ?? { c: 0, d: 0 };
        v.c++;
        v.d += Math.sqrt(dist2[q * k + t]!);
        votes.set(l, v);
      }
      let best = Number.NaN;
      let bc = -1;
      let bd = 0;
      for (const [l, v] of votes) {
        if (v.c > bc || (v.c === bc && v.d < bd)) {
          best = l;
          bc = v.c;
          bd = v.d;
        }
      }
      out[q] = best;
    }
    return out;
  }

  toJSON() {
    return {
      format: 'trainyard-ml' as const,
      kind: 'knn' as const,
      version: FORMAT_VERSION,
      k: this.k,
      predictorType: this.predictorType,
      numFeatures: this.numFeatures,
      points: Array.from(this.points),
      labels: Array.from(this.labels),
    };
  }

  static fromJSON(j: ReturnType<KnnModel['toJSON']>): KnnModel {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'knn')
      throw new MlInputError('model', 'is not a Trainyard kNN model');
    return new KnnModel(
      j.k,
      j.predictorType,
      j.numFeatures,
      Float64Array.from(j.points),
      Float64Array.from(j.labels),
    );
  }
}
