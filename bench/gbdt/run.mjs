#!/usr/bin/env node
// Trainyard GBDT vs XGBoost 1.7 hist, same data, same settings, same run.
// Build first: npx tsc -b packages/ml ; then: node bench/gbdt/run.mjs [--threads 1,2] [--repeat 1] [--only binary]
// Train times are medians over --repeat runs (both sides); batch prediction is the median of 5.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DenseMatrix } from '../../packages/ml/dist/data/matrix.js';
import { trainGbdt } from '../../packages/ml/dist/gbdt/gbdt.js';
import { nodeWorkerFactory } from '../../packages/ml/dist/gbdt/node-workers.js';
import { rocAuc } from '../../packages/ml/dist/metrics/ranking.js';
import { rmse } from '../../packages/ml/dist/metrics/regression.js';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', 'data', 'gbdt');
const PY = '/usr/bin/python3';
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const threads = arg('threads', '1,2').split(',').map(Number);
const repeat = Number(arg('repeat', '1'));
const only = arg('only', 'binary,regression').split(',');

if (!existsSync(join(dataDir, 'meta.json')))
  execFileSync(PY, [join(here, 'peer.py'), 'data', dataDir], { stdio: 'inherit' });

function load(name, part) {
  const xb = readFileSync(join(dataDir, `${name}_${part}.x.f32`));
  const yb = readFileSync(join(dataDir, `${name}_${part}.y.f32`));
  const rowMajor = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
  const y = new Float32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.byteLength));
  return { x: DenseMatrix.fromRowMajor(rowMajor, y.length, 28), y, rowMajor };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sets = {
  binary: { objective: 'binary:logistic', quality: 'auc' },
  regression: { objective: 'reg:squarederror', quality: 'rmse' },
};
const results = [];
for (const nt of threads) {
  const peer = execFileSync(PY, [join(here, 'peer.py'), 'xgb', dataDir, String(nt), String(repeat)], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  for (const name of only) {
    const s = sets[name];
    const tr = load(name, 'train');
    const te = load(name, 'test');
    const hp = { objective: s.objective, num_round: 100, max_depth: 6, eta: 0.1, max_bin: 256, nthread: nt };
    const times = [];
    let model;
    for (let r = 0; r < repeat; r++) {
      const t = performance.now();
      model = trainGbdt({ x: tr.x, y: tr.y }, hp, { workerFactory: nodeWorkerFactory });
      times.push((performance.now() - t) / 1000);
    }
    const best = median(times);
    model.predict(te.x);
    const batchTimes = [];
    let pred;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      pred = model.predict(te.x);
      batchTimes.push((performance.now() - t) / 1000);
    }
    const batchS = median(batchTimes);
    const row = new Float32Array(28);
    const out = new Float64Array(1);
    const n1 = 20000;
    const t = performance.now();
    for (let i = 0; i < n1; i++) {
      te.x.row(i % te.x.rows, row);
      model.predictRow(row, out);
    }
    const singleUs = ((performance.now() - t) * 1000) / n1;
    const q = s.quality === 'auc' ? rocAuc(te.y, pred) : rmse(te.y, pred);
    const p = peer.find((r) => r.set === name);
    const res = {
      set: name,
      threads: nt,
      usedThreads: model.info.threads,
      ours_train_s: +best.toFixed(3),
      ours_train_all_s: times.map((v) => +v.toFixed(3)),
      xgb_train_all_s: p.train_all_s.map((v) => +v.toFixed(3)),
      xgb_train_s: +p.train_s.toFixed(3),
      train_ratio: +(best / p.train_s).toFixed(3),
      [`ours_${s.quality}`]: +q.toFixed(5),
      [`xgb_${s.quality}`]: +p.quality.toFixed(5),
      batch_throughput_ratio: +(te.x.rows / batchS / p.batch_rows_per_s).toFixed(3),
      single_row_throughput_ratio: +(p.single_row_us / singleUs).toFixed(3),
      ours_single_row_us: +singleUs.toFixed(2),
      xgb_single_row_us: +p.single_row_us.toFixed(2),
    };
    results.push(res);
    console.log(JSON.stringify(res));
  }
}
