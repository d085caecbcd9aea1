import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import type { DenseMatrix } from '../data/matrix.js';

const FORMAT_VERSION = 1;

/** Cluster centres and how training went. */
export class KMeansModel {
  readonly k: number;
  readonly numFeatures: number;
  /** Row-major `k × numFeatures`. */
  readonly centroids: Float64Array;
  info: { inertia: number; iterations: number } | undefined;

  constructor(k: number, numFeatures: number, centroids: Float64Array) {
    this.k = k;
    this.numFeatures = numFeatures;
    this.centroids = centroids;
  }

  /** Index of the nearest centroid for each row. */
  predict(x: DenseMatrix): Int32Array {
    if (x.cols !== this.numFeatures)
      throw new MlInputError('x', `has ${x.cols} columns, expected ${this.numFeatures}`);
    const out = new Int32Array(x.rows);
    assign(rowMajorF32(x), x.rows, this.numFeatures, this.centroids, this.k, out);
    return out;
  }

  toJSON() {
    return {
      format: 'trainyard-ml' as const,
      kind: 'kmeans' as const,
      version: FORMAT_VERSION,
      k: this.k,
      numFeatures: this.numFeatures,
      centroids: Array.from(this.centroids),
    };
  }

  static fromJSON(j: ReturnType<KMeansModel['toJSON']>): KMeansModel {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'kmeans')
      throw new MlInputError('model', 'is not a Trainyard k-means model');
    return new KMeansModel(j.k, j.numFeatures, Float64Array.from(j.centroids));
  }
}

/**
 * Assigns rows to their nearest centroid; returns the inertia (sum of squared distances). The search
 * ranks centroids by ||c||² − 2 x·c (||x||² is the same for every centroid), two rows against four
 * centroids at a time over the transposed centroids (six loads feed eight products); the inertia is then
 * the exact squared distance to the chosen centre. Ties go to the lowest centroid index. With `sums` /
 * `counts`, each row is instead added to its centre's running sum while it is in cache (one pass over
 * the data per Lloyd iteration) and the returned inertia is 0.
 */
function assign(
  X: Float32Array,
  n: number,
  d: number,
  C: Float64Array,
  k: number,
  out: Int32Array,
  sums?: Float64Array,
  counts?: Float64Array,
): number {
  // Transposed and padded to a multiple of 4 centroids: CT[j * kp + c].
  const kp = (k + 3) & ~3;
  const csq = new Float64Array(kp).fill(Number.POSITIVE_INFINITY);
  const CT = new Float64Array(d * kp);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = C[c * d + j]!;
      s += v * v;
      CT[j * kp + c] = v;
    }
    csq[c] = s;
  }
  let inertia = 0;
  for (let i = 0; i < n; i += 2) {
    const two = i + 1 < n;
    const xa = i * d;
    // A lone last row is paired with itself.
    const xb = two ? xa + d : xa;
    let bestA = Number.POSITIVE_INFINITY;
    let bestB = Number.POSITIVE_INFINITY;
    let ca = 0;
    let cb = 0;
    for (let c = 0; c < kp; c += 4) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let j = 0; j < d; j++) {
        const u = X[xa + j]!;
        const v = X[xb + j]!;
        const t = j * kp + c;
        const c0 = CT[t]!;
        const c1 = CT[t + 1]!;
        const c2 = CT[t + 2]!;
        const c3 = CT[t + 3]!;
        a0 += u * c0;
        a1 += u * c1;
        a2 += u * c2;
        a3 += u * c3;
        b0 += v * c0;
        b1 += v * c1;
        b2 += v * c2;
        b3 += v * c3;
      }
      // Padding centroids have ||c||² = +Infinity and never win.
      const e0 = csq[c]!;
      const e1 = csq[c + 1]!;
      const e2 = csq[c + 2]!;
      const e3 = csq[c + 3]!;
      if (e0 - 2 * a0 < bestA) {
        bestA = e0 - 2 * a0;
        ca = c;
      }
      if (e1 - 2 * a1 < bestA) {
        bestA = e1 - 2 * a1;
        ca = c + 1;
      }
      if (e2 - 2 * a2 < bestA) {
        bestA = e2 - 2 * a2;
        ca = c + 2;
      }
      if (e3 - 2 * a3 < bestA) {
        bestA = e3 - 2 * a3;
        ca = c + 3;
      }
      if (e0 - 2 * b0 < bestB) {
        bestB = e0 - 2 * b0;
        cb = c;
      }
      if (e1 - 2 * b1 < bestB) {
        bestB = e1 - 2 * b1;
        cb = c + 1;
      }
      if (e2 - 2 * b2 < bestB) {
        bestB = e2 - 2 * b2;
        cb = c + 2;
      }
      if (e3 - 2 * b3 < bestB) {
        bestB = e3 - 2 * b3;
        cb = c + 3;
      }
    }
    inertia += settle(X, xa, d, C, ca, sums, counts);
    out[i] = ca;
    if (two) {
      inertia += settle(X, xb, d, C, cb, sums, counts);
      out[i + 1] = cb;
    }
  }
  return inertia;
}

/**
 * With `sums`: adds row `xo` to centre `c`'s sum and count (Lloyd passes need no inertia) and returns 0;
 * without: the exact squared distance of the row to the centre.
 */
function settle(
  X: Float32Array,
  xo: number,
  d: number,
  C: Float64Array,
  c: number,
  sums: Float64Array | undefined,
  counts: Float64Array | undefined,
): number {
  const co = c * d;
  if (sums) {
    counts![c]!++;
    for (let j = 0; j < d; j++) sums[co + j]! += X[xo + j]!;
    return 0;
  }
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = X[xo + j]! - C[co + j]!;
    s += t * t;
  }
  return s;
}

/**
 * K-means with SageMaker's hyperparameter names: `k` (required), `init_method` ('kmeans++' default, or
 * 'random'), `epochs` (maximum passes, default 300), `tolerance` (stop when centroids move less than this
 * fraction of the data variance, default 1e-4), `mini_batch_size` with `algorithm` 'minibatch'
 * (Sculley's per-centre learning rates) or 'lloyd' (default: exact Lloyd iterations, with Elkan's bounds
 * skipping the distances that cannot change a row's centre), `seed`.
 *
 * @example
 * const km = trainKMeans(x, { k: '8' });
 * km.predict(x); // cluster index per row
 */
export function trainKMeans(
  x: DenseMatrix,
  hyperparameters: Readonly<Record<string, HyperValue>>,
): KMeansModel {
  const r = new ParamReader(hyperparameters);
  if (hyperparameters.k === undefined) throw new MlInputError('k', 'is required');
  const k = r.int('k', 2, { min: 1 });
  const init = r.choice('init_method', 'kmeans++', ['kmeans++', 'random'] as const);
  const algorithm = r.choice('algorithm', 'lloyd', ['lloyd', 'minibatch'] as const);
  const epochs = r.int('epochs', 300, { min: 1 });
  const tol = r.number('tolerance', 1e-4, { min: 0 });
  const batch = r.int('mini_batch_size', 1024, { min: 1 });
  const rng = new Random(r.int('seed', 0));
  const n = x.rows;
  const d = x.cols;
  if (n === 0) throw new MlInputError('x', 'is empty (0 rows)');
  if (k > n) throw new MlInputError('k', `is ${k} but there are only ${n} rows`);
  // Row-major float32 copy (the input's precision): half the memory traffic of float64 per pass;
  // all arithmetic is float64.
  const X = rowMajorF32(x);
  // Tolerance is relative to the mean feature variance, as in scikit-learn (from the contiguous columns).
  let varSum = 0;
  for (let j = 0; j < d; j++) {
    const c = x.column(j);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) s += c[i]!;
    const m = s / n;
    for (let i = 0; i < n; i++) s2 += (c[i]! - m) ** 2;
    varSum += s2 / n;
  }
  const shiftTol = tol * (varSum / d);
  const C = init === 'random' ? randomInit(X, n, d, k, rng) : plusPlusInit(X, n, d, k, rng);
  const labels = new Int32Array(n);
  let it = 0;
  if (algorithm === 'lloyd') it = elkan(X, n, d, C, k, labels, epochs, shiftTol);
  else {
    const counts = new Float64Array(k);
    const bl = new Int32Array(Math.min(batch, n));
    const bx = new Float32Array(bl.length * d);
    const bsum = new Float64Array(k * d);
    const bcnt = new Float64Array(k);
    for (; it < epochs; it++) {
      const steps = Math.ceil(n / bl.length);
      let shift = 0;
      for (let s = 0; s < steps; s++) {
        for (let b = 0; b < bl.length; b++) {
          const i = rng.int(n);
          for (let j = 0; j < d; j++) bx[b * d + j] = X[i * d + j]!;
        }
        assign(bx, bl.length, d, C, k, bl);
        // Per-centre running mean over all batches so far (as scikit-learn's MiniBatchKMeans): the batch's
        // points move a centre by their share of everything it has absorbed.
        bsum.fill(0);
        bcnt.fill(0);
        for (let b = 0; b < bl.length; b++) {
          const c = bl[b]!;
          bcnt[c]!++;
          for (let j = 0; j < d; j++) bsum[c * d + j]! += bx[b * d + j]!;
        }
        for (let c = 0; c < k; c++) {
          if (bcnt[c] === 0) continue;
          const tot = counts[c]! + bcnt[c]!;
          for (let j = 0; j < d; j++) {
            const v = (C[c * d + j]! * counts[c]! + bsum[c * d + j]!) / tot;
            shift += (v - C[c * d + j]!) ** 2;
            C[c * d + j] = v;
          }
          counts[c] = tot;
        }
      }
      if (shift / steps <= shiftTol) {
        it++;
        break;
      }
    }
  }
  const model = new KMeansModel(k, d, C);
  model.info = { inertia: assign(X, n, d, C, k, labels), iterations: it };
  return model;
}

function randomInit(X: Float32Array, n: number, d: number, k: number, rng: Random): Float64Array {
  const C = new Float64Array(k * d);
  const chosen = new Set<number>();
  for (let c = 0; c < k; c++) {
    let i = rng.int(n);
    while (chosen.has(i)) i = rng.int(n);
    chosen.add(i);
    for (let j = 0; j < d; j++) C[c * d + j] = X[i * d + j]!;
  }
  return C;
}

/** k-means++: each next centre drawn with probability proportional to squared distance to the nearest one. */
function plusPlusInit(X: Float32Array, n: number, d: number, k: number, rng: Random): Float64Array {
  const C = new Float64Array(k * d);
  const dist = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  let pick = rng.int(n);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) C[c * d + j] = X[pick * d + j]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const s = sqDist(X, i * d, C, c * d, d);
      if (s < dist[i]!) dist[i] = s;
      total += dist[i]!;
    }
    if (c === k - 1) break;
    let u = rng.next() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      u -= dist[i]!;
      if (u <= 0) {
        pick = i;
        break;
      }
    }
  }
  return C;
}

/** Row-major float32 copy; rejects missing or infinite values, which k-means cannot place. */
function rowMajorF32(x: DenseMatrix): Float32Array {
  const n = x.rows;
  const d = x.cols;
  const out = new Float32Array(n * d);
  const cols = Array.from({ length: d }, (_, j) => x.column(j));
  // In row blocks, so the strided writes stay in cache.
  for (let i0 = 0; i0 < n; i0 += 1024) {
    const i1 = Math.min(n, i0 + 1024);
    for (let j = 0; j < d; j++) {
      const c = cols[j]!;
      for (let i = i0; i < i1; i++) out[i * d + j] = c[i]!;
    }
  }
  for (let j = 0; j < d; j++) {
    const c = cols[j]!;
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      if (!Number.isFinite(v))
        throw new MlInputError('x', `row ${i}, column ${j} is ${v}; this algorithm needs finite values`);
    }
  }
  return out;
}

/**
 * Lloyd's iterations with Elkan's bounds (2003): per row an upper bound on the distance to its centre and
 * a lower bound on the distance to each centre, moved by how far the centres moved. A distance is
 * computed only when the bounds (and half the distance between the two centres) cannot rule a centre out,
 * so after the first passes most rows cost a few comparisons; the per-centre sums are updated only for
 * rows that change centre. Same assignments as plain Lloyd up to exact ties (distances from differences,
 * not ||x||² − 2x·c, so cancellation cannot loosen the bounds). Updates `C` and `labels`; returns the
 * number of passes.
 */
function elkan(
  X: Float32Array,
  n: number,
  d: number,
  C: Float64Array,
  k: number,
  labels: Int32Array,
  epochs: number,
  shiftTol: number,
): number {
  const upper = new Float64Array(n);
  const lower = new Float64Array(n * k);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const total = new Float64Array(k);
  // Half the distance between each pair of centres, and to each centre's nearest other centre.
  const halfCC = new Float64Array(k * k);
  const half = new Float64Array(k);
  const prev = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const lo = i * k;
    let best = Number.POSITIVE_INFINITY;
    let a = 0;
    for (let c = 0; c < k; c++) {
      const v = Math.sqrt(sqDist(X, xo, C, c * d, d));
      lower[lo + c] = v;
      if (v < best) {
        best = v;
        a = c;
      }
    }
    upper[i] = best;
    labels[i] = a;
    counts[a]!++;
    const co = a * d;
    for (let j = 0; j < d; j++) sums[co + j]! += X[xo + j]!;
  }
  let it = 0;
  while (it < epochs) {
    it++;
    prev.set(C);
    let shift = 0;
    for (let c = 0; c < k; c++) {
      const co = c * d;
      if (counts[c] === 0) {
        // Empty cluster: move it to the row farthest from its centre (the bounds then account for the jump).
        let far = 0;
        let farDist = -1;
        for (let i = 0; i < n; i++) {
          const dist = sqDist(X, i * d, C, labels[i]! * d, d);
          if (dist > farDist) {
            farDist = dist;
            far = i;
          }
        }
        for (let j = 0; j < d; j++) C[co + j] = X[far * d + j]!;
        shift = Number.POSITIVE_INFINITY;
      } else {
        const cnt = counts[c]!;
        for (let j = 0; j < d; j++) {
          const v = sums[co + j]! / cnt;
          shift += (v - C[co + j]!) ** 2;
          C[co + j] = v;
        }
      }
    }
    if (shift <= shiftTol || it === epochs) break;
    // Bounds are stored against each centre's total movement so far (lower + total, upper − total of the
    // row's centre): moving every centre costs k additions instead of n × k bound updates.
    for (let c = 0; c < k; c++) total[c]! += Math.sqrt(sqDist64(C, c * d, prev, c * d, d));
    for (let c = 0; c < k; c++) {
      let m = Number.POSITIVE_INFINITY;
      for (let o = 0; o < k; o++) {
        if (o === c) continue;
        const v = 0.5 * Math.sqrt(sqDist64(C, c * d, C, o * d, d));
        halfCC[c * k + o] = v;
        if (v < m) m = v;
      }
      half[c] = m;
    }
    for (let i = 0; i < n; i++) {
      const a0 = labels[i]!;
      let a = a0;
      let u = upper[i]! + total[a]!;
      if (u <= half[a]!) continue;
      const lo = i * k;
      const xo = i * d;
      let stale = true;
      for (let c = 0; c < k; c++) {
        if (c === a) continue;
        const lc = lower[lo + c]! - total[c]!;
        if (u <= lc || u <= halfCC[a * k + c]!) continue;
        if (stale) {
          u = Math.sqrt(sqDist(X, xo, C, a * d, d));
          lower[lo + a] = u + total[a]!;
          stale = false;
          if (u <= lc || u <= halfCC[a * k + c]!) continue;
        }
        const v = Math.sqrt(sqDist(X, xo, C, c * d, d));
        lower[lo + c] = v + total[c]!;
        if (v < u) {
          u = v;
          a = c;
        }
      }
      upper[i] = u - total[a]!;
      if (a !== a0) {
        labels[i] = a;
        counts[a0]!--;
        counts[a]!++;
        const ao = a0 * d;
        const co = a * d;
        for (let j = 0; j < d; j++) {
          const v = X[xo + j]!;
          sums[ao + j]! -= v;
          sums[co + j]! += v;
        }
      }
    }
  }
  return it;
}

/** Squared distance from row `xo` of X to centre offset `co` (two add chains: neither waits for the other). */
function sqDist(X: Float32Array, xo: number, C: Float64Array, co: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let j = 0;
  for (; j + 1 < d; j += 2) {
    const t0 = X[xo + j]! - C[co + j]!;
    const t1 = X[xo + j + 1]! - C[co + j + 1]!;
    s0 += t0 * t0;
    s1 += t1 * t1;
  }
  if (j < d) {
    const t = X[xo + j]! - C[co + j]!;
    s0 += t * t;
  }
  return s0 + s1;
}

/** Squared distance between two float64 points (centres). */
function sqDist64(A: Float64Array, ao: number, B: Float64Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (A[ao + j]! - B[bo + j]!) ** 2;
  return s;
}
