#!/usr/bin/env node
// Trainyard GBDT vs XGBoost 1.7 hist, same data, same settings, alternating run by run in one process pair.
// Build first: npx tsc -b packages/ml ; then: node bench/gbdt/run.mjs [--threads 1,2] [--runs 5] [--only binary]
// Each training and each batch prediction alternates between ours and XGBoost (who goes first alternates
// too); figures are medians and ranges over the runs, with the 1-minute load average taken before each run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DenseMatrix } from '../../packages/ml/dist/data/matrix.js';
import { trainGbdt } from '../../packages/ml/dist/gbdt/gbdt.js';
import { nodePredictPool, nodeWorkerFactory } from '../../packages/ml/dist/gbdt/node-workers.js';
import { rocAuc } from '../../packages/ml/dist/metrics/ranking.js';
import { rmse } from '../../packages/ml/dist/metrics/regression.js';
import { alternate, load1, PeerProcess, stats } from './alternate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', 'data', 'gbdt');
const PY = '/usr/bin/python3';
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const threads = arg('threads', '1,2').split(',').map(Number);
const runs = Number(arg('runs', '5'));
const predictRuns = Number(arg('predict-runs', '7'));
const only = arg('only', 'binary,regression').split(',');

if (!existsSync(join(dataDir, 'meta.json')))
  execFileSync(PY, [join(here, 'peer.py'), 'data', dataDir], { stdio: 'inherit' });

function load(name, part) {
  const xb = readFileSync(join(dataDir, `${name}_${part}.x.f32`));
  const yb = readFileSync(join(dataDir, `${name}_${part}.y.f32`));
  const rowMajor = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
  const y = new Float32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.byteLength));
  return { x: DenseMatrix.fromRowMajor(rowMajor, y.length, 28), y };
}

const sets = {
  binary: { objective: 'binary:logistic', quality: 'auc' },
  regression: { objective: 'reg:squarederror', quality: 'rmse' },
};
const peer = new PeerProcess(PY, [join(here, 'peer.py'), 'serve', dataDir]);
const r4 = (v) => +v.toPrecision(4);
try {
  for (const name of only) {
    const s = sets[name];
    const tr = load(name, 'train');
    const te = load(name, 'test');
    for (const nt of threads) {
      const hp = {
        objective: s.objective,
        num_round: 100,
        max_depth: 6,
        eta: 0.1,
        max_bin: 256,
        nthread: nt,
      };
      let model;
      let peerQuality;
      const train = await alternate(
        runs,
        () => {
          const t = performance.now();
          const c = process.cpuUsage();
          model = trainGbdt({ x: tr.x, y: tr.y }, hp, { workerFactory: nodeWorkerFactory });
          const u = process.cpuUsage(c);
          return { s: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
        },
        async () => {
          const r = await peer.ask({ op: 'train', set: name, threads: nt });
          peerQuality = r.quality;
          return { s: r.train_s, cpu: r.cpu_s };
        },
      );
      const pool = nodePredictPool(nt);
      let pred;
      pred = model.predict(te.x, { pool });
      const predict = await alternate(
        predictRuns,
        () => {
          const t = performance.now();
          pred = model.predict(te.x, { pool });
          return { s: (performance.now() - t) / 1000 };
        },
        async () => ({ s: (await peer.ask({ op: 'predict', set: name, threads: nt })).predict_s }),
      );
      pool.close();
      const row = new Float32Array(28);
      const out = new Float64Array(1);
      const n1 = 20000;
      const singleLoad = load1();
      const t = performance.now();
      for (let i = 0; i < n1; i++) {
        te.x.row(i % te.x.rows, row);
        model.predictRow(row, out);
      }
      const singleUs = ((performance.now() - t) * 1000) / n1;
      const peerSingle = (await peer.ask({ op: 'single', set: name })).single_row_us;
      const q = s.quality === 'auc' ? rocAuc(te.y, pred) : rmse(te.y, pred);
      const res = {
        set: name,
        threads: nt,
        usedThreads: model.info.threads,
        // Per-run ratios pair each of our runs with the peer run next to it (same load).
        train_ratio: stats(
          train.map((r) => r.ours.s / r.peer.s),
          3,
        ),
        ours_train_s: stats(train.map((r) => r.ours.s)),
        xgb_train_s: stats(train.map((r) => r.peer.s)),
        train_runs: train.map((r) => [r4(r.ours.s), r4(r.peer.s), r.ours.load]),
        // CPU seconds (all threads of each process): less sensitive to other tenants than wall time at
        // 1 thread; at 2 threads it also counts time spent waiting in spin loops (ours and OpenMP's).
        train_cpu_ratio: stats(
          train.map((r) => r.ours.cpu / r.peer.cpu),
          3,
        ),
        ours_train_cpu_s: stats(train.map((r) => r.ours.cpu)),
        xgb_train_cpu_s: stats(train.map((r) => r.peer.cpu)),
        [`ours_${s.quality}`]: +q.toFixed(5),
        [`xgb_${s.quality}`]: +peerQuality.toFixed(5),
        // Throughput ratio: ours rows/s over XGBoost's (higher is better) = peer time / our time.
        batch_throughput_ratio: stats(
          predict.map((r) => r.peer.s / r.ours.s),
          3,
        ),
        ours_batch_ms: stats(predict.map((r) => r.ours.s * 1000)),
        xgb_batch_ms: stats(predict.map((r) => r.peer.s * 1000)),
        single_row_throughput_ratio: r4(peerSingle / singleUs),
        ours_single_row_us: +singleUs.toFixed(2),
        xgb_single_row_us: +peerSingle.toFixed(2),
        load: stats(
          [...train, ...predict].flatMap((r) => [r.ours.load, r.peer.load]),
          3,
        ),
        single_row_load: singleLoad,
      };
      console.log(JSON.stringify(res));
    }
  }
} finally {
  peer.close();
}
