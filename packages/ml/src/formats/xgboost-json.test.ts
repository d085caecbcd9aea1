import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { importXgboostJson } from './xgboost-json.js';

const FIX = new URL('../../fixtures/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, FIX), 'utf8');

describe('importXgboostJson', () => {
  for (const name of ['binary', 'regression', 'multiclass']) {
    it(`predicts what python3-xgboost predicts (${name}, with missing values) within 1e-5`, () => {
      const data = JSON.parse(read(`data-${name}.json`));
      const expected = JSON.parse(read(`xgb-${name}.expected.json`));
      const n = data.test.y.length;
      const x = DenseMatrix.fromRowMajor(
        data.test.x.map((v: number | null) => (v === null ? Number.NaN : v)),
        n,
        data.features,
      );
      expect(data.test.x.some((v: number | null) => v === null)).toBe(true);
      const model = importXgboostJson(read(`xgb-${name}.model.json`));
      const pred = model.predict(x);
      const margin = model.predictMargin(x);
      expect(pred.length).toBe(expected.pred.length);
      let maxErr = 0;
      for (let i = 0; i < pred.length; i++) maxErr = Math.max(maxErr, Math.abs(pred[i]! - expected.pred[i]));
      expect(maxErr).toBeLessThan(1e-5);
      let maxMarginErr = 0;
      for (let i = 0; i < margin.length; i++)
        maxMarginErr = Math.max(maxMarginErr, Math.abs(margin[i]! - expected.margin[i]));
      expect(maxMarginErr).toBeLessThan(1e-5);
    });
  }

  it('rejects documents that are not XGBoost models', () => {
    expect(() => importXgboostJson('{"a":1}')).toThrow(MlInputError);
    expect(() => importXgboostJson('not json')).toThrow(/not valid JSON/);
    const doc = JSON.parse(read('xgb-binary.model.json'));
    doc.learner.objective.name = 'rank:pairwise';
    expect(() => importXgboostJson(doc)).toThrow(/unsupported objective/);
  });
});
