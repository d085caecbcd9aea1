import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import type { DenseMatrix } from '../data/matrix.js';
import { reusedKernelArena, type WasmKernels } from '../wasm/kernels.js';

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

/** Which kernels run k-means' Lloyd passes and seeding: 'wasm' (default, falling back to 'js' where the
 * runtime lacks WebAssembly SIMD) or 'js' (the reference). Same model bit for bit either way. */
export interface KMeansOptions {
  kernels?: 'wasm' | 'js';
}

/**
 * K-means with SageMaker's hyperparameter names: `k` (required), `init_method` ('kmeans++' default:
 * greedy k-means++, which draws 2 + ⌊ln k⌋ candidates per centre and keeps the one that lowers the
 * potential most, as scikit-learn; or 'random'), `epochs` (maximum passes, default 300), `tolerance` (stop
 * when centroids move less than this fraction of the data variance, default 1e-4), `mini_batch_size` with
 * `algorithm` 'minibatch' (Sculley's per-centre learning rates) or 'lloyd' (default: exact Lloyd
 * iterations, with Hamerly's bounds skipping the rows whose centre cannot change), `seed`.
 *
 * @example
 * const km = trainKMeans(x, { k: '8' });
 * km.predict(x); // cluster index per row
 */
export function trainKMeans(
  x: DenseMatrix,
  hyperparameters: Readonly<Record<string, HyperValue>>,
  options: KMeansOptions = {},
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
  // Row-major float32 (the input's precision; all arithmetic is float64), in the kernels' memory.
  const w = kmWorkspace(n, d, k, options.kernels !== 'js');
  rowMajorF32(x, w.X);
  const X = w.X;
  // Tolerance is relative to the mean feature variance, as in scikit-learn (from the contiguous columns).
  let varSum = 0;
  let big = 0;
  for (let j = 0; j < d; j++) {
    const c = x.column(j);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      s += v;
      big = Math.max(big, Math.abs(v));
    }
    const m = s / n;
    for (let i = 0; i < n; i++) s2 += (c[i]! - m) ** 2;
    varSum += s2 / n;
  }
  const shiftTol = tol * (varSum / d);
  // Float32 distances only where no square can overflow.
  if (!(big < 1e15)) {
    w.f32 = false;
    w.eps = 0;
    w.eta = 0;
  }
  if (init === 'random') w.C.set(randomInit(X, n, d, k, rng));
  else greedyPlusPlus(w, rng);
  const C = w.C;
  let it = 0;
  if (algorithm === 'lloyd') it = hamerly(w, epochs, shiftTol);
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
  const model = new KMeansModel(k, d, Float64Array.from(C));
  centres32(w);
  model.info = { inertia: w.ops.assign(w), iterations: it };
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

/**
 * Greedy k-means++ (Arthur & Vassilvitskii; the variant scikit-learn runs): the first centre is a uniform
 * row; each next one is the best of 2 + ⌊ln k⌋ rows drawn with probability proportional to their squared
 * distance to the nearest centre so far, "best" being the candidate that leaves the smallest total.
 */
function greedyPlusPlus(w: KmWork, rng: Random): void {
  const { X, C, n, d, k, dist, trial, tsum, cum } = w;
  const trials = kmTrials(k);
  dist.fill(Number.POSITIVE_INFINITY);
  const setCand = (q: number, row: number) => {
    for (let j = 0; j < d; j++) w.cand[q * d + j] = X[row * d + j]!;
    for (let j = 0; j < d; j++) w.cand32[q * d + j] = X[row * d + j]!;
  };
  const first = rng.int(n);
  setCand(0, first);
  for (let j = 0; j < d; j++) C[j] = X[first * d + j]!;
  w.ops.nearest(w, 1);
  dist.set(trial.subarray(0, n));
  let pot = tsum[0]!;
  const picks = new Int32Array(trials);
  for (let c = 1; c < k; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      s += dist[i]!;
      cum[i] = s;
    }
    for (let t = 0; t < trials; t++) {
      // The first row whose running total reaches u (clipped to the last row, as scikit-learn).
      const u = rng.next() * pot;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cum[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      picks[t] = lo;
      setCand(t, lo);
    }
    // All candidates in one pass over the rows; the first with the smallest total wins.
    w.ops.nearest(w, trials);
    let best = 0;
    for (let t = 1; t < trials; t++) if (tsum[t]! < tsum[best]!) best = t;
    for (let j = 0; j < d; j++) C[c * d + j] = X[picks[best]! * d + j]!;
    dist.set(trial.subarray(best * n, (best + 1) * n));
    pot = tsum[best]!;
  }
}

/** Candidates per centre in greedy k-means++ (scikit-learn's 2 + ⌊ln k⌋). */
function kmTrials(k: number): number {
  return 2 + Math.floor(Math.log(k));
}

/** Row-major float32 copy into `out`; rejects missing or infinite values, which k-means cannot place. */
function rowMajorF32(
  x: DenseMatrix,
  out: Float32Array<ArrayBufferLike> = new Float32Array(x.rows * x.cols),
): Float32Array<ArrayBufferLike> {
  const n = x.rows;
  const d = x.cols;
  const data = x.data;
  // Row by row, reading the d columns at the same offset (d sequential streams) and writing in order; any
  // non-finite value makes v - v NaN, so one test per block finds it.
  for (let i0 = 0; i0 < n; i0 += 1024) {
    const i1 = Math.min(n, i0 + 1024);
    let bad = 0;
    for (let i = i0; i < i1; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) {
        const v = data[j * n + i]!;
        bad += v - v;
        out[o + j] = v;
      }
    }
    if (bad !== 0 || Number.isNaN(bad))
      for (let i = i0; i < i1; i++)
        for (let j = 0; j < d; j++) {
          const v = data[j * n + i]!;
          if (!Number.isFinite(v))
            throw new MlInputError('x', `row ${i}, column ${j} is ${v}; this algorithm needs finite values`);
        }
  }
  return out;
}

/** The arrays k-means' kernels work on (in WebAssembly memory when `ops` is the WebAssembly kernels). */
export interface KmWork {
  n: number;
  d: number;
  k: number;
  /** Rows, n × d float32 row-major. */
  X: Float32Array<ArrayBufferLike>;
  /** Centres, k × d; their float32 copy and each copy's distance from its centre (rounded up). */
  C: Float64Array<ArrayBufferLike>;
  C32: Float32Array<ArrayBufferLike>;
  delta: Float64Array<ArrayBufferLike>;
  labels: Int32Array<ArrayBufferLike>;
  /** Per row: bound on the distance to its centre / to every other centre (Hamerly). */
  upper: Float64Array<ArrayBufferLike>;
  lower: Float64Array<ArrayBufferLike>;
  /** Per centre: how far it moved in the last update; half the distance to the nearest other centre. */
  move: Float64Array<ArrayBufferLike>;
  half: Float64Array<ArrayBufferLike>;
  sums: Float64Array<ArrayBufferLike>;
  counts: Float64Array<ArrayBufferLike>;
  /** Scratch for the WebAssembly pass (two doubles). */
  dd: Float64Array<ArrayBufferLike>;
  /**
   * Seeding: squared distance to the nearest centre; per candidate q, the same with the candidate added
   * (trial[q n + i]) and its sum (tsum[q]).
   */
  dist: Float64Array<ArrayBufferLike>;
  /** Seeding: running totals of `dist` (the draw's search array). */
  cum: Float64Array<ArrayBufferLike>;
  trial: Float64Array<ArrayBufferLike>;
  tsum: Float64Array<ArrayBufferLike>;
  /** Seeding: the candidate centres (t × d) and their float32 copy. */
  cand: Float64Array<ArrayBufferLike>;
  cand32: Float32Array<ArrayBufferLike>;
  /**
   * Rank distances in float32 (kmDist32; set when every |value| < 1e15, so no square overflows) with
   * relative error at most `eps` and absolute `eta` on the squared distance; else float64 (kmDist, 0, 0).
   */
  f32: boolean;
  eps: number;
  eta: number;
  ops: KmKernels;
}

/** The k-means kernels (WebAssembly or the JS reference; the same bits). */
export interface KmKernels {
  /** One Lloyd pass with Hamerly's bounds; returns how many rows changed centre. */
  pass(w: KmWork, m1: number, m2: number, am: number, init: boolean): number;
  /** Labels every row with its nearest centre; returns the inertia (float64 distances). */
  assign(w: KmWork): number;
  /** For the first t candidates q: trial[q n + i] = min(dist[i], squared distance to candidate q), tsum[q] = Σ. */
  nearest(w: KmWork, t: number): void;
}

/**
 * Allocates the workspace, in WebAssembly memory with the WebAssembly kernels when `wasm` and available (the
 * thread's reused kernel memory: valid until the next call).
 */
export function kmWorkspace(n: number, d: number, k: number, wasm: boolean): KmWork {
  const t = kmTrials(k);
  const ka = wasm
    ? reusedKernelArena(
        4 * n * d + 4 * n + 8 * ((4 + t) * n + 2 * k * d + 5 * k + t + t * d) + 4 * (k * d + t * d),
        19,
      )
    : null;
  const f64 = (len: number) => (ka ? ka.arena.f64(len) : new Float64Array(len));
  const f32 = (len: number) => (ka ? ka.arena.f32(len) : new Float32Array(len));
  return {
    n,
    d,
    k,
    X: f32(n * d),
    C: f64(k * d),
    C32: f32(k * d),
    delta: f64(k),
    labels: ka ? ka.arena.i32(n) : new Int32Array(n),
    upper: f64(n),
    lower: f64(n),
    move: f64(k),
    half: f64(k),
    sums: f64(k * d),
    counts: f64(k),
    dd: f64(k),
    dist: f64(n),
    cum: f64(n),
    trial: f64(t * n),
    tsum: f64(t),
    cand: f64(t * d),
    cand32: f32(t * d),
    f32: true,
    eps: (d + 20) * 2 ** -24,
    eta: (d + 16) * 2 ** -126,
    ops: ka ? wasmKmKernels(ka.kern) : JS_KM_KERNELS,
  };
}

/** Refreshes the float32 centres and their distance from the float64 ones (rounded up). */
function centres32(w: KmWork): void {
  const { C, C32, delta, d, k } = w;
  C32.set(C);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (C[c * d + j]! - C32[c * d + j]!) ** 2;
    delta[c] = w.f32 ? Math.sqrt(s) * (1 + 1e-9) : 0;
  }
}

function wasmKmKernels(kern: WasmKernels): KmKernels {
  return {
    pass: (w, m1, m2, am, init) =>
      kern.kmPass(
        w.X.byteOffset,
        w.n,
        w.d,
        w.C.byteOffset,
        w.C32.byteOffset,
        w.delta.byteOffset,
        w.k,
        w.labels.byteOffset,
        w.upper.byteOffset,
        w.lower.byteOffset,
        w.move.byteOffset,
        w.half.byteOffset,
        m1,
        m2,
        am,
        w.sums.byteOffset,
        w.counts.byteOffset,
        w.dd.byteOffset,
        w.f32 ? 1 : 0,
        w.eps,
        w.eta,
        init ? 1 : 0,
      ),
    assign: (w) =>
      kern.kmAssign(
        w.X.byteOffset,
        w.n,
        w.d,
        w.C.byteOffset,
        w.C32.byteOffset,
        w.k,
        w.labels.byteOffset,
        w.f32 ? 1 : 0,
      ),
    nearest: (w, t) =>
      kern.kmNearest(
        w.X.byteOffset,
        w.n,
        w.d,
        w.cand.byteOffset,
        w.cand32.byteOffset,
        t,
        w.f32 ? 1 : 0,
        w.dist.byteOffset,
        w.trial.byteOffset,
        w.tsum.byteOffset,
      ),
  };
}

/**
 * Squared distance from row `xo` of X to centre `co` of C: per-lane sums over features j ≡ 0..3 (mod 4),
 * combined as (s0 + s1) + (s2 + s3), then the tail in order: the WebAssembly kmDist's order, so both give
 * the same bits.
 */
function kmDist(X: ArrayLike<number>, xo: number, C: ArrayLike<number>, co: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const t0 = X[xo + j]! - C[co + j]!;
    const t1 = X[xo + j + 1]! - C[co + j + 1]!;
    const t2 = X[xo + j + 2]! - C[co + j + 2]!;
    const t3 = X[xo + j + 3]! - C[co + j + 3]!;
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  let s = s0 + s1 + (s2 + s3);
  for (; j < d; j++) {
    const t = X[xo + j]! - C[co + j]!;
    s += t * t;
  }
  return s;
}

const fr = Math.fround;

/**
 * The same in float32 against float32 centres, every operation rounded to float32 (the WebAssembly
 * kmDist32's f32x4 lanes: a float64 operation on float32 values rounded once to float32 equals the float32
 * operation).
 */
function kmDist32(X: ArrayLike<number>, xo: number, C: ArrayLike<number>, co: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const t0 = fr(X[xo + j]! - C[co + j]!);
    const t1 = fr(X[xo + j + 1]! - C[co + j + 1]!);
    const t2 = fr(X[xo + j + 2]! - C[co + j + 2]!);
    const t3 = fr(X[xo + j + 3]! - C[co + j + 3]!);
    s0 = fr(s0 + fr(t0 * t0));
    s1 = fr(s1 + fr(t1 * t1));
    s2 = fr(s2 + fr(t2 * t2));
    s3 = fr(s3 + fr(t3 * t3));
  }
  let s = fr(fr(s0 + s1) + fr(s2 + s3));
  for (; j < d; j++) {
    const t = fr(X[xo + j]! - C[co + j]!);
    s = fr(s + fr(t * t));
  }
  return s;
}

/** The JS reference kernels (assembly/kernels.ts kmPass, kmAssign, kmNearest do the same arithmetic). */
export const JS_KM_KERNELS: KmKernels = {
  pass(w, m1, m2, am, init) {
    const { X, C, C32, delta, n, d, k, labels, upper, lower, move, half, sums, counts, f32, eps, eta } = w;
    const dist = f32 ? kmDist32 : kmDist;
    const Cr = f32 ? C32 : C;
    const lo = 1 / (1 + eps);
    const hi = 1 / (1 - eps);
    let dmax = 0;
    for (let c = 0; c < k; c++) dmax = Math.max(dmax, delta[c]!);
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xo = i * d;
      const a = labels[i]!;
      if (!init) {
        let u = upper[i]! + move[a]!;
        const l = lower[i]! - (a === am ? m2 : m1);
        const m = Math.max(half[a]!, l);
        if (u <= m) {
          upper[i] = u;
          lower[i] = l;
          continue;
        }
        u = Math.sqrt((dist(X, xo, Cr, a * d, d) + eta) * hi) + delta[a]!;
        if (u <= m) {
          upper[i] = u;
          lower[i] = l;
          continue;
        }
      }
      let b1 = Number.POSITIVE_INFINITY;
      let b2 = Number.POSITIVE_INFINITY;
      let best = 0;
      for (let c = 0; c < k; c++) {
        const s = dist(X, xo, Cr, c * d, d);
        if (s < b1) {
          b2 = b1;
          b1 = s;
          best = c;
        } else if (s < b2) b2 = s;
      }
      upper[i] = Math.sqrt((b1 + eta) * hi) + delta[best]!;
      lower[i] = Math.sqrt(b2 * lo) - dmax;
      if (init || best !== a) {
        changed++;
        labels[i] = best;
        counts[best]!++;
        const bo = best * d;
        for (let j = 0; j < d; j++) sums[bo + j]! += X[xo + j]!;
        if (!init) {
          counts[a]!--;
          const ao = a * d;
          for (let j = 0; j < d; j++) sums[ao + j]! -= X[xo + j]!;
        }
      }
    }
    return changed;
  },
  assign(w) {
    const { X, C, C32, n, d, k, labels, f32 } = w;
    const dist = f32 ? kmDist32 : kmDist;
    const Cr = f32 ? C32 : C;
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      let b1 = Number.POSITIVE_INFINITY;
      let best = 0;
      for (let c = 0; c < k; c++) {
        const s = dist(X, i * d, Cr, c * d, d);
        if (s < b1) {
          b1 = s;
          best = c;
        }
      }
      labels[i] = best;
      inertia += f32 ? kmDist(X, i * d, C, best * d, d) : b1;
    }
    return inertia;
  },
  nearest(w, t) {
    const { X, n, d, cand, cand32, f32, dist, trial, tsum } = w;
    tsum.fill(0, 0, t);
    for (let i = 0; i < n; i++) {
      const p = dist[i]!;
      for (let q = 0; q < t; q++) {
        const s = f32 ? kmDist32(X, i * d, cand32, q * d, d) : kmDist(X, i * d, cand, q * d, d);
        const v = Math.min(s, p);
        trial[q * n + i] = v;
        tsum[q]! += v;
      }
    }
  },
};

/**
 * Lloyd's iterations with Hamerly's bounds (2010): per row an upper bound on the distance to its centre and
 * one lower bound on the distance to every other centre, moved each pass by how far the centres moved; a
 * row whose upper bound stays below max(lower bound, half the distance from its centre to the nearest other
 * centre) keeps its centre without a distance, one whose exact distance still passes that test costs one
 * distance, the rest take all k. Per-centre sums change only for rows that change centre. Same assignments
 * as plain Lloyd up to exact ties (distances from differences, not ||x||² − 2x·c, so cancellation cannot
 * loosen the bounds). Updates `w.C`; returns the number of passes (centre updates).
 */
function hamerly(w: KmWork, epochs: number, shiftTol: number): number {
  const { X, C, n, d, k, labels, move, half, sums, counts } = w;
  const prev = new Float64Array(k * d);
  labels.fill(0);
  sums.fill(0);
  counts.fill(0);
  centres32(w);
  w.ops.pass(w, 0, 0, -1, true);
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
          const dist = kmDist(X, i * d, prev, labels[i]! * d, d);
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
    let m1 = 0;
    let m2 = 0;
    let am = -1;
    for (let c = 0; c < k; c++) {
      const v = Math.sqrt(sqDist64(C, c * d, prev, c * d, d));
      move[c] = v;
      if (v > m1) {
        m2 = m1;
        m1 = v;
        am = c;
      } else if (v > m2) m2 = v;
    }
    for (let c = 0; c < k; c++) {
      let m = Number.POSITIVE_INFINITY;
      for (let o = 0; o < k; o++) {
        if (o === c) continue;
        const v = 0.5 * Math.sqrt(sqDist64(C, c * d, C, o * d, d));
        if (v < m) m = v;
      }
      half[c] = m;
    }
    centres32(w);
    w.ops.pass(w, m1, m2, am, false);
  }
  return it;
}

/** Squared distance between two float64 points (centres). */
function sqDist64(A: Float64Array, ao: number, B: Float64Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (A[ao + j]! - B[bo + j]!) ** 2;
  return s;
}
