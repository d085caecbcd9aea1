#!/usr/bin/env node
// Trainyard linear learner / k-means / PCA vs scikit-learn on the same data in the same run.
// Build first: npx tsc -b packages/ml ; then: node bench/ml/run.mjs [--threads 1]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainKMeans } from '../../packages/ml/dist/cluster/kmeans.js';
import { DenseMatrix } from '../../packages/ml/dist/data/matrix.js';
import { trainPca } from '../../packages/ml/dist/decomposition/pca.js';
import { trainLinearLearner } from '../../packages/ml/dist/linear/linear-learner.js';
import { logLoss } from '../../packages/ml/dist/metrics/classification.js';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', 'data', 'gbdt');
const PY = '/usr/bin/python3';
const i = process.argv.indexOf('--threads');
const threads = i > 0 ? process.argv[i + 1] : '1';
if (!existsSync(join(dataDir, 'meta.json'))) {
  execFileSync(PY, [join(here, '..', 'gbdt', 'peer.py'), 'data', dataDir], { stdio: 'inherit' });
}
function load(part) {
  const xb = readFileSync(join(dataDir, `binary_${part}.x.f32`));
  const yb = readFileSync(join(dataDir, `binary_${part}.y.f32`));
  const y = new Float32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.byteLength));
  return {
    x: DenseMatrix.fromRowMajor(new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4), y.length, 28),
    y,
  };
}
const tr = load('train');
const te = load('test');
const peer = Object.fromEntries(
  execFileSync(PY, [join(here, 'peer.py'), dataDir, threads], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => [r.algo, r]),
);
function best(fn, repeat = 3) {
  let t = Number.POSITIVE_INFINITY;
  let out;
  for (let r = 0; r < repeat; r++) {
    const s = performance.now();
    out = fn();
    t = Math.min(t, (performance.now() - s) / 1000);
  }
  return [out, t];
}
const rows = [];
{
  // sklearn's C = 1 is an L2 penalty of 1 / n on the row-averaged loss.
  const [m, t] = best(() =>
    trainLinearLearner(tr, { predictor_type: 'binary_classifier', optimizer: 'lbfgs', wd: 1 / tr.y.length }),
  );
  const ll = logLoss(te.y, m.predict(te.x));
  rows.push({
    algo: 'linear learner (L-BFGS) vs LogisticRegression',
    time_ratio: t / peer.logistic.train_s,
    quality: 'test log loss',
    ours: ll,
    peer: peer.logistic.logloss,
    quality_ratio: ll / peer.logistic.logloss,
    ours_s: t,
    peer_s: peer.logistic.train_s,
  });
}
{
  const [m, t] = best(() => trainKMeans(tr.x, { k: 8, seed: 0 }));
  rows.push({
    algo: 'k-means k=8 (k-means++, Lloyd) vs KMeans',
    time_ratio: t / peer.kmeans.train_s,
    quality: 'inertia',
    ours: m.info.inertia,
    peer: peer.kmeans.inertia,
    quality_ratio: m.info.inertia / peer.kmeans.inertia,
    ours_s: t,
    peer_s: peer.kmeans.train_s,
    ours_iter: m.info.iterations,
    peer_iter: peer.kmeans.iterations,
  });
}
{
  const [m, t] = best(() => trainPca(tr.x, { num_components: 5 }));
  const ev = m.explainedVariance.reduce((a, b) => a + b, 0);
  rows.push({
    algo: 'PCA 5 components (regular) vs PCA',
    time_ratio: t / peer.pca.train_s,
    quality: 'explained variance',
    ours: ev,
    peer: peer.pca.explained_variance,
    quality_ratio: ev / peer.pca.explained_variance,
    ours_s: t,
    peer_s: peer.pca.train_s,
  });
}
for (const r of rows) {
  for (const k of Object.keys(r)) if (typeof r[k] === 'number') r[k] = +r[k].toPrecision(5);
  console.log(JSON.stringify(r));
}
