import { MlInputError } from '../core/errors.js';
import { checkBinaryLabels, checkPair, checkWeights } from './check.js';

/** Confusion matrix: `counts[t * k + p]` rows = true label, columns = predicted, in `labels` order. */
export interface ConfusionMatrix {
  labels: number[];
  counts: Float64Array;
  /** counts[trueIndex][predIndex] */
  at(trueLabel: number, predLabel: number): number;
}

/**
 * Confusion matrix for any number of classes. `labels` fixes the order (default: sorted distinct labels of
 * both inputs); pairs whose label is not listed are ignored, as in scikit-learn. O(n).
 *
 * @example
 * confusionMatrix([1, 0, 1], [1, 1, 1], [1, 0]).at(0, 1) // 1: one true-0 predicted as 1
 */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: readonly number[],
  weight?: ArrayLike<number>,
): ConfusionMatrix {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  checkWeights(weight, n);
  let labs: number[];
  if (labels) {
    if (labels.length === 0) throw new MlInputError('labels', 'is empty');
    if (new Set(labels).size !== labels.length) throw new MlInputError('labels', 'contains duplicates');
    labs = [...labels];
  } else {
    const s = new Set<number>();
    for (let i = 0; i < n; i++) {
      s.add(yTrue[i]!);
      s.add(yPred[i]!);
    }
    labs = [...s].sort((a, b) => a - b);
  }
  const index = new Map<number, number>();
  for (let j = 0; j < labs.length; j++) index.set(labs[j]!, j);
  const k = labs.length;
  const counts = new Float64Array(k * k);
  for (let i = 0; i < n; i++) {
    const t = index.get(yTrue[i]!);
    const p = index.get(yPred[i]!);
    if (t !== undefined && p !== undefined) counts[t * k + p]! += weight === undefined ? 1 : weight[i]!;
  }
  return {
    labels: labs,
    counts,
    at(tl: number, pl: number) {
      const t = index.get(tl);
      const p = index.get(pl);
      if (t === undefined || p === undefined)
        throw new MlInputError('label', `${t === undefined ? tl : pl} is not in labels`);
      return counts[t * k + p]!;
    },
  };
}

/** Fraction of rows whose prediction equals the label. */
export function accuracy(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  weight?: ArrayLike<number>,
): number {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  checkWeights(weight, n);
  let ok = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const w = weight === undefined ? 1 : weight[i]!;
    if (yTrue[i] === yPred[i]) ok += w;
    tot += w;
  }
  return tot === 0 ? 0 : ok / tot;
}

export type Averaging = 'binary' | 'macro' | 'weighted' | 'micro';

/** Precision, recall and F1, plus per-class values in `labels` order. */
export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
  labels: number[];
  perClass: { precision: number; recall: number; f1: number; support: number }[];
}

/**
 * Precision, recall and F1. `average`: 'binary' reports `posLabel` (default 1); 'macro' is the unweighted
 * mean over classes; 'weighted' weights by support; 'micro' pools counts. Undefined ratios (0/0) are 0.
 */
export function precisionRecallF1(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: { average?: Averaging; labels?: readonly number[]; posLabel?: number } = {},
): PrecisionRecallF1 {
  const cm = confusionMatrix(yTrue, yPred, opts.labels);
  const k = cm.labels.length;
  const perClass: PrecisionRecallF1['perClass'] = [];
  let tpAll = 0;
  let predAll = 0;
  let trueAll = 0;
  for (let c = 0; c < k; c++) {
    const tp = cm.counts[c * k + c]!;
    let pred = 0;
    let support = 0;
    for (let o = 0; o < k; o++) {
      pred += cm.counts[o * k + c]!;
      support += cm.counts[c * k + o]!;
    }
    const precision = pred === 0 ? 0 : tp / pred;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass.push({ precision, recall, f1, support });
    tpAll += tp;
    predAll += pred;
    trueAll += support;
  }
  const average = opts.average ?? 'binary';
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  if (average === 'binary') {
    const pos = opts.posLabel ?? 1;
    const c = cm.labels.indexOf(pos);
    if (c < 0) throw new MlInputError('posLabel', `${pos} is not among the labels`);
    ({ precision, recall, f1 } = perClass[c]!);
  } else if (average === 'micro') {
    precision = predAll === 0 ? 0 : tpAll / predAll;
    recall = trueAll === 0 ? 0 : tpAll / trueAll;
    f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  } else {
    let wsum = 0;
    for (const pc of perClass) {
      const w = average === 'macro' ? 1 : pc.support;
      precision += w * pc.precision;
      recall += w * pc.recall;
      f1 += w * pc.f1;
      wsum += w;
    }
    if (wsum > 0) {
      precision /= wsum;
      recall /= wsum;
      f1 /= wsum;
    }
  }
  return { precision, recall, f1, labels: cm.labels, perClass };
}

/** Binary rates from 0/1 labels and 0/1 predictions: TPR (recall), TNR, FPR, FNR. */
export function binaryRates(yTrue: ArrayLike<number>, yPred: ArrayLike<number>) {
  checkPair(yTrue, yPred, 'yTrue', 'yPred');
  checkBinaryLabels(yTrue);
  checkBinaryLabels(yPred);
  const cm = confusionMatrix(yTrue, yPred, [0, 1]);
  const tn = cm.counts[0]!;
  const fp = cm.counts[1]!;
  const fn = cm.counts[2]!;
  const tp = cm.counts[3]!;
  const r = (a: number, b: number) => (a + b === 0 ? 0 : a / (a + b));
  return { tp, fp, tn, fn, tpr: r(tp, fn), tnr: r(tn, fp), fpr: r(fp, tn), fnr: r(fn, tp) };
}

/**
 * Log loss (natural log). Binary: `prob[i]` is P(y=1). Multiclass: `prob` is row-major `n × k` and
 * `yTrue` holds class indices 0..k-1. Probabilities are clipped to [eps, 1 - eps] (eps = 1e-15).
 */
export function logLoss(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
  opts: { numClass?: number; weight?: ArrayLike<number>; eps?: number } = {},
): number {
  const k = opts.numClass ?? 2;
  const n = yTrue.length;
  if (n === 0) throw new MlInputError('yTrue', 'is empty');
  const eps = opts.eps ?? 1e-15;
  checkWeights(opts.weight, n);
  const binary = k === 2 && prob.length === n;
  if (!binary && prob.length !== n * k) {
    throw new MlInputError('prob', `has ${prob.length} values; expected ${n} (binary) or ${n}×${k}`);
  }
  let s = 0;
  let ws = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k)
      throw new MlInputError('yTrue', `label ${y} at ${i} is outside 0..${k - 1}`);
    let p = binary ? (y === 1 ? prob[i]! : 1 - prob[i]!) : prob[i * k + y]!;
    if (!Number.isFinite(p)) throw new MlInputError('prob', `value at row ${i} is not finite`);
    p = Math.min(Math.max(p, eps), 1 - eps);
    const w = opts.weight === undefined ? 1 : opts.weight[i]!;
    s -= w * Math.log(p);
    ws += w;
  }
  return s / ws;
}

/** Reliability diagram: equal-width probability bins with mean predicted probability and observed rate. */
export function calibrationBins(yTrue: ArrayLike<number>, prob: ArrayLike<number>, nBins = 10) {
  const n = checkPair(yTrue, prob, 'yTrue', 'prob');
  checkBinaryLabels(yTrue);
  if (!Number.isInteger(nBins) || nBins < 1)
    throw new MlInputError('nBins', `must be a positive integer, got ${nBins}`);
  const count = new Float64Array(nBins);
  const sumProb = new Float64Array(nBins);
  const sumPos = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    const p = prob[i]!;
    if (p < 0 || p > 1) throw new MlInputError('prob', `value ${p} at ${i} is outside [0, 1]`);
    const b = Math.min(nBins - 1, Math.floor(p * nBins));
    count[b]!++;
    sumProb[b]! += p;
    sumPos[b]! += yTrue[i]!;
  }
  const bins = [];
  for (let b = 0; b < nBins; b++) {
    bins.push({
      lower: b / nBins,
      upper: (b + 1) / nBins,
      count: count[b]!,
      meanPredicted: count[b]! > 0 ? sumProb[b]! / count[b]! : Number.NaN,
      fractionPositive: count[b]! > 0 ? sumPos[b]! / count[b]! : Number.NaN,
    });
  }
  return bins;
}
