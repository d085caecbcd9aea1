import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import { type Dataset, validateDataset } from '../data/dataset.js';
import { reusedKernelArena, type WasmKernels } from '../wasm/kernels.js';
import { lbfgs } from './lbfgs.js';
import { LinearModel, type PredictorType } from './model.js';

/** Resolved linear learner hyperparameters (SageMaker names; see `trainLinearLearner`). */
export interface LinearParams {
  predictorType: PredictorType;
  numClasses: number;
  epochs: number;
  miniBatchSize: number;
  learningRate: number;
  wd: number;
  l1: number;
  normalizeData: boolean;
  normalizeLabel: boolean;
  optimizer: 'adam' | 'sgd' | 'lbfgs';
  earlyStoppingPatience: number;
  earlyStoppingTolerance: number;
  seed: number;
}

export function resolveLinearParams(raw: Readonly<Record<string, HyperValue>> = {}): LinearParams {
  const r = new ParamReader(raw);
  if (raw.predictor_type === undefined) throw new MlInputError('predictor_type', 'is required');
  const predictorType = r.choice('predictor_type', 'regressor', [
    'binary_classifier',
    'multiclass_classifier',
    'regressor',
  ] as const);
  const multi = predictorType === 'multiclass_classifier';
  if (multi && raw.num_classes === undefined)
    throw new MlInputError('num_classes', 'is required for multiclass_classifier');
  const auto = (name: string, def: number) =>
    r.string(name) === 'auto' ? def : r.number(name, def, { min: 0 });
  const optRaw = r.string('optimizer');
  const optimizer =
    optRaw === 'auto' ? 'adam' : r.choice('optimizer', 'adam', ['adam', 'sgd', 'lbfgs'] as const);
  const p: LinearParams = {
    predictorType,
    numClasses: multi ? r.int('num_classes', 3, { min: 2 }) : predictorType === 'binary_classifier' ? 2 : 1,
    epochs: r.int('epochs', 15, { min: 1 }),
    miniBatchSize: r.int('mini_batch_size', 1000, { min: 1 }),
    learningRate: auto('learning_rate', optimizer === 'sgd' ? 0.1 : 0.01),
    wd: auto('wd', 0),
    l1: auto('l1', 0),
    normalizeData: r.string('normalize_data') === 'auto' ? true : r.bool('normalize_data', true),
    normalizeLabel:
      r.string('normalize_label') === 'auto'
        ? predictorType === 'regressor'
        : r.bool('normalize_label', predictorType === 'regressor'),
    optimizer,
    earlyStoppingPatience: r.int('early_stopping_patience', 3, { min: 1 }),
    earlyStoppingTolerance: r.number('early_stopping_tolerance', 0.001, { min: 0 }),
    seed: r.int('seed', 0),
  };
  if (p.learningRate <= 0) throw new MlInputError('learning_rate', 'must be > 0');
  if (p.optimizer === 'lbfgs' && p.l1 > 0)
    throw new MlInputError('l1', 'is not supported with optimizer lbfgs (use adam or sgd)');
  return p;
}

/**
 * Trains SageMaker's Linear Learner: logistic (binary_classifier), softmax (multiclass_classifier) or
 * least-squares (regressor) on mini-batches with Adam or SGD (`epochs` passes, `mini_batch_size` rows per
 * step), or full-batch L-BFGS (up to `epochs × 20` iterations). `wd` is the L2 penalty (wd/2·‖w‖²), `l1`
 * the L1 penalty (proximal step). With `normalize_data` (default true) features are standardised. Training
 * stops when the monitored loss (validation loss with a validation set, else training loss) has not
 * improved by `early_stopping_tolerance` (relative) for `early_stopping_patience` epochs, and the best
 * epoch's weights are kept; except L-BFGS without a validation set, which runs until its own convergence
 * test (largest gradient component < 1e-7 or relative loss change < 1e-7) or `epochs × 20` iterations.
 *
 * @example
 * const m = trainLinearLearner({ x, y }, { predictor_type: 'binary_classifier', optimizer: 'lbfgs', wd: '0.001' });
 * m.predict(xTest); // P(y = 1)
 */
export function trainLinearLearner(
  train: Dataset,
  hyperparameters: Readonly<Record<string, HyperValue>>,
  /**
   * `kernels`: 'wasm' (default where available) runs the full-batch L-BFGS sums in the WebAssembly SIMD
   * kernels, 'js' in the JS reference.
   */
  options: { validation?: Dataset; kernels?: 'wasm' | 'js' } = {},
): LinearModel {
  const p = resolveLinearParams(hyperparameters);
  const cls = p.predictorType !== 'regressor';
  validateDataset(train, { field: 'train', ...(cls ? { numClass: p.numClasses } : {}) });
  const val = options.validation;
  if (val) {
    validateDataset(val, { field: 'validation', ...(cls ? { numClass: p.numClasses } : {}) });
    if (val.x.cols !== train.x.cols)
      throw new MlInputError('validation.x', `has ${val.x.cols} columns, train has ${train.x.cols}`);
  }
  const d = train.x.cols;
  const K = p.predictorType === 'multiclass_classifier' ? p.numClasses : 1;
  const mean = new Float64Array(d);
  const std = new Float64Array(d).fill(1);
  if (p.normalizeData) {
    for (let j = 0; j < d; j++) {
      const c = train.x.column(j);
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < c.length; i++) s += c[i]!;
      const m = s / c.length;
      for (let i = 0; i < c.length; i++) s2 += (c[i]! - m) ** 2;
      mean[j] = m;
      const sd = Math.sqrt(s2 / c.length);
      std[j] = sd > 0 ? sd : 1;
    }
  }
  let yMean = 0;
  let yStd = 1;
  if (p.predictorType === 'regressor' && p.normalizeLabel) {
    const y = train.y;
    for (let i = 0; i < y.length; i++) yMean += y[i]!;
    yMean /= y.length;
    let s2 = 0;
    for (let i = 0; i < y.length; i++) s2 += (y[i]! - yMean) ** 2;
    yStd = Math.sqrt(s2 / y.length) || 1;
  }
  // The full-batch single-output case (L-BFGS) keeps its columns in the WebAssembly kernels' memory.
  const useWasm = options.kernels !== 'js' && p.optimizer === 'lbfgs' && K === 1 && !train.weight;
  const tr = prepare(train, mean, std, yMean, yStd, useWasm);
  const va = val ? prepare(val, mean, std, yMean, yStd) : undefined;
  const nTheta = d * K + K;
  const theta = new Float64Array(nTheta);
  const grad = new Float64Array(nTheta);
  const best = new Float64Array(nTheta);
  const trainLoss: number[] = [];
  const validationLoss: number[] = [];
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestEpoch = -1;
  let stale = 0;
  const scratch = new Float64Array(K);
  // Returns false when early stopping says stop.
  const endEpoch = (epoch: number, lossNow: number): boolean => {
    trainLoss.push(lossNow);
    const monitored = va ? lossAndGrad(p, va, theta, undefined, allRows(va), va.n, scratch, false) : lossNow;
    if (va) validationLoss.push(monitored);
    if (monitored < bestLoss * (1 - p.earlyStoppingTolerance) || bestEpoch < 0) {
      bestLoss = monitored;
      bestEpoch = epoch;
      best.set(theta);
      stale = 0;
    } else {
      if (monitored < bestLoss) {
        bestLoss = monitored;
        bestEpoch = epoch;
        best.set(theta);
      }
      stale++;
      if (stale >= p.earlyStoppingPatience) return false;
    }
    return true;
  };
  if (p.optimizer === 'lbfgs') {
    let epoch = 0;
    // Every row, in order: the row list is made only if the per-row path needs it.
    lbfgs(theta, (w, g) => lossAndGrad(p, tr, w, g, undefined, tr.n, scratch, true), {
      maxIter: p.epochs * 20,
      // Without a validation set the training loss is what L-BFGS minimises: stopping on a 0.1% relative
      // improvement would end it far from the optimum (on scikit-learn's diabetes it stopped after 8
      // iterations at test RMSE 56.83 where least squares gives 56.39). It runs to its own convergence test.
      onIter: (_it, loss) => {
        if (va) return endEpoch(epoch++, loss);
        trainLoss.push(loss);
        return true;
      },
    });
    if (bestEpoch < 0 || !va) best.set(theta);
  } else {
    const rng = new Random(p.seed);
    const order = Uint32Array.from(allRows(tr));
    const m1 = new Float64Array(nTheta);
    const m2 = new Float64Array(nTheta);
    let step = 0;
    const lr = p.learningRate;
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      for (let i = tr.n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      let lossSum = 0;
      for (let s = 0; s < tr.n; s += p.miniBatchSize) {
        const cnt = Math.min(p.miniBatchSize, tr.n - s);
        lossSum += lossAndGrad(p, tr, theta, grad, order.subarray(s, s + cnt), cnt, scratch, true) * cnt;
        step++;
        if (p.optimizer === 'adam') {
          const b1 = 0.9;
          const b2 = 0.999;
          const c1 = 1 - b1 ** step;
          const c2 = 1 - b2 ** step;
          for (let q = 0; q < nTheta; q++) {
            const g = grad[q]!;
            m1[q] = b1 * m1[q]! + (1 - b1) * g;
            m2[q] = b2 * m2[q]! + (1 - b2) * g * g;
            theta[q]! -= (lr * (m1[q]! / c1)) / (Math.sqrt(m2[q]! / c2) + 1e-8);
          }
        } else {
          for (let q = 0; q < nTheta; q++) theta[q]! -= lr * grad[q]!;
        }
        if (p.l1 > 0) {
          const t = lr * p.l1;
          for (let q = 0; q < d * K; q++) {
            const v = theta[q]!;
            theta[q] = v > t ? v - t : v < -t ? v + t : 0;
          }
        }
      }
      if (!Number.isFinite(lossSum)) {
        throw new MlInputError(
          'learning_rate',
          `training diverged (loss is ${lossSum}); lower learning_rate`,
        );
      }
      if (!endEpoch(epoch, lossSum / tr.n)) break;
    }
  }
  // Fold normalisation into raw-feature weights.
  const W = new Float64Array(d * K);
  const b = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let bias = best[d * K + k]!;
    for (let j = 0; j < d; j++) {
      const w = best[j * K + k]! / std[j]!;
      W[j * K + k] = w * yStd;
      bias -= w * mean[j]!;
    }
    b[k] = bias * yStd + yMean;
  }
  const model = new LinearModel(p.predictorType, d, W, b);
  model.info = { epochs: trainLoss.length, trainLoss, validationLoss, bestEpoch };
  return model;
}

interface Prepared {
  n: number;
  d: number;
  /** Standardised columns, float32 (the input's precision; half the memory traffic of float64). */
  cols: Float32Array[];
  /** The same values row-major, made on first use by the per-row (mini-batch, multiclass, weighted) path. */
  x: Float32Array | undefined;
  /** Whether every row weight is 1. */
  unweighted: boolean;
  /**
   * The columns back to back in the WebAssembly kernels' memory, with their scratch arrays (`y` is the same
   * array as the outer `y`, `acc` the loss and bias-gradient sums).
   */
  wasm?: {
    kern: WasmKernels;
    cols: Float32Array;
    z: Float64Array;
    theta: Float64Array;
    grad: Float64Array;
    y: Float64Array;
    acc: Float64Array;
  };
  y: Float64Array;
  /** Row weights; undefined when every weight is 1. */
  w: Float64Array | undefined;
  /** 0..n-1, made on first use (`allRows`): fresh memory costs page faults the full-batch path never needs. */
  all: Uint32Array | undefined;
}

/** The row list 0..n-1 of `data`. */
function allRows(data: Prepared): Uint32Array {
  if (!data.all) {
    const all = new Uint32Array(data.n);
    for (let i = 0; i < data.n; i++) all[i] = i;
    data.all = all;
  }
  return data.all;
}

function prepare(
  ds: Dataset,
  mean: Float64Array,
  std: Float64Array,
  yMean: number,
  yStd: number,
  useWasm = false,
): Prepared {
  const { x } = ds;
  const n = x.rows;
  const d = x.cols;
  const cols: Float32Array[] = [];
  // The thread's reused kernel memory: nothing of it outlives this fit.
  const ka = useWasm ? reusedKernelArena(4 * n * d + 8 * (2 * LIN_BLOCK + 2 * d + 2 + n + 2), 6) : null;
  const block = ka ? ka.arena.f32(n * d) : undefined;
  for (let j = 0; j < d; j++) {
    const c = x.column(j);
    const m = mean[j]!;
    const inv = 1 / std[j]!;
    const out = block ? block.subarray(j * n, (j + 1) * n) : new Float32Array(n);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      bad += v - v;
      out[i] = (v - m) * inv;
    }
    // v - v is NaN exactly for NaN and ±Infinity: one check per column instead of one per value.
    if (bad !== 0 || Number.isNaN(bad))
      for (let i = 0; i < n; i++)
        if (!Number.isFinite(c[i]!))
          throw new MlInputError(
            'x',
            `linear learner needs finite features; row ${i}, column ${j} is ${c[i]}`,
          );
    cols.push(out);
  }
  // A plain loop (Float64Array.from with a map function is slow), into the kernels' memory when there.
  const y = ka ? ka.arena.f64(n) : new Float64Array(n);
  const yIn = ds.y;
  for (let i = 0; i < n; i++) y[i] = (yIn[i]! - yMean) / yStd;
  const w = ds.weight ? Float64Array.from(ds.weight) : undefined;
  const wasm = ka
    ? {
        kern: ka.kern,
        cols: block!,
        z: ka.arena.f64(LIN_BLOCK),
        theta: ka.arena.f64(d + 1),
        grad: ka.arena.f64(d + 1),
        y,
        acc: ka.arena.f64(2),
      }
    : undefined;
  return { n, d, cols, x: undefined, unweighted: !ds.weight, y, w, all: undefined, wasm };
}

/** Row-major copy of the standardised columns, in row blocks so reads and writes both stay in cache. */
function rowMajor(data: Prepared): Float32Array {
  if (!data.x) {
    const { n, d, cols } = data;
    const x = new Float32Array(n * d);
    for (let i0 = 0; i0 < n; i0 += 1024) {
      const i1 = Math.min(n, i0 + 1024);
      for (let j = 0; j < d; j++) {
        const c = cols[j]!;
        for (let i = i0; i < i1; i++) x[i * d + j] = c[i]!;
      }
    }
    data.x = x;
  }
  return data.x;
}

/** Mean weighted loss over `rows` plus penalties; writes the gradient when `grad` is given. */
function lossAndGrad(
  p: LinearParams,
  data: Prepared,
  theta: Float64Array,
  grad: Float64Array | undefined,
  rows: Uint32Array | undefined,
  cnt: number,
  z: Float64Array,
  penalise: boolean,
): number {
  const d = data.d;
  const K = z.length;
  if (grad) grad.fill(0);
  let loss = 0;
  let wsum = 0;
  // Every row once (full batch, or one mini-batch holding all rows in some order): the sums need no row list.
  if (K === 1 && grad && cnt === data.n && data.unweighted) {
    const logistic = p.predictorType === 'binary_classifier';
    loss = data.wasm
      ? fullBatchWasm(logistic, data.wasm, theta, grad, cnt, d)
      : fullBatchSingle(logistic, data.cols, data.y, theta, grad, cnt, z);
    wsum = cnt;
  } else {
    const X = rowMajor(data);
    const list = rows ?? allRows(data);
    for (let r = 0; r < cnt; r++) {
      const i = list[r]!;
      const wi = data.w ? data.w[i]! : 1;
      wsum += wi;
      const xo = i * d;
      for (let k = 0; k < K; k++) {
        let s = theta[d * K + k]!;
        for (let j = 0; j < d; j++) s += X[xo + j]! * theta[j * K + k]!;
        z[k] = s;
      }
      const y = data.y[i]!;
      if (p.predictorType === 'binary_classifier') {
        const s = z[0]!;
        // log(1 + e^s) - y·s, computed stably.
        loss += wi * ((s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - y * s);
        z[0] = wi * (1 / (1 + Math.exp(-s)) - y);
      } else if (p.predictorType === 'multiclass_classifier') {
        let mx = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < K; k++) mx = Math.max(mx, z[k]!);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(z[k]! - mx);
        loss += wi * (mx + Math.log(sum) - z[y]!);
        for (let k = 0; k < K; k++) z[k] = wi * (Math.exp(z[k]! - mx) / sum - (k === y ? 1 : 0));
      } else {
        const e = z[0]! - y;
        loss += wi * 0.5 * e * e;
        z[0] = wi * e;
      }
      if (grad) {
        for (let k = 0; k < K; k++) {
          const dz = z[k]!;
          grad[d * K + k]! += dz;
          for (let j = 0; j < d; j++) grad[j * K + k]! += dz * X[xo + j]!;
        }
      }
    }
  }
  const inv = 1 / (wsum || 1);
  loss *= inv;
  if (grad) for (let q = 0; q < grad.length; q++) grad[q]! *= inv;
  if (penalise && p.wd > 0) {
    for (let q = 0; q < d * K; q++) {
      loss += 0.5 * p.wd * theta[q]! * theta[q]!;
      if (grad) grad[q]! += p.wd * theta[q]!;
    }
  }
  return loss;
}

const LIN_BLOCK = 2048;

/**
 * `fullBatchSingle` in the WebAssembly kernels: the per-feature passes (margins, gradient dot products) in
 * SIMD, the per-row loss and derivative in `linLoss` (lossBlock's arithmetic: exp with Math.exp's bits,
 * log1p possibly a last bit apart). Same sums up to rounding order.
 */
function fullBatchWasm(
  logistic: boolean,
  w: NonNullable<Prepared['wasm']>,
  theta: Float64Array,
  grad: Float64Array,
  n: number,
  d: number,
): number {
  const { kern, z, acc } = w;
  w.theta.set(theta);
  w.grad.fill(0);
  acc.fill(0);
  const b = theta[d]!;
  const colsAt = w.cols.byteOffset;
  const lg = logistic ? 1 : 0;
  for (let i0 = 0; i0 < n; i0 += LIN_BLOCK) {
    const m = Math.min(LIN_BLOCK, n - i0);
    kern.linMargins(colsAt, n, d, w.theta.byteOffset, z.byteOffset, i0, m, b);
    kern.linLoss(z.byteOffset, w.y.byteOffset + 8 * i0, m, lg, acc.byteOffset);
    kern.linGrad(colsAt, n, d, z.byteOffset, i0, m, w.grad.byteOffset);
  }
  for (let j = 0; j < d; j++) grad[j] = w.grad[j]!;
  grad[d] = acc[1]!;
  return acc[0]!;
}

/**
 * `lossAndGrad`'s sums for one output over every row, unweighted (full-batch L-BFGS), column by column:
 * per block of rows, the margins are built by one contiguous multiply-add pass per feature, then the
 * loss and its derivative per row (logistic loss and σ share one exp), then each feature's gradient is a
 * contiguous dot product, all within a block that stays in L1. Writes the summed gradient into `grad`
 * (bias last) and returns the summed loss.
 */
function fullBatchSingle(
  logistic: boolean,
  cols: Float32Array[],
  y: Float64Array,
  theta: Float64Array,
  grad: Float64Array,
  n: number,
  _scratch: Float64Array,
): number {
  const d = cols.length;
  const b = theta[d]!;
  const z = new Float64Array(LIN_BLOCK);
  const acc = new Float64Array(2);
  for (let i0 = 0; i0 < n; i0 += LIN_BLOCK) {
    const m = Math.min(LIN_BLOCK, n - i0);
    z.fill(b);
    for (let j = 0; j < d; j++) {
      const c = cols[j]!;
      const w = theta[j]!;
      for (let i = 0; i < m; i++) z[i]! += c[i0 + i]! * w;
    }
    lossBlock(logistic, z, y, i0, m, acc);
    for (let j = 0; j < d; j++) {
      const c = cols[j]!;
      let g0 = 0;
      let g1 = 0;
      let i = 0;
      for (; i + 1 < m; i += 2) {
        g0 += z[i]! * c[i0 + i]!;
        g1 += z[i + 1]! * c[i0 + i + 1]!;
      }
      if (i < m) g0 += z[i]! * c[i0 + i]!;
      grad[j]! += g0 + g1;
    }
  }
  grad[d] = acc[1]!;
  return acc[0]!;
}

/**
 * Per-row loss and derivative of margins z[0..m) (labels y[i0..]): z becomes the derivative, acc[0] gains
 * the summed loss and acc[1] the summed derivative (the bias gradient).
 */
function lossBlock(
  logistic: boolean,
  z: Float64Array,
  y: Float64Array,
  i0: number,
  m: number,
  acc: Float64Array,
): void {
  let loss = 0;
  let gb = 0;
  for (let i = 0; i < m; i++) {
    const s = z[i]!;
    const yi = y[i0 + i]!;
    let dz: number;
    if (logistic) {
      // log(1 + e^s) − y·s = max(s, 0) + log1p(e^−|s|) − y·s; σ(s) from the same e^−|s|.
      const e = Math.exp(-Math.abs(s));
      loss += Math.max(s, 0) + Math.log1p(e) - yi * s;
      dz = (s >= 0 ? 1 / (1 + e) : e / (1 + e)) - yi;
    } else {
      dz = s - yi;
      loss += 0.5 * dz * dz;
    }
    z[i] = dz;
    gb += dz;
  }
  acc[0]! += loss;
  acc[1]! += gb;
}
