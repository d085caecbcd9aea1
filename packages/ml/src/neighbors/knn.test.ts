import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { accuracy } from '../metrics/classification.js';
import { readFixtureSplits } from '../testing/fixtures.test-helper.js';
import { KnnModel } from './knn.js';

describe('KnnModel', () => {
  const pts = DenseMatrix.fromRows([[0], [1], [2], [10], [11]]);
  it('finds the k nearest, nearest first', () => {
    const m = KnnModel.fit({ x: pts, y: [0, 0, 0, 1, 1] }, { k: 3, predictor_type: 'classifier' });
    const { index, dist2 } = m.kneighbors(DenseMatrix.fromRows([[9], [1.25]]));
    expect(Array.from(index)).toEqual([3, 4, 2, 1, 2, 0]);
    expect(Array.from(dist2).map((v) => +v.toFixed(9))).toEqual([1, 4, 49, 0.0625, 0.5625, 1.5625]);
    expect(Array.from(m.predict(DenseMatrix.fromRows([[9], [1.25]])))).toEqual([1, 0]);
  });

  it('regressor averages neighbour labels', () => {
    const m = KnnModel.fit({ x: pts, y: [1, 2, 3, 10, 20] }, { k: 2, predictor_type: 'regressor' });
    expect(Array.from(m.predict(DenseMatrix.fromRows([[10.4], [0.2]])))).toEqual([15, 1.5]);
  });

  it('classifies the fixture well and sample_size keeps that many points', () => {
    const { train, test } = readFixtureSplits('linear-multiclass');
    const m = KnnModel.fit(train, { k: 7, predictor_type: 'classifier' });
    expect(accuracy(test.y, m.predict(test.x))).toBeGreaterThan(0.8);
    const s = KnnModel.fit(train, { k: 7, predictor_type: 'classifier', sample_size: 300 });
    expect(s.labels.length).toBe(300);
    const back = KnnModel.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(back.predict(test.x)).toEqual(s.predict(test.x));
  });

  it('rejects bad input', () => {
    expect(() =>
      KnnModel.fit({ x: pts, y: [0, 0, 0, 1, 1] }, { k: 6, predictor_type: 'classifier' }),
    ).toThrow(/only 5/);
    expect(() => KnnModel.fit({ x: pts, y: [0, 0, 0, 1, 1] }, { k: 2 })).toThrow(MlInputError);
    const m = KnnModel.fit({ x: pts, y: [0, 0, 0, 1, 1] }, { k: 1, predictor_type: 'classifier' });
    expect(() => m.predict(DenseMatrix.fromRows([[1, 2]]))).toThrow(/columns/);
  });
});
