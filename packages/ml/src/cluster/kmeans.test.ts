import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { inertia } from '../metrics/clustering.js';
import { readFixture } from '../testing/fixtures.test-helper.js';
import { JS_KM_KERNELS, KMeansModel, type KmWork, kmWorkspace, trainKMeans } from './kmeans.js';

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

  it('Lloyd with Hamerly bounds (float32 ranking) ends at a Lloyd fixed point: every row at its nearest centre, every centre the mean of its rows', () => {
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

  it('WebAssembly and JS k-means kernels agree bit for bit on random rows, centres and bounds (float32 and float64 ranking)', () => {
    let st = 11;
    const rnd = () => {
      st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
      return st / 4294967296;
    };
    const bits = (a: ArrayLike<number>) =>
      Array.from(new Float64Array(Float64Array.from(a).buffer), (v) => v);
    for (const [n, d, k, f32] of [
      [1, 1, 1, true],
      [301, 5, 3, true],
      [1000, 28, 8, true],
      [777, 30, 7, true],
      [500, 6, 5, false],
    ] as const) {
      const wa = kmWorkspace(n, d, k, true);
      const wj = kmWorkspace(n, d, k, false);
      expect(wa.ops, 'Node 20+ has WebAssembly SIMD').not.toBe(JS_KM_KERNELS);
      expect(wj.ops).toBe(JS_KM_KERNELS);
      // Clustered rows with a wide range of magnitudes, so near-ties and float32 rounding both occur.
      for (let i = 0; i < n * d; i++) wa.X[i] = ((i % 3) - 1) * 10 ** Math.floor(rnd() * 6 - 3) + rnd();
      for (let i = 0; i < k * d; i++)
        wa.C[i] = wa.X[(Math.floor(rnd() * n) * d + (i % d)) % (n * d)]! + rnd() * 0.1;
      for (const w of [wa, wj]) {
        if (!f32) {
          w.f32 = false;
          w.eps = 0;
          w.eta = 0;
        }
      }
      const copy = (from: KmWork, to: KmWork) => {
        for (const key of [
          'X',
          'C',
          'C32',
          'delta',
          'labels',
          'upper',
          'lower',
          'move',
          'half',
          'sums',
          'counts',
        ] as const)
          to[key].set(from[key] as never);
      };
      const same = (what: string) => {
        for (const key of ['labels', 'upper', 'lower', 'sums', 'counts', 'C32', 'delta'] as const)
          expect(bits(wa[key]), `${what}: ${key} (n ${n}, d ${d}, k ${k})`).toEqual(bits(wj[key]));
      };
      wa.C32.set(wa.C);
      for (let c = 0; c < k; c++) wa.delta[c] = f32 ? rnd() * 1e-7 : 0;
      wa.labels.fill(0);
      wa.sums.fill(0);
      wa.counts.fill(0);
      copy(wa, wj);
      expect(wa.ops.pass(wa, 0, 0, -1, true)).toBe(wj.ops.pass(wj, 0, 0, -1, true));
      same('first pass');
      // Move the centres by random amounts and run passes with the moved bounds.
      for (let r = 0; r < 3; r++) {
        for (let i = 0; i < k * d; i++) wa.C[i]! += (rnd() - 0.5) * 0.3;
        wa.C32.set(wa.C);
        let m1 = 0;
        let m2 = 0;
        let am = -1;
        for (let c = 0; c < k; c++) {
          const v = rnd() * 0.4;
          wa.move[c] = v;
          wa.half[c] = rnd() * 0.5;
          if (v > m1) {
            m2 = m1;
            m1 = v;
            am = c;
          } else if (v > m2) m2 = v;
        }
        copy(wa, wj);
        expect(wa.ops.pass(wa, m1, m2, am, false)).toBe(wj.ops.pass(wj, m1, m2, am, false));
        same(`pass ${r + 1}`);
      }
      expect(bits([wa.ops.assign(wa)])).toEqual(bits([wj.ops.assign(wj)]));
      same('assign');
      for (const w of [wa, wj]) w.dist.fill(Number.POSITIVE_INFINITY);
      for (let r = 0; r < 3; r++) {
        const t = r === 0 ? 1 : Math.min(4, wa.tsum.length);
        for (let q = 0; q < t; q++) {
          const row = Math.floor(rnd() * n);
          for (const w of [wa, wj]) {
            for (let j = 0; j < d; j++) w.cand[q * d + j] = wa.X[row * d + j]!;
            for (let j = 0; j < d; j++) w.cand32[q * d + j] = wa.X[row * d + j]!;
          }
        }
        wa.ops.nearest(wa, t);
        wj.ops.nearest(wj, t);
        expect(bits(wa.tsum.subarray(0, t))).toEqual(bits(wj.tsum.subarray(0, t)));
        expect(bits(wa.trial.subarray(0, t * n))).toEqual(bits(wj.trial.subarray(0, t * n)));
        wa.dist.set(wa.trial.subarray(0, n));
        wj.dist.set(wj.trial.subarray(0, n));
      }
    }
  });

  it('models are identical with WebAssembly and JS kernels (float32 ranking, and float64 for huge values)', () => {
    let st = 5;
    const rnd = () => {
      st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
      return st / 4294967296;
    };
    const n = 4000;
    const d = 9;
    const rows = Array.from({ length: n }, (_, i) =>
      Array.from({ length: d }, (_, j) => ((i * 3 + j) % 5) + rnd() * 3),
    );
    for (const scale of [1, 1e16]) {
      const data = DenseMatrix.fromRows(rows.map((r) => r.map((v) => v * scale)));
      for (const seed of [0, 1]) {
        const a = trainKMeans(data, { k: 7, seed }, { kernels: 'wasm' });
        const b = trainKMeans(data, { k: 7, seed }, { kernels: 'js' });
        expect(a.info!.iterations).toBeGreaterThan(3);
        expect(a.info).toEqual(b.info);
        expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
        expect(a.info!.inertia).toBeCloseTo(
          inertia(data, a.centroids, a.predict(data)),
          -Math.log10(scale * scale) + 2,
        );
      }
    }
  });
});
