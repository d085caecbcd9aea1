#!/usr/bin/env node
// Trainyard linear learner / k-means / PCA vs scikit-learn on the same data, alternating run by run.
// Build first: npx tsc -b packages/ml ; then: node bench/ml/run.mjs [--threads 1] [--runs 5] [--seeds 0,1,2,3,4]
// [--warmup 1] [--only linear,kmeans,pca]
// Each algorithm runs `runs` times on both sides (k-means: once per seed, seeds 0-4 by default, the same
// seed on both sides), ours and the peer alternating and taking turns to go first; the 1-minute load
// average is recorded before every run. Ratios pair each of our runs with the peer run beside it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainKMeans } from '../../packages/ml/dist/cluster/kmeans.js';
import { DenseMatrix } from '../../packages/ml/dist/data/matrix.js';
import { trainPca } from '../../packages/ml/dist/decomposition/pca.js';
import { trainLinearLearner } from '../../packages/ml/dist/linear/linear-learner.js';
import { logLoss } from '../../packages/ml/dist/metrics/classification.js';
import { alternate, PeerProcess, stats } from '../gbdt/alternate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', 'data', 'gbdt');
const PY = '/usr/bin/python3';
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const threads = arg('threads', '1');
const runs = Number(arg('runs', '5'));
const seeds = arg('seeds', '0,1,2,3,4').split(',').map(Number);
const only = arg('only', 'linear,kmeans,pca').split(',');
// One untimed call per side before each algorithm's runs (--warmup 0 to skip): our first call also pays
// for compiling its code (JS and WebAssembly tiers), which the long-lived peer process has done for its own
// by the time it answers (imports, first-call set-up). Both sides warm up the same way.
const warmup = Number(arg('warmup', '1'));
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
const peer = new PeerProcess(PY, [join(here, 'peer.py'), dataDir, threads]);
const timed = (fn) => {
  const t = performance.now();
  const c = process.cpuUsage();
  const out = fn();
  const u = process.cpuUsage(c);
  return { s: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6, out };
};
const r5 = (v) => +v.toPrecision(5);

function report(algo, quality, runsOut, extra = {}) {
  const res = {
    algo,
    time_ratio: stats(
      runsOut.map((r) => r.ours.s / r.peer.s),
      3,
    ),
    ours_s: stats(runsOut.map((r) => r.ours.s)),
    peer_s: stats(runsOut.map((r) => r.peer.s)),
    // CPU seconds of each side's process: less sensitive than wall time to the other tenants' load.
    cpu_ratio: stats(
      runsOut.map((r) => r.ours.cpu / r.peer.cpu),
      3,
    ),
    quality,
    ours_quality: stats(
      runsOut.map((r) => r.ours.q),
      6,
    ),
    peer_quality: stats(
      runsOut.map((r) => r.peer.q),
      6,
    ),
    quality_ratio: stats(
      runsOut.map((r) => r.ours.q / r.peer.q),
      5,
    ),
    load: stats(
      runsOut.flatMap((r) => [r.ours.load, r.peer.load]),
      3,
    ),
    runs: runsOut.map((r) => [r5(r.ours.s), r5(r.peer.s), r.ours.load]),
    ...extra,
  };
  console.log(JSON.stringify(res));
}

try {
  if (only.includes('linear')) {
    // sklearn's C = 1 is an L2 penalty of 1 / n on the row-averaged loss.
    const fitLinear = () =>
      trainLinearLearner(tr, {
        predictor_type: 'binary_classifier',
        optimizer: 'lbfgs',
        wd: 1 / tr.y.length,
      });
    for (let w = 0; w < warmup; w++) {
      fitLinear();
      await peer.ask({ algo: 'logistic' });
    }
    const out = await alternate(
      runs,
      () => {
        const { s, cpu, out: m } = timed(fitLinear);
        return { s, cpu, q: logLoss(te.y, m.predict(te.x)) };
      },
      async () => {
        const r = await peer.ask({ algo: 'logistic' });
        return { s: r.train_s, cpu: r.cpu_s, q: r.logloss };
      },
    );
    report('linear learner (L-BFGS) vs LogisticRegression', 'test log loss', out);
  }
  if (only.includes('kmeans')) {
    let oursIt = [];
    let peerIt = [];
    for (let w = 0; w < warmup; w++) {
      trainKMeans(tr.x, { k: 8, seed: 1000, epochs: 10 });
      await peer.ask({ algo: 'kmeans', seed: 1000, max_iter: 10 });
    }
    const out = await alternate(
      seeds.length,
      (r) => {
        const { s, cpu, out: m } = timed(() => trainKMeans(tr.x, { k: 8, seed: seeds[r] }));
        oursIt.push(m.info.iterations);
        return { s, cpu, q: m.info.inertia, it: m.info.iterations };
      },
      async (r) => {
        const p = await peer.ask({ algo: 'kmeans', seed: seeds[r] });
        peerIt.push(p.iterations);
        return { s: p.train_s, cpu: p.cpu_s, q: p.inertia, it: p.iterations };
      },
    );
    oursIt = out.map((r) => r.ours.it);
    peerIt = out.map((r) => r.peer.it);
    report(
      'k-means k=8 (greedy k-means++, Lloyd + Hamerly bounds, float32 ranking) vs KMeans(lloyd)',
      'inertia',
      out,
      {
        seeds,
        ours_iterations: oursIt,
        peer_iterations: peerIt,
        // Per pass: time over passes (includes seeding and the final inertia pass on our side).
        ours_ms_per_pass: stats(out.map((r) => (1000 * r.ours.s) / r.ours.it)),
        peer_ms_per_pass: stats(out.map((r) => (1000 * r.peer.s) / r.peer.it)),
        // Per-pass ratio (each side's time over its own pass count, paired run by run): the seeds start the
        // two libraries at different points, so pass counts differ by seed; this separates the pass cost.
        per_pass_ratio: stats(
          out.map((r) => r.ours.s / r.ours.it / (r.peer.s / r.peer.it)),
          3,
        ),
        total_time_ratio: r5(out.reduce((a, r) => a + r.ours.s, 0) / out.reduce((a, r) => a + r.peer.s, 0)),
      },
    );
  }
  if (only.includes('pca')) {
    for (let w = 0; w < warmup; w++) {
      trainPca(tr.x, { num_components: 5 });
      await peer.ask({ algo: 'pca' });
    }
    const out = await alternate(
      runs,
      () => {
        const { s, cpu, out: m } = timed(() => trainPca(tr.x, { num_components: 5 }));
        return { s, cpu, q: m.explainedVariance.reduce((a, b) => a + b, 0) };
      },
      async () => {
        const r = await peer.ask({ algo: 'pca' });
        return { s: r.train_s, cpu: r.cpu_s, q: r.explained_variance };
      },
    );
    report('PCA 5 components (regular) vs PCA(svd_solver=full)', 'explained variance', out);
  }
} finally {
  peer.close();
}
