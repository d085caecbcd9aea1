import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { DenseMatrix } from '../data/matrix.js';
import { rocAuc } from '../metrics/ranking.js';
import { RandomCutForest } from './rcf.js';

describe('RandomCutForest', () => {
  const rng = new Random(1);
  const rows: number[][] = [];
  const label: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const outlier = i % 50 === 0;
    const s = outlier ? 6 : 1;
    rows.push([rng.normal() * s, rng.normal() * s, rng.normal() * s]);
    label.push(outlier ? 1 : 0);
  }
  const x = DenseMatrix.fromRows(rows);

  it('scores planted outliers far above inliers (beyond mean + 3 sd for most)', () => {
    const f = RandomCutForest.fit(x, { num_trees: 50, num_samples_per_tree: 256 });
    const s = f.score(x);
    expect(rocAuc(label, s)).toBeGreaterThan(0.95);
    const inl = Array.from(s).filter((_, i) => label[i] === 0);
    const mean = inl.reduce((a, b) => a + b, 0) / inl.length;
    const sd = Math.sqrt(inl.reduce((a, b) => a + (b - mean) ** 2, 0) / inl.length);
    const flagged = Array.from(s).filter((v, i) => label[i] === 1 && v > mean + 3 * sd).length;
    expect(flagged).toBeGreaterThanOrEqual(12);
    // An isolated far point scores higher than any training point.
    const far = f.score(DenseMatrix.fromRows([[40, -40, 40]]))[0]!;
    expect(far).toBeGreaterThan(Math.max(...s));
  });

  it('is deterministic for a seed and round-trips through JSON', () => {
    const a = RandomCutForest.fit(x, { num_trees: 5, seed: 4 });
    const b = RandomCutForest.fit(x, { num_trees: 5, seed: 4 });
    expect(a.score(x)).toEqual(b.score(x));
    expect(RandomCutForest.fromJSON(JSON.parse(JSON.stringify(a.toJSON()))).score(x)).toEqual(a.score(x));
  });

  it('rejects bad input', () => {
    expect(() => RandomCutForest.fit(x, { num_trees: 0 })).toThrow(MlInputError);
    expect(() => RandomCutForest.fit(x, { feature_dim: 4 })).toThrow(/feature_dim/);
    expect(() => RandomCutForest.fit(DenseMatrix.fromRows([]), {})).toThrow(/empty/);
  });
});
