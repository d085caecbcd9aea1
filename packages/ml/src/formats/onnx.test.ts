import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../data/matrix.js';
import { trainGbdt } from '../gbdt/gbdt.js';
import { trainLinearLearner } from '../linear/linear-learner.js';
import { readFixtureSplits } from '../testing/fixtures.test-helper.js';
import { exportGbdtOnnx, exportLinearOnnx } from './onnx.js';

async function run(bytes: Uint8Array, x: DenseMatrix): Promise<Record<string, Float32Array | BigInt64Array>> {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ input: new ort.Tensor('float32', x.toRowMajor(), [x.rows, x.cols]) });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** P(class 1) column of an [N, 2] probability tensor. */
const positive = (p: ArrayLike<number>) =>
  Float64Array.from({ length: p.length / 2 }, (_, i) => p[2 * i + 1]!);

describe('ONNX export scored by onnxruntime-node equals native predictions within 1e-5', () => {
  const bin = readFixtureSplits('binary');
  const reg = readFixtureSplits('regression');
  const mc = readFixtureSplits('multiclass');

  it('GBDT binary:logistic with missing values (TreeEnsembleClassifier)', async () => {
    const m = trainGbdt(bin.train, { objective: 'binary:logistic', num_round: 20, max_depth: 4 });
    const out = await run(exportGbdtOnnx(m), bin.test.x);
    expect(maxDiff(positive(out.probabilities!), m.predict(bin.test.x))).toBeLessThan(1e-5);
  });

  it('GBDT multi:softprob (TreeEnsembleClassifier, SOFTMAX)', async () => {
    const m = trainGbdt(mc.train, { objective: 'multi:softprob', num_class: 3, num_round: 10, max_depth: 3 });
    const out = await run(exportGbdtOnnx(m), mc.test.x);
    expect(maxDiff(out.probabilities!, m.predict(mc.test.x))).toBeLessThan(1e-5);
    const argmax = trainGbdt(mc.train, {
      objective: 'multi:softmax',
      num_class: 3,
      num_round: 10,
      max_depth: 3,
    });
    const labels = (await run(exportGbdtOnnx(argmax), mc.test.x)).label!;
    expect(Array.from(labels, Number)).toEqual(Array.from(argmax.predict(mc.test.x)));
  });

  it('GBDT regression objectives (TreeEnsembleRegressor, + Exp for Poisson)', async () => {
    const sq = trainGbdt(reg.train, { num_round: 20, max_depth: 4 });
    const ps = sq.predict(reg.test.x);
    const os = (await run(exportGbdtOnnx(sq), reg.test.x)).variable!;
    for (let i = 0; i < ps.length; i++)
      expect(Math.abs(os[i]! - ps[i]!) / Math.max(1, Math.abs(ps[i]!))).toBeLessThan(1e-5);
    const counts = Float32Array.from(reg.train.y, (v) => Math.round(Math.abs(v)));
    const pois = trainGbdt({ x: reg.train.x, y: counts }, { objective: 'count:poisson', num_round: 10 });
    const p = pois.predict(reg.test.x);
    const o = (await run(exportGbdtOnnx(pois), reg.test.x)).variable!;
    // relative, since Poisson means are not bounded by 1
    for (let i = 0; i < p.length; i++)
      expect(Math.abs(o[i]! - p[i]!) / Math.max(1, p[i]!)).toBeLessThan(1e-5);
  });

  it('linear binary, multiclass and regressor', async () => {
    const lb = readFixtureSplits('linear-binary');
    const m = trainLinearLearner(lb.train, { predictor_type: 'binary_classifier', optimizer: 'lbfgs' });
    expect(
      maxDiff(positive((await run(exportLinearOnnx(m), lb.test.x)).probabilities!), m.predict(lb.test.x)),
    ).toBeLessThan(1e-5);
    const lm = readFixtureSplits('linear-multiclass');
    const mm = trainLinearLearner(lm.train, {
      predictor_type: 'multiclass_classifier',
      num_classes: 4,
      optimizer: 'lbfgs',
    });
    expect(
      maxDiff((await run(exportLinearOnnx(mm), lm.test.x)).probabilities!, mm.predict(lm.test.x)),
    ).toBeLessThan(1e-5);
    const lr = readFixtureSplits('linear-regression');
    const mr = trainLinearLearner(lr.train, { predictor_type: 'regressor', optimizer: 'lbfgs' });
    const pr = mr.predict(lr.test.x);
    const or = (await run(exportLinearOnnx(mr), lr.test.x)).variable!;
    for (let i = 0; i < pr.length; i++)
      expect(Math.abs(or[i]! - pr[i]!) / Math.max(1, Math.abs(pr[i]!))).toBeLessThan(1e-5);
  });
});
