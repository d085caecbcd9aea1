#!/usr/bin/env node
// Trainyard's Bayesian strategy vs Optuna 3.1's TPE (Debian's python3-optuna), same budget, same
// objective evaluations: 40 trials proposed in batches of 4 (4 parallel slots, each batch told
// before the next is asked), 10 seeds per problem, on Branin, Hartmann-6 and a GBDT validation AUC.
// The strategies run in-process against the functions (no training jobs): this measures the search,
// not the job system. Optuna runs in a peer process that only asks and tells; both sides' objective
// values come from this process.
// Build first: npx tsc -b ; then: node bench/tuning/run.mjs [--seeds 10] [--trials 40] [--parallel 4] [--only branin,hartmann6,gbdt]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SearchSpace } from '../../packages/core/dist/tuning/tuning-space.js';
import { proposeTrials } from '../../packages/core/dist/tuning/tuning-strategies.js';
import { DenseMatrix } from '../../packages/ml/dist/data/matrix.js';
import { trainGbdt } from '../../packages/ml/dist/gbdt/gbdt.js';
import { rocAuc } from '../../packages/ml/dist/metrics/ranking.js';
import { load1, median, PeerProcess, stats } from '../gbdt/alternate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const seeds = Number(arg('seeds', '10'));
const budget = Number(arg('trials', '40'));
const parallel = Number(arg('parallel', '4'));
const only = arg('only', 'branin,hartmann6,gbdt').split(',');

function branin(v) {
  const x1 = Number(v.x1);
  const x2 = Number(v.x2);
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
}
const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const ALPHA = [1, 1.2, 3, 3.2];
function hartmann6(v) {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    let e = 0;
    for (let j = 0; j < 6; j++) e += A[i][j] * (Number(v[`x${j}`]) - P[i][j] * 1e-4) ** 2;
    s += ALPHA[i] * Math.exp(-e);
  }
  return -s;
}

/** A small, noisy, non-linear binary problem (deterministic): 1500 train rows, 1500 validation rows, 12 features. */
function gbdtData() {
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const make = (n) => {
    const cols = 12;
    const x = new Float32Array(n * cols);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const r = Array.from({ length: cols }, () => rnd() * 4 - 2);
      r.forEach((v, j) => {
        x[i * cols + j] = v;
      });
      const z =
        Math.sin(r[0] * 1.5) +
        r[1] * r[2] -
        0.7 * r[3] ** 2 +
        0.5 * (r[4] > 0.5 ? 1 : -1) +
        (rnd() - 0.5) * 2.2;
      y[i] = z > 0 ? 1 : 0;
    }
    return { x: DenseMatrix.fromRowMajor(x, n, cols), y };
  };
  return { train: make(1500), validation: make(1500) };
}
let data;
function gbdtAuc(v) {
  data ??= gbdtData();
  const model = trainGbdt(data.train, {
    objective: 'binary:logistic',
    num_round: '40',
    nthread: '1',
    eta: v.eta,
    max_depth: v.max_depth,
    min_child_weight: v.min_child_weight,
    subsample: v.subsample,
    colsample_bytree: v.colsample_bytree,
    lambda: v.lambda,
  });
  return rocAuc(data.validation.y, model.predict(data.validation.x));
}

const problems = {
  branin: {
    f: branin,
    direction: 'Minimize',
    optimum: 0.397887,
    dims: [
      { kind: 'Continuous', name: 'x1', min: -5, max: 10, scaling: 'Linear' },
      { kind: 'Continuous', name: 'x2', min: 0, max: 15, scaling: 'Linear' },
    ],
  },
  hartmann6: {
    f: hartmann6,
    direction: 'Minimize',
    optimum: -3.32237,
    dims: [0, 1, 2, 3, 4, 5].map((i) => ({
      kind: 'Continuous',
      name: `x${i}`,
      min: 0,
      max: 1,
      scaling: 'Linear',
    })),
  },
  gbdt: {
    f: gbdtAuc,
    direction: 'Maximize',
    dims: [
      { kind: 'Continuous', name: 'eta', min: 0.01, max: 0.5, scaling: 'Logarithmic' },
      { kind: 'Integer', name: 'max_depth', min: 1, max: 10, scaling: 'Linear' },
      { kind: 'Continuous', name: 'min_child_weight', min: 0.1, max: 50, scaling: 'Logarithmic' },
      { kind: 'Continuous', name: 'subsample', min: 0.5, max: 1, scaling: 'Linear' },
      { kind: 'Continuous', name: 'colsample_bytree', min: 0.3, max: 1, scaling: 'Linear' },
      { kind: 'Continuous', name: 'lambda', min: 0.001, max: 100, scaling: 'Logarithmic' },
    ],
  },
};

const better = (dir, a, b) => (dir === 'Maximize' ? a > b : a < b);
const cache = new Map();
/** The objective, memoised by problem and values: both tuners see identical evaluations. */
function evaluate(name, values) {
  const key = `${name}:${JSON.stringify(values)}`;
  if (!cache.has(key)) cache.set(key, problems[name].f(values));
  return cache.get(key);
}

function runTrainyard(name, seed) {
  const p = problems[name];
  const space = new SearchSpace(p.dims);
  const observations = [];
  let tunerS = 0;
  while (observations.length < budget) {
    const t = performance.now();
    const batch = proposeTrials(
      {
        space,
        strategy: 'Bayesian',
        direction: p.direction,
        observations,
        pending: [],
        trialIndex: observations.length,
        seed,
        budget,
      },
      Math.min(parallel, budget - observations.length),
    );
    tunerS += (performance.now() - t) / 1000;
    for (const values of batch) observations.push({ values, objective: evaluate(name, values) });
  }
  let best = observations[0].objective;
  for (const o of observations) if (better(p.direction, o.objective, best)) best = o.objective;
  return { best, tunerS };
}

async function runOptuna(peer, name, seed) {
  const p = problems[name];
  await peer.ask({ op: 'start', seed, direction: p.direction, space: p.dims });
  let best;
  let tunerS = 0;
  for (let done = 0; done < budget; ) {
    const n = Math.min(parallel, budget - done);
    const { trials } = await peer.ask({ op: 'ask', n });
    const results = trials.map((tr) => {
      const value = evaluate(name, tr.values);
      if (best === undefined || better(p.direction, value, best)) best = value;
      return [tr.number, value];
    });
    tunerS = (await peer.ask({ op: 'tell', results })).tuner_s;
    done += n;
  }
  return { best, tunerS };
}

const peer = new PeerProcess('/usr/bin/python3', [join(here, 'optuna-peer.py')]);
const r4 = (v) => +v.toPrecision(4);
const out = [];
try {
  for (const name of only) {
    const p = problems[name];
    const ours = [];
    const theirs = [];
    const loads = [];
    for (let seed = 1; seed <= seeds; seed++) {
      loads.push(load1());
      // Alternate who goes first, so neither side always runs on a warmer or quieter machine.
      if (seed % 2) {
        ours.push(runTrainyard(name, seed));
        theirs.push(await runOptuna(peer, name, seed));
      } else {
        theirs.push(await runOptuna(peer, name, seed));
        ours.push(runTrainyard(name, seed));
      }
    }
    const oursBest = median(ours.map((r) => r.best));
    const theirBest = median(theirs.map((r) => r.best));
    const row = {
      problem: name,
      direction: p.direction,
      trials: budget,
      parallel,
      seeds,
      trainyard_median_best: r4(oursBest),
      optuna_median_best: r4(theirBest),
      trainyard_best_range: stats(ours.map((r) => r.best)),
      optuna_best_range: stats(theirs.map((r) => r.best)),
      // Ratio of median bests (ours / Optuna's); for Minimize problems with a known optimum also the
      // ratio of median regrets (best - optimum): below 1 means Trainyard got closer.
      best_ratio: r4(oursBest / theirBest),
      wins: ours.filter((r, i) => !better(p.direction, theirs[i].best, r.best)).length,
      trainyard_tuner_ms_per_trial: stats(
        ours.map((r) => (r.tunerS * 1000) / budget),
        3,
      ),
      optuna_tuner_ms_per_trial: stats(
        theirs.map((r) => (r.tunerS * 1000) / budget),
        3,
      ),
      load1: stats(loads, 3),
    };
    if (p.optimum !== undefined) {
      row.trainyard_median_regret = r4(median(ours.map((r) => r.best - p.optimum)));
      row.optuna_median_regret = r4(median(theirs.map((r) => r.best - p.optimum)));
      row.regret_ratio = r4(row.trainyard_median_regret / row.optuna_median_regret);
    } else {
      row.trainyard_median_1_minus_auc = r4(1 - oursBest);
      row.optuna_median_1_minus_auc = r4(1 - theirBest);
      row.error_ratio = r4((1 - oursBest) / (1 - theirBest));
    }
    out.push(row);
    console.log(JSON.stringify(row));
  }
} finally {
  peer.close();
}
