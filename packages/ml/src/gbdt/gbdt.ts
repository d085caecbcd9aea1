import { MlInputError } from '../core/errors.js';
import type { HyperValue } from '../core/params.js';
import { Random } from '../core/random.js';
import { assertNoInfinity, type Dataset, validateDataset } from '../data/dataset.js';
import { instantiateKernels, WasmArena, wasmKernelModule } from '../wasm/kernels.js';
import { checkMaxBin, collectCuts } from './binning.js';
import { evalMetric, higherIsBetter } from './eval-metric.js';
import { CompiledForest } from './forest.js';
import { type GrownTree, TreeGrower } from './grower.js';
import {
  CMD_BIN,
  CMD_GRAD,
  CMD_TRANSPOSE,
  type GbdtExecutor,
  type GbdtWorkerFactory,
  type GbdtWorkspace,
  HJOB,
  LEAF_PIECE,
  MAX_GROUPS,
  PIECE,
  SerialExecutor,
  SUM_CHUNK,
  T_REC,
} from './kernels.js';
import { GbdtModel } from './model.js';
import { baseMargin, isMulticlass, objectiveCode, transformMargins } from './objectives.js';
import { type GbdtParams, resolveGbdtParams } from './params.js';
import type { GbdtTree } from './tree.js';

/** Options beyond hyperparameters: validation data and the thread seam. */
export interface GbdtTrainOptions {
  /** Scored every round with `eval_metric`; required for `early_stopping_rounds`. */
  validation?: Dataset;
  /**
   * Runs training on `nthread` threads (e.g. `nodeWorkerFactory` from `./node-workers.js`): gradients,
   * row partitions and leaf updates split over rows, histograms and split search over features; the
   * model is bit-identical to `nthread = 1`. Without it training uses one thread whatever `nthread`
   * says (browsers, or no worker support).
   */
  workerFactory?: GbdtWorkerFactory;
  /**
   * Called after each round with the validation scores of that round (empty without validation)
   * and, with `evalTrain`, the training set's scores. Returning `'stop'` ends training there: the
   * model keeps the rounds done (a tuner's early stopping).
   */
  onRound?: (
    round: number,
    scores: Record<string, number>,
    trainScores?: Record<string, number>,
  ) => undefined | 'stop';
  /** Also scores the training set every round with `eval_metric` (from the margins kept anyway). */
  evalTrain?: boolean;
  /**
   * Continues from a model trained on the same data with the same hyperparameters (a checkpoint):
   * its trees are kept and training goes on from its round count up to `num_round`.
   */
  initialModel?: GbdtModel;
  /** Called every `checkpointEvery` rounds (and after the last) with the model so far. */
  onCheckpoint?: (model: GbdtModel, roundsDone: number) => void;
  checkpointEvery?: number;
  /**
   * 'wasm' (default): histograms built by the WebAssembly SIMD kernels, falling back to 'js' where the
   * runtime lacks WebAssembly SIMD or shared memory; 'js': the reference JS kernels. Same model either way.
   */
  kernels?: 'wasm' | 'js';
}

const MAX_HIST_BYTES = 2 ** 31;
const FEATURE_STRIDE = 512;

/**
 * Trains gradient-boosted trees with the histogram method and SageMaker XGBoost's hyperparameters
 * (`num_round` default 100, `max_depth` 6, `eta` 0.3, `max_bin` 256, `objective` reg:squarederror, ...).
 * Features are quantile-binned to uint8 once; missing values (NaN) learn a default direction per split.
 * With `early_stopping_rounds` the model is cut back to its best iteration.
 *
 * @example
 * const model = trainGbdt(
 *   { x: DenseMatrix.fromRows(rows), y: labels },
 *   { objective: 'binary:logistic', num_round: '100', max_depth: '6', eta: '0.1', eval_metric: 'auc',
 *     early_stopping_rounds: 10 },
 *   { validation: { x: xVal, y: yVal } },
 * );
 */
export function trainGbdt(
  train: Dataset,
  hyperparameters: Readonly<Record<string, HyperValue>> = {},
  options: GbdtTrainOptions = {},
): GbdtModel {
  const p = resolveGbdtParams(hyperparameters);
  const multi = isMulticlass(p.objective);
  const labelCheck = labelRule(p);
  validateDataset(train, { field: 'train', ...labelCheck });
  assertNoInfinity(train.x, 'train.x');
  const val = options.validation;
  if (val) {
    validateDataset(val, { field: 'validation', ...labelCheck });
    if (val.x.cols !== train.x.cols) {
      throw new MlInputError('validation.x', `has ${val.x.cols} columns, train has ${train.x.cols}`);
    }
  }
  if (p.earlyStoppingRounds !== undefined && !val) {
    throw new MlInputError('early_stopping_rounds', 'needs a validation set');
  }
  if (p.objective === 'count:poisson') {
    for (let i = 0; i < train.y.length; i++) {
      if (train.y[i]! < 0)
        throw new MlInputError('train.y', `count:poisson needs labels >= 0, got ${train.y[i]}`);
    }
  }

  const x = train.x;
  const n = x.rows;
  const d = x.cols;
  const K = multi ? p.numClass : 1;
  const growParams = {
    maxDepth: p.maxDepth,
    maxLeaves: p.maxLeaves,
    lossguide: p.growPolicy === 'lossguide',
    eta: p.eta,
    gamma: p.gamma,
    minChildWeight: p.minChildWeight,
    lambda: p.lambda,
    alpha: p.alpha,
    maxDeltaStep: p.maxDeltaStep,
  };
  const slots = TreeGrower.slotsNeeded(growParams);
  if (slots * (d + 3) * FEATURE_STRIDE * 8 > MAX_HIST_BYTES) {
    throw new MlInputError(
      'max_depth',
      `needs ${slots} histograms of ${d} features; lower max_depth or set max_leaves`,
    );
  }
  const threads = p.nthread;
  const parallel = threads > 1 && options.workerFactory !== undefined && n >= 2;
  const alloc = (bytes: number) => (parallel ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));

  checkMaxBin(p.maxBin);
  const stride = (d + 3) & ~3;
  const m0 = baseMargin(p.objective, p.baseScore);
  const f64 = (len: number) => new Float64Array(alloc(8 * len));
  // The arrays the WebAssembly kernels read and write (bins, gradients, row index and scratch,
  // histograms, margins, labels and weights) live in their (shared) memory.
  const histLen = slots * stride * FEATURE_STRIDE;
  const wasmModule = options.kernels === 'js' ? null : wasmKernelModule();
  const scratchLen = (4 * n + 6144) * (parallel ? threads : 1);
  const resLen = 6 * (2 * slots + 2) * Math.min(threads, d);
  const arena = wasmModule
    ? WasmArena.create(
        n * stride +
          16 * n +
          12 * n +
          8 * histLen +
          n * d +
          8 * n * K +
          4 * scratchLen +
          8 * n * (train.weight ? 2 : 1) +
          16 * Math.ceil(n / SUM_CHUNK) +
          6 * d +
          8 * resLen,
        16,
      )
    : null;
  const rowBins = arena ? arena.u8(n * stride) : new Uint8Array(alloc(n * stride));
  // Workers read the features from shared memory: copied below, once the workers are starting up.
  const copyX = parallel && !(x.data.buffer instanceof SharedArrayBuffer);
  const xData = copyX ? new Float32Array(alloc(4 * n * d)) : x.data;
  const ws: GbdtWorkspace = {
    n,
    d,
    stride,
    K,
    x: xData,
    cutBuf: new Float32Array(alloc(4 * 256 * d)),
    binScratch: arena ? arena.u32(scratchLen) : new Uint32Array(alloc(4 * scratchLen)),
    rowBins,
    bins32: new Uint32Array(rowBins.buffer, rowBins.byteOffset, (n * stride) >> 2),
    colBins: arena ? arena.u8(n * d) : new Uint8Array(alloc(n * d)),
    gh: arena ? arena.f64(2 * n) : f64(2 * n),
    rowIdx: arena ? arena.u32(n) : new Uint32Array(alloc(4 * n)),
    scratchL: arena ? arena.u32(n) : new Uint32Array(alloc(4 * n)),
    scratchR: arena ? arena.u32(n) : new Uint32Array(alloc(4 * n)),
    hist: arena ? arena.f64(histLen) : f64(histLen),
    numBins: arena ? arena.i32(d) : new Int32Array(alloc(4 * d)),
    hasMissing: arena ? arena.u8(d) : new Uint8Array(alloc(d)),
    featMask: arena ? arena.u8(d) : new Uint8Array(alloc(d)),
    margin: arena ? arena.f64(n * K) : f64(n * K),
    prob: f64(multi ? n * K : 0),
    y: arena ? arena.f64(n) : f64(n),
    w: train.weight && arena ? arena.f64(n) : f64(train.weight ? n : 0),
    params: f64(8),
    taskI: new Int32Array(
      alloc(4 * (T_REC + Math.max(PIECE, LEAF_PIECE, HJOB) * (2 * slots + 2 * MAX_GROUPS + 8))),
    ),
    taskF: f64(4 * slots + 4 * MAX_GROUPS + 16),
    sums: arena ? arena.f64(2 * Math.ceil(n / SUM_CHUNK)) : f64(2 * Math.ceil(n / SUM_CHUNK)),
    res: arena ? arena.f64(resLen) : f64(resLen),
    wasm: arena ? { module: wasmModule!, memory: arena.memory } : null,
    kern: null,
  };
  if (ws.wasm) ws.kern = instantiateKernels(ws.wasm);
  ws.params.set([p.lambda, p.alpha, p.minChildWeight, p.maxDeltaStep, p.scalePosWeight]);
  let exec: GbdtExecutor = new SerialExecutor(ws);
  if (parallel) exec = options.workerFactory!(ws, threads);

  try {
    // Filled while the workers start (a worker thread takes tens of milliseconds to boot, and first
    // writes into fresh shared memory page-fault): they only read these once the first task is published.
    if (copyX) xData.set(x.data);
    ws.margin.fill(m0);
    ws.y.set(train.y);
    if (train.weight) ws.w.set(train.weight);
    // Quantile binning: one feature per chunk, then the row-major copy by row ranges.
    ws.taskI[0] = CMD_BIN;
    ws.taskI[2] = p.maxBin;
    exec.run(parallel ? d : 1);
    ws.taskI[0] = CMD_TRANSPOSE;
    exec.run(parallel ? 4 * threads : 1);
    const cuts = collectCuts(ws.cutBuf, ws.numBins, ws.hasMissing);
    const grower = new TreeGrower(growParams, ws, cuts, exec, slots);
    const rng = new Random(p.seed);
    const margin = ws.margin;
    const rowIdx = ws.rowIdx;
    const valMargin = val ? new Float64Array(val.x.rows * K).fill(m0) : undefined;
    const trees: GbdtTree[] = [];
    const treeClass: number[] = [];
    const initial = options.initialModel;
    let firstRound = 0;
    if (initial) {
      if (initial.numFeatures !== d || initial.objective !== p.objective || initial.numOutputs !== K) {
        throw new MlInputError(
          'initialModel',
          `does not match the data and hyperparameters (${initial.objective}, ${initial.numFeatures} features, ${initial.numOutputs} outputs)`,
        );
      }
      trees.push(...initial.trees);
      treeClass.push(...initial.treeClass);
      firstRound = Math.floor(initial.trees.length / K);
      margin.set(initial.predictMargin(x));
      if (val && valMargin) valMargin.set(initial.predictMargin(val.x));
    }
    const snapshot = (upTo: number) =>
      new GbdtModel({
        objective: p.objective,
        numClass: K === 1 ? p.numClass : K,
        numFeatures: d,
        baseScore: p.baseScore,
        trees: trees.slice(0, upTo * K),
        treeClass: treeClass.slice(0, upTo * K),
      });
    const evals: Record<string, number[]> = {};
    for (const m of p.evalMetric) evals[m] = [];
    const stopMetric = p.evalMetric[p.evalMetric.length - 1]!;
    let bestScore: number | undefined;
    let bestIteration = -1;
    const featureMask = ws.featMask;
    const residual = p.objective === 'reg:absoluteerror' ? new Float64Array(n) : undefined;
    const obj = objectiveCode(p.objective);

    for (let round = firstRound; round < p.numRound; round++) {
      for (let k = 0; k < K; k++) {
        const t = ws.taskI;
        t[0] = CMD_GRAD;
        t[2] = obj;
        t[3] = k;
        t[4] = k === 0 ? 1 : 0;
        t[5] = p.subsample < 1 ? 0 : 1;
        exec.run(parallel && n >= 16384 ? Math.min(Math.ceil(n / SUM_CHUNK), 4 * threads) : 1);
        if (p.objective === 'reg:absoluteerror' && K === 1)
          for (let i = 0; i < n; i++) residual![i] = train.y[i]! - margin[i]!;
        let m = n;
        let identity = true;
        if (p.subsample < 1) {
          m = 0;
          identity = false;
          for (let i = 0; i < n; i++) if (rng.next() < p.subsample) rowIdx[m++] = i;
          if (m === 0) rowIdx[m++] = rng.int(n);
        }
        sampleFeatures(featureMask, p.colsampleBytree, rng);
        // Last-level leaves go straight into the margins unless rows are sampled or leaves refit.
        const fuse = p.subsample >= 1 && !residual;
        let grown = grower.grow(m, identity, fuse ? k : -1);
        if (residual)
          grown = grower.setLeafValues(grown, refitMedians(grown, rowIdx, residual, train.weight, p.eta));
        trees.push(grown.tree);
        treeClass.push(k);
        if (p.subsample < 1) new CompiledForest([grown.tree], [k], K, d).addMargins(x, margin);
        else grower.addLeafValues(grown, k);
        if (val && valMargin) new CompiledForest([grown.tree], [k], K, d).addMargins(val.x, valMargin);
      }
      let trainScores: Record<string, number> | undefined;
      if (options.evalTrain) {
        const pred = transformForEval(p, margin, n, K);
        trainScores = {};
        for (const met of p.evalMetric) trainScores[met] = evalMetric(met, train.y, pred, K);
        if (!val && options.onRound?.(round, {}, trainScores) === 'stop') break;
      }
      if (val && valMargin) {
        const pred = transformForEval(p, valMargin, val.x.rows, K);
        const scores: Record<string, number> = {};
        for (const met of p.evalMetric) {
          const s = evalMetric(met, val.y, pred, K);
          evals[met]!.push(s);
          scores[met] = s;
        }
        const verdict = options.onRound?.(round, scores, trainScores);
        const s = scores[stopMetric]!;
        if (bestScore === undefined || (higherIsBetter(stopMetric) ? s > bestScore : s < bestScore)) {
          bestScore = s;
          bestIteration = round;
        } else if (p.earlyStoppingRounds !== undefined && round - bestIteration >= p.earlyStoppingRounds)
          break;
        if (verdict === 'stop') break;
      }
      const every = options.checkpointEvery ?? 0;
      if (options.onCheckpoint && every > 0 && (round + 1) % every === 0 && round + 1 < p.numRound) {
        options.onCheckpoint(snapshot(round + 1), round + 1);
      }
    }
    if (p.earlyStoppingRounds !== undefined && bestIteration >= 0) {
      trees.length = (bestIteration + 1) * K;
      treeClass.length = trees.length;
    }
    const model = new GbdtModel({
      objective: p.objective,
      numClass: K === 1 ? p.numClass : K,
      numFeatures: d,
      baseScore: p.baseScore,
      trees,
      treeClass,
    });
    model.info = {
      evals,
      bestIteration: bestIteration >= 0 ? bestIteration : trees.length / K - 1,
      bestScore,
      threads: exec.threads,
    };
    return model;
  } finally {
    exec.close();
  }
}

function labelRule(p: GbdtParams): { numClass?: number; labelRange?: [number, number] } {
  if (isMulticlass(p.objective)) return { numClass: p.numClass };
  if (p.objective === 'binary:logistic') return { numClass: 2 };
  if (p.objective === 'reg:logistic') return { labelRange: [0, 1] };
  return {};
}

function transformForEval(p: GbdtParams, margin: Float64Array, n: number, K: number): Float64Array {
  // multi:softmax evaluates probabilities (mlogloss/merror need them), as XGBoost does internally.
  return transformMargins(p.objective === 'multi:softmax' ? 'multi:softprob' : p.objective, margin, n, K);
}

function sampleFeatures(mask: Uint8Array, rate: number, rng: Random): void {
  const d = mask.length;
  if (rate >= 1) {
    mask.fill(1);
    return;
  }
  // Exactly max(1, floor(rate * d)) features, as XGBoost's column sampler picks.
  const keep = Math.max(1, Math.floor(rate * d));
  const perm = new Int32Array(d);
  for (let f = 0; f < d; f++) perm[f] = f;
  for (let f = d - 1; f > 0; f--) {
    const j = rng.int(f + 1);
    const t = perm[f]!;
    perm[f] = perm[j]!;
    perm[j] = t;
  }
  mask.fill(0);
  for (let q = 0; q < keep; q++) mask[perm[q]!] = 1;
}

/** reg:absoluteerror leaves: the (weighted) median residual of the leaf's rows, times eta (XGBoost 1.7). */
function refitMedians(
  g: GrownTree,
  rowIdx: Uint32Array,
  residual: Float64Array,
  w: ArrayLike<number> | undefined,
  eta: number,
): number[] {
  const out: number[] = [];
  for (let l = 0; l < g.leafStart.length; l++) {
    const s = g.leafStart[l]!;
    const e = g.leafEnd[l]!;
    if (e <= s) {
      out.push(0);
      continue;
    }
    const idx = Array.from(rowIdx.subarray(s, e));
    idx.sort((a, b) => residual[a]! - residual[b]!);
    let total = 0;
    for (const i of idx) total += w === undefined ? 1 : w[i]!;
    let acc = 0;
    let med = residual[idx[idx.length - 1]!]!;
    for (const i of idx) {
      acc += w === undefined ? 1 : w[i]!;
      if (acc >= total / 2) {
        med = residual[i]!;
        break;
      }
    }
    out.push(eta * med);
  }
  return out;
}
