import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MlInputError } from '../core/errors.js';
import { DenseMatrix } from '../data/matrix.js';
import { logLoss } from '../metrics/classification.js';
import { rocAuc } from '../metrics/ranking.js';
import { rmse } from '../metrics/regression.js';
import { trainGbdt } from './gbdt.js';
import { GbdtModel } from './model.js';
import { nodePredictPool, nodeWorkerFactory } from './node-workers.js';

const FIX = new URL('../../fixtures/', import.meta.url);
const json = (name: string) => JSON.parse(readFileSync(new URL(name, FIX), 'utf8'));

interface Split {
  x: DenseMatrix;
  y: Float32Array;
}
function loadSet(name: string): { train: Split; test: Split; d: number } {
  const j = json(`data-${name}.json`);
  const part = (p: { x: (number | null)[]; y: number[] }): Split => {
    const n = p.y.length;
    const flat = p.x.map((v) => (v === null ? Number.NaN : v));
    return { x: DenseMatrix.fromRowMajor(flat, n, j.features), y: Float32Array.from(p.y) };
  };
  return { train: part(j.train), test: part(j.test), d: j.features };
}

describe('trainGbdt quality against XGBoost 1.7 on the same split (fixtures by make_fixtures.py)', () => {
  it('binary:logistic with missing values: AUC within 0.01 and log loss within 5% of XGBoost', () => {
    const { train, test } = loadSet('binary');
    const peer = json('xgb-binary.expected.json');
    const m = trainGbdt(train, { ...peer.params, num_round: peer.num_round });
    const p = m.predict(test.x);
    expect(rocAuc(test.y, p)).toBeGreaterThan(peer.quality.auc - 0.01);
    expect(logLoss(test.y, p)).toBeLessThan(peer.quality.logloss * 1.05);
  });

  it('reg:squarederror: RMSE within 5% of XGBoost', () => {
    const { train, test } = loadSet('regression');
    const peer = json('xgb-regression.expected.json');
    const m = trainGbdt(train, { ...peer.params, num_round: peer.num_round });
    expect(rmse(test.y, m.predict(test.x))).toBeLessThan(peer.quality.rmse * 1.05);
  });

  it('multi:softprob: mlogloss within 5% of XGBoost and rows sum to 1', () => {
    const { train, test } = loadSet('multiclass');
    const peer = json('xgb-multiclass.expected.json');
    const m = trainGbdt(train, { ...peer.params, num_round: peer.num_round });
    const p = m.predict(test.x);
    expect(p.length).toBe(test.x.rows * 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 12);
    expect(logLoss(test.y, p, { numClass: 3 })).toBeLessThan(peer.quality.mlogloss * 1.05);
  });
});

describe('trainGbdt behaviour', () => {
  const { train, test } = loadSet('binary');
  const base = { objective: 'binary:logistic', num_round: 10, max_depth: 3, eta: 0.3 };

  it('accepts SageMaker string hyperparameters and gives the same model as numbers', () => {
    const a = trainGbdt(train, base);
    const b = trainGbdt(train, { objective: 'binary:logistic', num_round: '10', max_depth: '3', eta: '0.3' });
    expect(b.predict(test.x)).toEqual(a.predict(test.x));
  });

  it('nthread=2 over worker_threads grows bit-identical trees to nthread=1', () => {
    const params = { ...base, num_round: 5, max_depth: 5, subsample: 0.8, colsample_bytree: 0.7, seed: 3 };
    const one = trainGbdt(train, params);
    const two = trainGbdt(train, { ...params, nthread: 2 }, { workerFactory: nodeWorkerFactory });
    expect(two.info?.threads).toBe(2);
    expect(one.info?.threads).toBe(1);
    expect(JSON.stringify(two.toJSON())).toBe(JSON.stringify(one.toJSON()));
  });

  it('nthread=2 and 3 grow bit-identical trees on data large enough to split every task', () => {
    // 40k rows × 9 features (odd: feature ranges of the parts cut through 4-feature words), with missing
    // values and weights, so gradients, partitions, histograms and leaf updates all run in parts.
    const n = 40_000;
    const d = 9;
    let s = 12345;
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const cols = Array.from({ length: d }, () => new Float32Array(n));
    const y = new Float32Array(n);
    const yk = new Float32Array(n);
    const weight = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let f = 0; f < d; f++) {
        const v = rnd();
        cols[f]![i] = f % 3 === 1 && rnd() < 0.1 ? Number.NaN : v;
        z += (f % 2 === 0 ? 1 : -0.5) * v * v;
      }
      y[i] = z + 0.3 * rnd() > 1.4 ? 1 : 0;
      yk[i] = Math.max(0, Math.min(2, Math.floor(z + rnd())));
      weight[i] = 0.5 + rnd();
    }
    const x = DenseMatrix.fromColumns(cols);
    const runs: [Record<string, number | string>, Float32Array][] = [
      [{ objective: 'binary:logistic', num_round: 4, max_depth: 6 }, y],
      [
        { objective: 'reg:squarederror', num_round: 3, max_depth: 4, subsample: 0.7, colsample_bytree: 0.6 },
        y,
      ],
      [{ objective: 'multi:softprob', num_class: 3, num_round: 2, max_depth: 4 }, yk],
      [
        {
          objective: 'binary:logistic',
          num_round: 3,
          grow_policy: 'lossguide',
          max_leaves: 12,
          max_depth: 0,
        },
        y,
      ],
    ];
    for (const [params, labels] of runs) {
      const data = { x, y: labels, weight };
      const one = JSON.stringify(trainGbdt(data, params).toJSON());
      for (const nthread of [2, 3]) {
        const m = trainGbdt(data, { ...params, nthread }, { workerFactory: nodeWorkerFactory });
        expect(m.info?.threads).toBe(nthread);
        expect(JSON.stringify(m.toJSON())).toBe(one);
      }
    }
  });

  it('learns a default direction for missing values', () => {
    // y = 1 exactly when feature 0 is missing: only the default direction can separate it.
    const n = 400;
    const col = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3 === 0 ? 1 : 0;
      col[i] = y[i] === 1 ? Number.NaN : (i % 17) / 17;
    }
    const x = DenseMatrix.fromColumns([col]);
    const m = trainGbdt({ x, y }, { objective: 'binary:logistic', num_round: 20, max_depth: 2 });
    expect(m.predictRow([Number.NaN])[0]).toBeGreaterThan(0.9);
    expect(m.predictRow([0.5])[0]).toBeLessThan(0.1);
  });

  it('predictRow equals batch predict for every test row', () => {
    const m = trainGbdt(train, base);
    const p = m.predict(test.x);
    const row = new Float32Array(test.x.cols);
    const out = new Float64Array(1);
    for (let i = 0; i < test.x.rows; i++) expect(m.predictRow(test.x.row(i, row), out)[0]).toBe(p[i]);
  });

  it('batch predict, on one thread and through a 3-thread pool, equals predictRow for shallow (complete layout) and deep trees, with missing values', () => {
    // Tree 1: a chain of depth 12 on feature 0 (too deep for the complete layout); tree 2: depth 1 on feature 1.
    const depth = 12;
    const m = 2 * depth + 1;
    const chain = {
      left: new Array(m).fill(-1),
      right: new Array(m).fill(-1),
      feature: new Array(m).fill(-1),
      threshold: new Array(m).fill(0),
      defaultLeft: new Array(m).fill(0),
      value: Array.from({ length: m }, (_, j) => j / 10),
      gain: new Array(m).fill(0),
      cover: new Array(m).fill(1),
    };
    for (let j = 0; j < depth; j++) {
      const node = 2 * j;
      chain.left[node] = 2 * j + 1;
      chain.right[node] = 2 * j + 2;
      chain.feature[node] = 0;
      chain.threshold[node] = j;
      chain.defaultLeft[node] = j % 2;
    }
    const stump = {
      left: [1, -1, -1],
      right: [2, -1, -1],
      feature: [1, -1, -1],
      threshold: [0.5, 0, 0],
      defaultLeft: [1, 0, 0],
      value: [0, -1, 1],
      gain: [0, 0, 0],
      cover: [1, 1, 1],
    };
    const json = {
      format: 'trainyard-ml' as const,
      kind: 'gbdt' as const,
      version: 1,
      objective: 'reg:squarederror' as const,
      numClass: 1,
      numFeatures: 2,
      baseScore: 0.5,
      baseMargin: 0.5,
      treeClass: [0, 0],
      trees: [chain, stump],
    };
    // Enough rows (not a multiple of the 128-row block) for the pool to cut them into ranges.
    const rows = Array.from({ length: 5003 }, (_, i) => [
      i % 7 === 0 ? null : (i % 15) - 0.5,
      i % 5 === 0 ? null : (i % 3) / 2,
    ]);
    const x = DenseMatrix.fromRows(rows);
    const pool = nodePredictPool(3);
    try {
      for (const model of [
        GbdtModel.fromJSON(json),
        GbdtModel.fromJSON({ ...json, trees: [stump, stump] }),
      ]) {
        const p = model.predict(x);
        for (let i = 0; i < rows.length; i++)
          expect(model.predictRow(rows[i]!.map((v) => (v === null ? Number.NaN : v)))[0]).toBe(p[i]);
        expect(Array.from(model.predict(x, { pool }))).toEqual(Array.from(p));
      }
      // A trained multiclass model (complete layout, several outputs per row) on the fixture rows.
      const multi = trainGbdt(train, { objective: 'multi:softprob', num_class: 2, num_round: 5 });
      const big = DenseMatrix.fromColumns(
        Array.from({ length: test.x.cols }, (_, j) => {
          const c = test.x.column(j);
          return Float32Array.from({ length: 50_000 }, (_, i) => c[i % c.length]!);
        }),
      );
      expect(Array.from(multi.predict(big, { pool }))).toEqual(Array.from(multi.predict(big)));
      // The pool reuses its input and margin buffers: a smaller batch of other rows after the big one (the
      // rest of the buffers still holds the big batch), then the first model's rows again.
      const small = DenseMatrix.fromColumns(
        Array.from({ length: test.x.cols }, (_, j) => {
          const c = test.x.column(j);
          return Float32Array.from({ length: 4099 }, (_, i) => c[(7 * i + 3) % c.length]!);
        }),
      );
      expect(Array.from(multi.predict(small, { pool }))).toEqual(Array.from(multi.predict(small)));
      // Blocks without a missing value take the plain-comparison walk (eight rows, then four, then one).
      const dense = DenseMatrix.fromColumns(
        Array.from({ length: test.x.cols }, (_, j) => {
          const c = test.x.column(j);
          return Float32Array.from({ length: 1003 }, (_, i) => {
            const v = c[(5 * i + j) % c.length]!;
            return Number.isNaN(v) ? 0.25 * j : v;
          });
        }),
      );
      const pd = multi.predict(dense);
      for (let i = 0; i < dense.rows; i++)
        expect(Array.from(multi.predictRow(dense.row(i)))).toEqual(Array.from(pd.subarray(2 * i, 2 * i + 2)));
      expect(Array.from(multi.predict(dense, { pool }))).toEqual(Array.from(pd));
      const again = GbdtModel.fromJSON(json);
      expect(Array.from(again.predict(x, { pool }))).toEqual(Array.from(again.predict(x)));
    } finally {
      pool.close();
    }
  });

  it('early stopping keeps the best iteration on the validation set', () => {
    const m = trainGbdt(
      train,
      { ...base, num_round: 300, eta: 0.5, max_depth: 6, eval_metric: 'logloss', early_stopping_rounds: 5 },
      { validation: test },
    );
    const hist = m.info!.evals.logloss!;
    expect(hist.length).toBeLessThan(300);
    expect(hist.length).toBe(m.info!.bestIteration + 6);
    expect(m.trees.length).toBe(m.info!.bestIteration + 1);
    expect(Math.min(...hist)).toBe(hist[m.info!.bestIteration]);
    expect(logLoss(test.y, m.predict(test.x))).toBeCloseTo(m.info!.bestScore!, 10);
  });

  it('lossguide respects max_leaves', () => {
    const m = trainGbdt(train, { ...base, grow_policy: 'lossguide', max_leaves: 5, max_depth: 0 });
    for (const t of m.trees) expect(t.left.filter((l) => l < 0).length).toBeLessThanOrEqual(5);
    expect(rocAuc(test.y, m.predict(test.x))).toBeGreaterThan(0.85);
  });

  it('gamma prunes low-gain splits and min_child_weight bounds leaf cover', () => {
    const loose = trainGbdt(train, base);
    const pruned = trainGbdt(train, { ...base, gamma: 5 });
    const count = (m: GbdtModel) => m.trees.reduce((s, t) => s + t.left.length, 0);
    expect(count(pruned)).toBeLessThan(count(loose));
    // As XGBoost's pruner: a split survives below gamma only when a child split was worth keeping.
    for (const t of pruned.trees) {
      for (let j = 0; j < t.left.length; j++) {
        const l = t.left[j]!;
        if (l >= 0 && t.left[l]! < 0 && t.left[t.right[j]!]! < 0) expect(t.gain[j]).toBeGreaterThanOrEqual(5);
      }
    }
    const heavy = trainGbdt(train, { ...base, min_child_weight: 20 });
    for (const t of heavy.trees)
      for (let j = 0; j < t.left.length; j++) expect(t.cover[j]).toBeGreaterThanOrEqual(20);
  });

  it('feature importance by weight counts splits; gain and cover are per-split averages', () => {
    const m = trainGbdt(train, base);
    const w = m.featureImportance('weight');
    const splits = m.trees.reduce((s, t) => s + t.left.filter((l) => l >= 0).length, 0);
    expect(w.reduce((a, b) => a + b, 0)).toBe(splits);
    const tg = m.featureImportance('total_gain');
    const g = m.featureImportance('gain');
    for (let f = 0; f < w.length; f++) expect(g[f]).toBeCloseTo(w[f]! > 0 ? tg[f]! / w[f]! : 0, 9);
    expect(m.featureImportance('cover').every((c) => c >= 0)).toBe(true);
  });

  it('save/load round-trip predicts bit-identically', () => {
    const m = trainGbdt(train, { ...base, objective: 'multi:softprob', num_class: 2 });
    const back = GbdtModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predict(test.x)).toEqual(m.predict(test.x));
  });

  it('supports the other objectives', () => {
    const { train: rt, test: re } = loadSet('regression');
    const sq = trainGbdt(rt, { num_round: 30, eta: 0.3 });
    const abs = trainGbdt(rt, { objective: 'reg:absoluteerror', num_round: 30, eta: 0.3 });
    const mean = rt.y.reduce((a, b) => a + b, 0) / rt.y.length;
    const rmseMean = rmse(re.y, new Float64Array(re.y.length).fill(mean));
    expect(rmse(re.y, sq.predict(re.x))).toBeLessThan(rmseMean * 0.5);
    expect(rmse(re.y, abs.predict(re.x))).toBeLessThan(rmseMean * 0.6);
    const counts = Float32Array.from(rt.y, (v) => Math.round(Math.abs(v)));
    const pois = trainGbdt({ x: rt.x, y: counts }, { objective: 'count:poisson', num_round: 30 });
    expect(pois.predict(re.x).every((v) => v > 0)).toBe(true);
    const soft = trainGbdt(train, { objective: 'multi:softmax', num_class: 2, num_round: 10 });
    expect(new Set(soft.predict(test.x))).toEqual(new Set([0, 1]));
    const rl = trainGbdt(train, { objective: 'reg:logistic', num_round: 10, scale_pos_weight: 2 });
    expect(rl.predict(test.x).every((v) => v > 0 && v < 1)).toBe(true);
  });
});

describe('trainGbdt input errors', () => {
  const x = DenseMatrix.fromRows([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const err = (fn: () => unknown, field: string) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(MlInputError);
      expect((e as MlInputError).field).toBe(field);
      return;
    }
    throw new Error('expected an MlInputError');
  };
  it('names the field', () => {
    err(() => trainGbdt({ x, y: [0, 1] }), 'train.y');
    err(() => trainGbdt({ x, y: [0, 1, 3] }, { objective: 'multi:softprob', num_class: 3 }), 'train.y');
    err(() => trainGbdt({ x, y: [0, 1, 2] }, { objective: 'binary:logistic' }), 'train.y');
    err(() => trainGbdt({ x, y: [0, 1, 1] }, { eta: 'abc' }), 'eta');
    err(() => trainGbdt({ x, y: [0, 1, 1] }, { eta: Number.POSITIVE_INFINITY }), 'eta');
    err(() => trainGbdt({ x, y: [0, 1, 1] }, { max_bin: 300 }), 'max_bin');
    err(() => trainGbdt({ x, y: [0, 1, 1] }, { objective: 'multi:softprob' }), 'num_class');
    err(() => trainGbdt({ x, y: [0, 1, 1] }, { early_stopping_rounds: 3 }), 'early_stopping_rounds');
    err(() => trainGbdt({ x: DenseMatrix.fromRows([]), y: [] }), 'train');
    err(() => trainGbdt({ x, y: [0, Number.NaN, 1] }), 'train.y');
    const m = trainGbdt({ x, y: [0, 1, 1] }, { num_round: 2 });
    err(() => m.predict(DenseMatrix.fromRows([[1, 2, 3]])), 'x');
    err(() => m.predictRow([1]), 'row');
  });
});
