import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import {
  accuracy,
  binaryRates,
  calibrationBins,
  confusionMatrix,
  logLoss,
  precisionRecallF1,
} from './classification.js';
import { inertia, silhouette } from './clustering.js';
import { averagePrecision, precisionRecallCurve, rocAuc, rocCurve } from './ranking.js';
import { mae, mape, r2, rmse } from './regression.js';

// Values below are worked out by hand in the comments.
const yT = [0, 0, 1, 1, 1, 0];
const yP = [0, 1, 1, 1, 0, 0];

describe('classification metrics', () => {
  it('confusion matrix with label order', () => {
    const cm = confusionMatrix(yT, yP, [1, 0]);
    // true 1: predicted 1 twice, 0 once; true 0: predicted 1 once, 0 twice
    expect(Array.from(cm.counts)).toEqual([2, 1, 1, 2]);
    expect(cm.at(0, 1)).toBe(1);
    const multi = confusionMatrix([2, 0, 1, 2], [2, 1, 1, 0]);
    expect(multi.labels).toEqual([0, 1, 2]);
    expect(Array.from(multi.counts)).toEqual([0, 1, 0, 0, 1, 0, 1, 0, 1]);
  });

  it('accuracy, precision, recall, F1 and rates', () => {
    expect(accuracy(yT, yP)).toBeCloseTo(4 / 6, 15);
    const b = precisionRecallF1(yT, yP);
    expect(b.precision).toBeCloseTo(2 / 3, 15); // tp 2, fp 1
    expect(b.recall).toBeCloseTo(2 / 3, 15); // tp 2, fn 1
    expect(b.f1).toBeCloseTo(2 / 3, 15);
    const r = binaryRates(yT, yP);
    expect([r.tpr, r.tnr, r.fpr, r.fnr]).toEqual([2 / 3, 2 / 3, 1 / 3, 1 / 3]);
    // 3 classes: y = [0,0,1,1,2,2], p = [0,1,1,1,2,0]
    const t3 = [0, 0, 1, 1, 2, 2];
    const p3 = [0, 1, 1, 1, 2, 0];
    // class 0: P=1/2 R=1/2 F=1/2; class 1: P=2/3 R=1 F=0.8; class 2: P=1 R=1/2 F=2/3
    const macro = precisionRecallF1(t3, p3, { average: 'macro' });
    expect(macro.precision).toBeCloseTo((1 / 2 + 2 / 3 + 1) / 3, 15);
    expect(macro.recall).toBeCloseTo((1 / 2 + 1 + 1 / 2) / 3, 15);
    expect(macro.f1).toBeCloseTo((1 / 2 + 0.8 + 2 / 3) / 3, 15);
    const weighted = precisionRecallF1([0, 0, 0, 1], [0, 0, 1, 1], { average: 'weighted' });
    // class 0: P=1 R=2/3 F=0.8 (support 3); class 1: P=1/2 R=1 F=2/3 (support 1)
    expect(weighted.f1).toBeCloseTo((3 * 0.8 + 2 / 3) / 4, 15);
    expect(precisionRecallF1(t3, p3, { average: 'micro' }).f1).toBeCloseTo(4 / 6, 15);
  });

  it('log loss (binary and multiclass) and calibration bins', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15);
    expect(logLoss([2, 0], [0.1, 0.2, 0.7, 0.5, 0.25, 0.25], { numClass: 3 })).toBeCloseTo(
      -(Math.log(0.7) + Math.log(0.5)) / 2,
      15,
    );
    const bins = calibrationBins([0, 1, 1, 0], [0.1, 0.15, 0.9, 0.95], 2);
    expect(bins[0]).toMatchObject({ count: 2, fractionPositive: 0.5 });
    expect(bins[0]!.meanPredicted).toBeCloseTo(0.125, 15);
    expect(bins[1]).toMatchObject({ count: 2, fractionPositive: 0.5 });
  });
});

describe('ranking metrics', () => {
  const y = [0, 0, 1, 1];
  const s = [0.1, 0.4, 0.35, 0.8];
  it('ROC curve and AUC', () => {
    const roc = rocCurve(y, s);
    expect(Array.from(roc.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(roc.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    // 3 of 4 positive-negative pairs are ordered correctly
    expect(rocAuc(y, s)).toBeCloseTo(0.75, 15);
    // ties count one half: both pairs tied -> 0.5
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
  });
  it('PR curve and average precision', () => {
    const pr = precisionRecallCurve(y, s);
    expect(Array.from(pr.precision)).toEqual([1, 0.5, 2 / 3, 0.5]);
    expect(Array.from(pr.recall)).toEqual([0.5, 0.5, 1, 1]);
    // AP = 0.5 * 1 + 0.5 * 2/3
    expect(averagePrecision(y, s)).toBeCloseTo(0.5 + 1 / 3, 15);
  });
  it('is O(n log n): 200k rows in well under a second', () => {
    const n = 200_000;
    const yy = new Float64Array(n);
    const ss = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      yy[i] = i % 2;
      ss[i] = (i % 2) + ((i * 7919) % 1000) / 500;
    }
    const t = performance.now();
    const a = rocAuc(yy, ss);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(a).toBeGreaterThan(0.5);
  });
  it('rejects bad input', () => {
    expect(() => rocAuc([0, 1], [0.5])).toThrow(MlInputError);
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(/both positive and negative/);
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/0 or 1/);
    expect(() => rocAuc([0, 1], [0.1, Number.NaN])).toThrow(/not finite/);
    expect(() => accuracy([], [])).toThrow(/empty/);
  });
});

describe('regression metrics', () => {
  const t = [3, -0.5, 2, 7];
  const p = [2.5, 0.0, 2, 8];
  it('match hand-computed values', () => {
    expect(rmse(t, p)).toBeCloseTo(Math.sqrt((0.25 + 0.25 + 0 + 1) / 4), 15);
    expect(mae(t, p)).toBeCloseTo(0.5, 15);
    // mean 2.875; SS_tot = 0.015625+11.390625+0.765625+17.015625 = 29.1875; SS_res = 1.5
    expect(r2(t, p)).toBeCloseTo(1 - 1.5 / 29.1875, 15);
    expect(mape([2, 4], [1, 5])).toBeCloseTo((0.5 + 0.25) / 2, 15);
    expect(() => mape([0], [1])).toThrow(/zero label/);
  });
});

describe('clustering metrics', () => {
  const x = DenseMatrix.fromRows([[0], [1], [10], [12]]);
  it('inertia and silhouette', () => {
    expect(inertia(x, Float64Array.from([0.5, 11]), [0, 0, 1, 1])).toBeCloseTo(0.25 * 2 + 1 + 1, 15);
    // a(0)=1, b(0)=11 -> 10/11; a(1)=1, b(1)=10 -> 0.9; a(2)=2, b(2)=9.5 -> 7.5/9.5; a(3)=2, b(3)=11.5 -> 9.5/11.5
    const expected = (10 / 11 + 0.9 + 7.5 / 9.5 + 9.5 / 11.5) / 4;
    expect(silhouette(x, [0, 0, 1, 1])).toBeCloseTo(expected, 12);
    expect(() => silhouette(x, [0, 0, 0, 0])).toThrow(/2 clusters/);
  });
});
