import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { readFixture, readFixtureSplits } from '../testing/fixtures.test-helper.js';
import { PcaModel, trainPca } from './pca.js';

const peer = readFixture<{
  pca_linear_binary_train_3: {
    explained_variance: number[];
    explained_variance_ratio: number[];
    components: number[][];
  };
}>('sklearn-peers.json').pca_linear_binary_train_3;
const { train } = readFixtureSplits('linear-binary');

describe('trainPca against scikit-learn PCA', () => {
  for (const mode of ['regular', 'randomized']) {
    it(`${mode}: explained variance within 1e-5 relative (sklearn ran in float32) and the same axes (up to sign)`, () => {
      const m = trainPca(train.x, { num_components: 3, algorithm_mode: mode });
      for (let q = 0; q < 3; q++) {
        expect(m.explainedVariance[q]! / peer.explained_variance[q]!).toBeCloseTo(1, 5);
        expect(m.explainedVarianceRatio[q]! / peer.explained_variance_ratio[q]!).toBeCloseTo(1, 5);
        let dot = 0;
        for (let j = 0; j < train.x.cols; j++)
          dot += m.components[q * train.x.cols + j]! * peer.components[q]![j]!;
        expect(Math.abs(dot)).toBeCloseTo(1, 5);
      }
    });
  }

  it('transform projects centred rows; round-trip keeps it', () => {
    const x = DenseMatrix.fromRows([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const m = trainPca(x, { num_components: 1 });
    const z = m.transform(x);
    expect(Array.from(z).map((v) => +v.toFixed(12))).toEqual(
      [-Math.SQRT2, 0, Math.SQRT2].map((v) => +v.toFixed(12)),
    );
    expect(m.explainedVarianceRatio[0]).toBeCloseTo(1, 12);
    expect(PcaModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON()))).transform(x)).toEqual(z);
  });

  it('rejects bad input', () => {
    expect(() => trainPca(train.x, {})).toThrow(MlInputError);
    expect(() => trainPca(train.x, { num_components: 50 })).toThrow(/features/);
    expect(() => trainPca(train.x, { num_components: 2, algorithm_mode: 'fast' })).toThrow(/algorithm_mode/);
  });
});
