import { MlInputError } from '../core/errors.js';
import { checkBinaryLabels, checkPair, checkWeights } from './check.js';

/** Points of a ROC curve at every distinct threshold, highest threshold first (starts at (0, 0)). */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  thresholds: Float64Array;
}

/** Cumulative (weighted) true/false positive counts at each distinct score, descending. O(n log n). */
function cumulative(yTrue: ArrayLike<number>, score: ArrayLike<number>, weight?: ArrayLike<number>) {
  const n = checkPair(yTrue, score, 'yTrue', 'score');
  checkBinaryLabels(yTrue);
  checkWeights(weight, n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const s = Float64Array.from(score);
  order.sort((a, b) => s[b]! - s[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const w = weight === undefined ? 1 : weight[i]!;
    if (yTrue[i] === 1) tp += w;
    else fp += w;
    if (k === n - 1 || s[order[k + 1]!] !== s[i]) {
      tps.push(tp);
      fps.push(fp);
      thr.push(s[i]!);
    }
  }
  return { tps, fps, thr, P: tp, N: fp };
}

/**
 * ROC curve of binary labels (0/1) against scores (higher means more likely positive).
 *
 * @example
 * rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // fpr [0,0,0.5,0.5,1], tpr [0,0.5,0.5,1,1]
 */
export function rocCurve(
  yTrue: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): RocCurve {
  const { tps, fps, thr, P, N } = cumulative(yTrue, score, weight);
  if (P === 0 || N === 0) throw new MlInputError('yTrue', 'ROC needs both positive and negative labels');
  const m = tps.length + 1;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thresholds = new Float64Array(m);
  thresholds[0] = Number.POSITIVE_INFINITY;
  for (let k = 0; k < tps.length; k++) {
    fpr[k + 1] = fps[k]! / N;
    tpr[k + 1] = tps[k]! / P;
    thresholds[k + 1] = thr[k]!;
  }
  return { fpr, tpr, thresholds };
}

/** Area under the ROC curve (trapezoidal, ties count one half). O(n log n). */
export function rocAuc(
  yTrue: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): number {
  const { fpr, tpr } = rocCurve(yTrue, score, weight);
  let a = 0;
  for (let k = 1; k < fpr.length; k++) a += ((fpr[k]! - fpr[k - 1]!) * (tpr[k]! + tpr[k - 1]!)) / 2;
  return a;
}

/** Precision-recall points at each distinct threshold, highest threshold first. */
export interface PrCurve {
  precision: Float64Array;
  recall: Float64Array;
  thresholds: Float64Array;
}

export function precisionRecallCurve(
  yTrue: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): PrCurve {
  const { tps, fps, thr, P } = cumulative(yTrue, score, weight);
  if (P === 0) throw new MlInputError('yTrue', 'precision-recall needs at least one positive label');
  const m = tps.length;
  const precision = new Float64Array(m);
  const recall = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    precision[k] = tps[k]! / (tps[k]! + fps[k]!);
    recall[k] = tps[k]! / P;
  }
  return { precision, recall, thresholds: Float64Array.from(thr) };
}

/** Average precision, Σ (R_k − R_{k−1}) · P_k over thresholds (scikit-learn's definition, no interpolation). */
export function averagePrecision(
  yTrue: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): number {
  const { precision, recall } = precisionRecallCurve(yTrue, score, weight);
  let ap = 0;
  let prev = 0;
  for (let k = 0; k < recall.length; k++) {
    ap += (recall[k]! - prev) * precision[k]!;
    prev = recall[k]!;
  }
  return ap;
}
