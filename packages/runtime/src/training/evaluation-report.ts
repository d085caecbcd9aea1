import type { EvaluationReport } from '@trainyard/contracts/training-jobs';
import { calibrationBins, confusionMatrix, precisionRecallF1 } from '@trainyard/ml/metrics/classification';
import { averagePrecision, precisionRecallCurve, rocAuc, rocCurve } from '@trainyard/ml/metrics/ranking';
import { mae, r2, rmse } from '@trainyard/ml/metrics/regression';

/** Curves are cut to about this many points so a report stays small whatever the channel's size. */
const maxCurvePoints = 200;

function thin(length: number): number[] {
  if (length <= maxCurvePoints) return Array.from({ length }, (_, i) => i);
  const step = (length - 1) / (maxCurvePoints - 1);
  return Array.from({ length: maxCurvePoints }, (_, i) => Math.round(i * step));
}

/**
 * Classification report from true labels and predicted labels; for binary problems `positiveScore`
 * (P(y = 1)) adds ROC and PR curves with their areas and a 10-bin calibration table.
 */
export function classificationReport(
  channel: string,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  positiveScore?: ArrayLike<number>,
  threshold?: number,
): EvaluationReport {
  const labels = [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((a, b) => a - b);
  const cm = confusionMatrix(yTrue, yPred, labels);
  const k = labels.length;
  const matrix = labels.map((_, t) => labels.map((__, p) => cm.counts[t * k + p]!));
  const prf = precisionRecallF1(yTrue, yPred, { average: 'macro', labels });
  const n = yTrue.length;
  let correct = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) correct++;
  const perClass = labels.map((label, c) => {
    const tp = matrix[c]![c]!;
    const fn = matrix[c]!.reduce((a, b) => a + b, 0) - tp;
    const fp = matrix.reduce((a, row) => a + row[c]!, 0) - tp;
    const tn = n - tp - fn - fp;
    const pc = prf.perClass[c]!;
    return {
      label,
      precision: pc.precision,
      recall: pc.recall,
      f1: pc.f1,
      support: pc.support,
      falsePositiveRate: fp + tn === 0 ? 0 : fp / (fp + tn),
      falseNegativeRate: fn + tp === 0 ? 0 : fn / (fn + tp),
    };
  });
  const report: EvaluationReport = {
    type: 'classification',
    channel,
    rows: n,
    labels,
    confusionMatrix: matrix,
    accuracy: n === 0 ? 0 : correct / n,
    perClass,
  };
  const binary = labels.every((l) => l === 0 || l === 1);
  let positives = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) positives++;
  if (positiveScore && binary && positives > 0 && positives < n) {
    const roc = rocCurve(yTrue, positiveScore);
    const rocIdx = thin(roc.fpr.length);
    report.roc = {
      fpr: rocIdx.map((i) => roc.fpr[i]!),
      tpr: rocIdx.map((i) => roc.tpr[i]!),
      auc: rocAuc(yTrue, positiveScore),
    };
    const pr = precisionRecallCurve(yTrue, positiveScore);
    const prIdx = thin(pr.precision.length);
    report.pr = {
      precision: prIdx.map((i) => pr.precision[i]!),
      recall: prIdx.map((i) => pr.recall[i]!),
      averagePrecision: averagePrecision(yTrue, positiveScore),
    };
    report.calibration = calibrationBins(yTrue, positiveScore, 10)
      .filter((b) => b.count > 0)
      .map((b) => ({ meanPredicted: b.meanPredicted, fractionPositive: b.fractionPositive, count: b.count }));
  }
  if (threshold !== undefined) report.threshold = threshold;
  return report;
}

/** Regression report: RMSE, MAE, R² and a 20-bin histogram of residuals (true − predicted). */
export function regressionReport(
  channel: string,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): EvaluationReport {
  const n = yTrue.length;
  const residuals = Float64Array.from({ length: n }, (_, i) => yTrue[i]! - yPred[i]!);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const r of residuals) {
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  const bins = 20;
  if (!(hi > lo)) {
    lo = (Number.isFinite(lo) ? lo : 0) - 0.5;
    hi = lo + 1;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const r of residuals) counts[Math.min(bins - 1, Math.floor((r - lo) / width))]!++;
  return {
    type: 'regression',
    channel,
    rows: n,
    rmse: rmse(yTrue, yPred),
    mae: mae(yTrue, yPred),
    r2: r2(yTrue, yPred),
    residualHistogram: { edges, counts },
  };
}
