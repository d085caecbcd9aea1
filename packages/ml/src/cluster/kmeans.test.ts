import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { inertia } from '../metrics/clustering.js';
import { readFixture } from '../testing/fixtures.test-helper.js';
import { KMeansModel, trainKMeans } from './kmeans.js';

const fx = readFixture<{ features: number; x: number[] }>('cluster.json');
const x = DenseMatrix.fromRowMajor(fx.x, fx.x.length / fx.features, fx.features);
const peer = readFixture<{ kmeans_k5: { inertia: number } }>('sklearn-peers.json').kmeans_k5;

describe('trainKMeans', () => {
  it('Lloyd with k-means++ reaches scikit-learn KMeans inertia (n_init=10) within 1%', () => {
    // best of a few seeds, as scikit-learn's n_init does
    const best = Math.min(...[0, 1, 2].map((seed) => trainKMeans(x, { k: 5, seed }).info!.inertia));
    expect(best).toBeLessThan(peer.inertia * 1.01);
  });

  it('mini-batch (best of 3 seeds, as scikit-learn n_init=3) within 5%; reported inertia matches the metric', () => {
    const runs = [0, 1, 2].map((seed) =>
      trainKMeans(x, { k: 5, algorithm: 'minibatch', mini_batch_size: 100, epochs: 30, seed }),
    );
    const m = runs.reduce((a, b) => (a.info!.inertia <= b.info!.inertia ? a : b));
    expect(m.info!.inertia).toBeLessThan(peer.inertia * 1.05);
    expect(inertia(x, m.centroids, m.predict(x))).toBeCloseTo(m.info!.inertia, 6);
  });

  it('Lloyd with Elkan bounds ends at a Lloyd fixed point: every row at its nearest centre, every centre the mean of its rows', () => {
    // Overlapping clusters, so rows change centre for many passes and the bounds are exercised.
    let s = 7;
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const n = 3000;
    const d = 5;
    const rows = Array.from({ length: n }, (_, i) =>
      Array.from({ length: d }, (_, j) => ((i * 7 + j) % 4) * 0.8 + rnd() * 2),
    );
    const data = DenseMatrix.fromRows(rows);
    for (const seed of [0, 1, 2]) {
      const m = trainKMeans(data, { k: 6, seed, tolerance: 0, epochs: 1000 });
      expect(m.info!.iterations).toBeGreaterThan(5);
      expect(m.info!.iterations).toBeLessThan(1000);
      const C = m.centroids;
      const sums = new Float64Array(6 * d);
      const counts = new Float64Array(6);
      const labels = m.predict(data);
      for (let i = 0; i < n; i++) {
        const x = Float32Array.from(rows[i]!);
        let best = -1;
        let bestD = Number.POSITIVE_INFINITY;
        for (let c = 0; c < 6; c++) {
          let dist = 0;
          for (let j = 0; j < d; j++) dist += (x[j]! - C[c * d + j]!) ** 2;
          if (dist < bestD) {
            bestD = dist;
            best = c;
          }
        }
        expect(labels[i]).toBe(best);
        counts[best]!++;
        for (let j = 0; j < d; j++) sums[best * d + j]! += x[j]!;
      }
      for (let q = 0; q < 6 * d; q++) expect(C[q]).toBeCloseTo(sums[q]! / counts[Math.floor(q / d)]!, 9);
    }
  });

  it('random init works and save/load round-trips', () => {
    const m = trainKMeans(x, { k: '5', init_method: 'random', seed: '3' });
    const back = KMeansModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predict(x)).toEqual(m.predict(x));
  });

  it('rejects bad input', () => {
    expect(() => trainKMeans(x, {})).toThrow(MlInputError);
    expect(() => trainKMeans(DenseMatrix.fromRows([[1], [2]]), { k: 3 })).toThrow(/only 2 rows/);
    expect(() => trainKMeans(DenseMatrix.fromRows([[1], [Number.NaN]]), { k: 1 })).toThrow(/finite/);
    expect(() => trainKMeans(x, { k: 2, tolerance: 'x' })).toThrow(/tolerance/);
  });
});
