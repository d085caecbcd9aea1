import { describe, expect, it } from 'vitest';
import { type Dimension, SearchSpace } from './tuning-space.js';
import {
  encodeStoppingReference,
  hyperbandCutoffs,
  hyperbandDecision,
  hyperbandRungs,
  judgeTrial,
  maxHyperParameterValueLength,
  medianReference,
  medianStoppingDecision,
  type Observation,
  parseStoppingReference,
  proposeTrials,
  stopReason,
  type TuningStrategy,
} from './tuning-strategies.js';

/** Branin on x1 ∈ [-5, 10], x2 ∈ [0, 15]; global minimum 0.397887. */
function branin(v: Record<string, string>): number {
  const x1 = Number(v.x1);
  const x2 = Number(v.x2);
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
}

const hA = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const hP = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const hAlpha = [1, 1.2, 3, 3.2];
/** Hartmann-6 on [0, 1]^6; global minimum -3.32237. */
function hartmann6(v: Record<string, string>): number {
  const x = [0, 1, 2, 3, 4, 5].map((i) => Number(v[`x${i}`]));
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += hA[i]![j]! * (x[j]! - hP[i]![j]! * 1e-4) ** 2;
    sum += hAlpha[i]! * Math.exp(-inner);
  }
  return -sum;
}

const braninSpace = new SearchSpace([
  { kind: 'Continuous', name: 'x1', min: -5, max: 10, scaling: 'Linear' },
  { kind: 'Continuous', name: 'x2', min: 0, max: 15, scaling: 'Linear' },
]);
const hartmannSpace = new SearchSpace(
  [0, 1, 2, 3, 4, 5].map(
    (i): Dimension => ({ kind: 'Continuous', name: `x${i}`, min: 0, max: 1, scaling: 'Linear' }),
  ),
);

/** Runs a strategy in batches of `parallel` (proposals of a batch see each other only as pending). */
function tune(
  strategy: TuningStrategy,
  space: SearchSpace,
  f: (v: Record<string, string>) => number,
  budget: number,
  parallel: number,
  seed: number,
  prior: Observation[] = [],
): Observation[] {
  const observations: Observation[] = [];
  while (observations.length < budget) {
    const batch = proposeTrials(
      {
        space,
        strategy,
        direction: 'Minimize',
        observations: [...prior, ...observations],
        pending: [],
        trialIndex: observations.length,
        seed,
        budget,
      },
      Math.min(parallel, budget - observations.length),
    );
    if (batch.length === 0) break;
    for (const values of batch) observations.push({ values, objective: f(values) });
  }
  return observations;
}

const bestOf = (o: Observation[]) => Math.min(...o.map((x) => x.objective));

describe('tuning strategies', () => {
  it('Bayesian finds Branin and Hartmann-6 optima closer than Random at the same budget', () => {
    const seeds = [1, 2, 3];
    const gap = (s: TuningStrategy, space: SearchSpace, f: typeof branin, opt: number) =>
      seeds.map((seed) => bestOf(tune(s, space, f, 24, 4, seed)) - opt).sort((a, b) => a - b)[1]!;
    const braninBayes = gap('Bayesian', braninSpace, branin, 0.397887);
    const braninRandom = gap('Random', braninSpace, branin, 0.397887);
    expect(braninBayes).toBeLessThan(0.2);
    expect(braninBayes).toBeLessThan(braninRandom);
    const hartBayes = gap('Bayesian', hartmannSpace, hartmann6, -3.32237);
    const hartRandom = gap('Random', hartmannSpace, hartmann6, -3.32237);
    expect(hartBayes).toBeLessThan(hartRandom);
  });

  it('Random is reproducible from its seed and stays in range', () => {
    const a = tune('Random', braninSpace, branin, 10, 3, 42);
    const b = tune('Random', braninSpace, branin, 10, 3, 42);
    expect(a).toEqual(b);
    for (const o of a) {
      expect(Number(o.values.x1)).toBeGreaterThanOrEqual(-5);
      expect(Number(o.values.x1)).toBeLessThanOrEqual(10);
    }
    expect(bestOf(tune('Random', braninSpace, branin, 10, 3, 43))).not.toBe(bestOf(a));
  });

  it('Grid proposes every point of its grid exactly once, then nothing', () => {
    const space = new SearchSpace([
      { kind: 'Categorical', name: 'booster', values: ['gbtree', 'dart'] },
      { kind: 'Integer', name: 'max_depth', min: 2, max: 4, scaling: 'Linear' },
      { kind: 'Categorical', name: 'tree_method', values: ['hist', 'exact'] },
    ]);
    const seen = tune('Grid', space, () => 0, 100, 4, 0).map((o) => space.key(o.values));
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
  });

  it('Bayesian rounds integers, keeps categoricals valid and log ranges inside their bounds', () => {
    const space = new SearchSpace([
      { kind: 'Integer', name: 'depth', min: 1, max: 10, scaling: 'Linear' },
      { kind: 'Continuous', name: 'eta', min: 1e-4, max: 1, scaling: 'Logarithmic' },
      { kind: 'Categorical', name: 'kind', values: ['a', 'b', 'c'] },
    ]);
    const f = (v: Record<string, string>) =>
      (Number(v.depth) - 7) ** 2 + (Math.log10(Number(v.eta)) + 2) ** 2 + (v.kind === 'b' ? 0 : 3);
    const trials = tune('Bayesian', space, f, 20, 2, 7);
    for (const t of trials) {
      expect(Number.isInteger(Number(t.values.depth))).toBe(true);
      expect(['a', 'b', 'c']).toContain(t.values.kind);
      expect(Number(t.values.eta)).toBeGreaterThanOrEqual(1e-4);
      expect(Number(t.values.eta)).toBeLessThanOrEqual(1);
    }
    expect(bestOf(trials)).toBeLessThan(1);
    // A parallel batch never repeats a point (constant liar).
    const keys = trials.map((t) => space.key(t.values));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('warm start: prior observations steer the first Bayesian proposals', () => {
    const prior = tune('Bayesian', braninSpace, branin, 16, 4, 5);
    const cold = tune('Bayesian', braninSpace, branin, 4, 4, 9);
    const warm = tune('Bayesian', braninSpace, branin, 4, 4, 9, prior);
    expect(bestOf(warm)).toBeLessThan(bestOf(cold));
  });

  it('median rule stops a trial worse than the median of completed trials at the same step', () => {
    const curve = (values: number[]) => values.map((value, i) => ({ step: i + 1, value }));
    const completed = [curve([0.7, 0.8, 0.85]), curve([0.72, 0.82, 0.86]), curve([0.69, 0.79, 0.84])];
    expect(medianStoppingDecision('Maximize', curve([0.5, 0.52]), completed)).toMatchObject({ step: 2 });
    expect(medianStoppingDecision('Maximize', curve([0.75, 0.83]), completed)).toBeUndefined();
    expect(medianStoppingDecision('Maximize', curve([0.5]), completed.slice(0, 2))).toBeUndefined();
    expect(medianStoppingDecision('Minimize', curve([0.5, 0.52]), completed)).toBeUndefined();
  });

  it('Hyperband keeps the top third at each rung', () => {
    expect(hyperbandRungs(1, 27)).toEqual([1, 3, 9]);
    const curve = (v: number, steps: number) =>
      Array.from({ length: steps }, (_, i) => ({ step: i + 1, value: v }));
    const others = [curve(0.9, 3), curve(0.8, 3), curve(0.7, 3), curve(0.6, 3), curve(0.5, 3)];
    expect(hyperbandDecision('Maximize', [1, 3, 9], curve(0.4, 3), others)).toMatchObject({ rung: 1 });
    expect(hyperbandDecision('Maximize', [1, 3, 9], curve(0.95, 3), others)).toBeUndefined();
    expect(hyperbandDecision('Maximize', [1, 3, 9], curve(0.4, 3), others.slice(0, 1))).toBeUndefined();
  });
});

describe('tuning strategies at scale', () => {
  it('keeps a Bayesian proposal cheap with wide categoricals and hundreds of observations', () => {
    const space = new SearchSpace(
      Array.from(
        { length: 30 },
        (_, i): Dimension => ({
          kind: 'Categorical',
          name: `c${i}`,
          values: Array.from({ length: 30 }, (_, k) => `v${k}`),
        }),
      ),
    );
    const observations: Observation[] = Array.from({ length: 400 }, (_, i) => ({
      values: proposeTrials(
        {
          space,
          strategy: 'Random',
          direction: 'Minimize',
          observations: [],
          pending: [],
          trialIndex: i,
          seed: 1,
          budget: 500,
        },
        1,
      )[0]!,
      objective: (i * 7919) % 101,
    }));
    const started = performance.now();
    const [proposal] = proposeTrials(
      {
        space,
        strategy: 'Bayesian',
        direction: 'Minimize',
        observations,
        pending: [],
        trialIndex: 400,
        seed: 1,
        budget: 500,
      },
      1,
    );
    expect(Object.keys(proposal!)).toHaveLength(30);
    // About 2 s on an idle core; the bound leaves room for a machine shared by many.
    expect(performance.now() - started).toBeLessThan(45_000);
  }, 90_000);
});

describe('stop references handed to a trial at launch', () => {
  const curve = (values: number[]) => values.map((value, i) => ({ step: i, value }));

  it('judging against the reference at each step is the median rule at that step', () => {
    const completed = [
      curve([0.7, 0.8, 0.85, 0.9]),
      curve([0.72, 0.82, 0.86]),
      curve([0.69, 0.79, 0.84, 0.88]),
    ];
    const medians = medianReference(completed);
    // Step 3 has only two completed trials: no median there.
    expect(medians.map(([s]) => s)).toEqual([0, 1, 2]);
    const ref = { rule: 'median' as const, direction: 'Maximize' as const, medians };
    const bad = [0.72, 0.6, 0.5, 0.4];
    // The first prefix the rule condemns is the step the trainer stops at.
    const steps = bad.map((_, i) => judgeTrial(ref, curve(bad.slice(0, i + 1)))?.step);
    expect(steps).toEqual([undefined, 1, 2, undefined]);
    for (let i = 0; i < bad.length; i++)
      expect(judgeTrial(ref, curve(bad.slice(0, i + 1)))?.step).toBe(
        medianStoppingDecision('Maximize', curve(bad.slice(0, i + 1)), completed)?.step,
      );
    expect(stopReason(judgeTrial(ref, curve(bad.slice(0, 2)))!)).toMatch(
      /^median rule: running average 0\.66 at step 1 is worse than the median 0\.75 of completed trials$/,
    );
  });

  it('Hyperband cut-offs decide as successive halving does over all the trials at the rung', () => {
    const flat = (v: number, steps: number) =>
      Array.from({ length: steps }, (_, i) => ({ step: i + 1, value: v }));
    const others = [flat(0.9, 9), flat(0.8, 9), flat(0.7, 3), flat(0.6, 3), flat(0.5, 1)];
    const cutoffs = hyperbandCutoffs('Maximize', [1, 3, 9], others);
    // Rung 1: 5 peers + the trial → keep 2 → the 2nd best peer; rung 3: 4 peers → keep 1; rung 9: 2 peers → keep 1.
    expect(cutoffs).toEqual([
      [1, 0.8],
      [3, 0.9],
      [9, 0.9],
    ]);
    for (const v of [0.95, 0.85, 0.75, 0.4])
      for (const steps of [1, 3, 9]) {
        const mine = flat(v, steps);
        const viaRef = judgeTrial({ rule: 'hyperband', direction: 'Maximize', cutoffs }, mine);
        const direct = hyperbandDecision('Maximize', [1, 3, 9], mine, others);
        expect(viaRef?.rule === 'hyperband' ? viaRef.rung : undefined).toBe(direct?.rung);
      }
  });

  it('travels as a hyperparameter under 2500 characters and is read back; bad ones are refused', () => {
    const long = Array.from({ length: 1000 }, (_, i): [number, number] => [i, 0.5 + i / 3001]);
    const text = encodeStoppingReference({ rule: 'median', direction: 'Minimize', medians: long })!;
    expect(text.length).toBeLessThanOrEqual(maxHyperParameterValueLength);
    const back = parseStoppingReference(text);
    expect(back.rule).toBe('median');
    const kept = back.rule === 'median' ? back.medians : [];
    expect(kept.at(-1)).toEqual([999, Number((0.5 + 999 / 3001).toPrecision(8))]);
    expect(kept.length).toBeGreaterThan(50);
    const short = encodeStoppingReference({ rule: 'hyperband', direction: 'Maximize', cutoffs: [[1, 0.8]] })!;
    expect(parseStoppingReference(short)).toEqual({
      rule: 'hyperband',
      direction: 'Maximize',
      cutoffs: [[1, 0.8]],
    });
    expect(encodeStoppingReference({ rule: 'median', direction: 'Maximize', medians: [] })).toBeUndefined();
    expect(() => parseStoppingReference('nope')).toThrow(/not JSON/);
    expect(() => parseStoppingReference('{"rule":"median","direction":"Up","medians":[]}')).toThrow(
      /direction/,
    );
    expect(() => parseStoppingReference('{"rule":"x","direction":"Minimize"}')).toThrow(/rule/);
    expect(() =>
      parseStoppingReference('{"rule":"median","direction":"Minimize","medians":[[1,"a"]]}'),
    ).toThrow(/medians must be/);
  });
});
