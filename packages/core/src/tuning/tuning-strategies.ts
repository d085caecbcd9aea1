/**
 * How a tuning job picks its next trials, and when it stops one early. Pure functions of the
 * trials so far: the driver stores every proposal before it starts the trial, so a restart
 * resumes from the store and these functions are free of I/O and clocks.
 */

import { expectedImprovement, GaussianProcess } from './gaussian-process.js';
import { type ParameterValues, type SearchSpace, SeededRandom } from './tuning-space.js';

export type TuningStrategy = 'Bayesian' | 'Random' | 'Grid' | 'Hyperband';
export type ObjectiveType = 'Minimize' | 'Maximize';

/** A finished trial (or a warm-start parent's) with its final objective value. */
export interface Observation {
  values: ParameterValues;
  objective: number;
}

export interface ProposalContext {
  space: SearchSpace;
  strategy: TuningStrategy;
  direction: ObjectiveType;
  /** Trials with an objective (warm-start parents first). */
  observations: readonly Observation[];
  /** Trials started that have no objective yet (for the constant liar). */
  pending: readonly ParameterValues[];
  /** Index of the first trial to propose: proposals are a function of it and the seed. */
  trialIndex: number;
  seed: number;
  /** MaxNumberOfTrainingJobs. */
  budget: number;
}

function fmix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit hash of a seed and an index, so each trial's random draws are its own. */
function mix(seed: number, index: number): number {
  return fmix(fmix(seed) + Math.imul(index + 1, 0x9e3779b1));
}

/** Observations the Bayesian model is fitted to at most (half the best, half the latest). */
export const maxModelObservations = 200;

/** Trials of the Bayesian strategy's initial design (a Latin hypercube) before the GP leads. */
export function initialDesignSize(space: SearchSpace, budget: number): number {
  return Math.max(3, Math.min(space.size + 2, Math.ceil(budget / 5), 10));
}

/**
 * Proposes `count` trials. Random draws each trial from its own seeded stream; Grid walks the
 * grid by trial index (so each point is proposed exactly once); Hyperband samples like Random
 * (its successive halving stops trials, see {@link hyperbandDecision}); Bayesian starts with a
 * Latin hypercube, then maximises expected improvement of a Matérn 5/2 GP, filling parallel slots
 * by the constant liar (pending trials count as observed at the best value so far).
 */
export function proposeTrials(context: ProposalContext, count: number): ParameterValues[] {
  const { space, trialIndex, seed } = context;
  const out: ParameterValues[] = [];
  for (let k = 0; k < count; k++) {
    const index = trialIndex + k;
    switch (context.strategy) {
      case 'Grid':
        if (index < space.gridSize()) out.push(space.gridPoint(index));
        break;
      case 'Random':
      case 'Hyperband':
        out.push(space.decode(space.randomUnit(new SeededRandom(mix(seed, index)))));
        break;
      case 'Bayesian':
        out.push(bayesianProposal(context, index, [...context.pending, ...out]));
        break;
    }
  }
  return out;
}

function bayesianProposal(
  context: ProposalContext,
  index: number,
  pending: readonly ParameterValues[],
): ParameterValues {
  const { space, seed, direction } = context;
  const initial = initialDesignSize(space, context.budget);
  const usable = context.observations
    .map((o) => ({
      values: o.values,
      features: space.features(o.values),
      y: direction === 'Maximize' ? -o.objective : o.objective,
    }))
    .filter(
      (o): o is { values: ParameterValues; features: number[]; y: number } =>
        o.features !== undefined && Number.isFinite(o.y),
    );
  if (index < initial && usable.length < initial) {
    const design = space.latinHypercube(initial, new SeededRandom(mix(seed, 0x1f1f)));
    return space.decode(design[index]!);
  }
  const random = new SeededRandom(mix(seed, index));
  if (usable.length < 2) return space.decode(space.randomUnit(random));
  const best = Math.min(...usable.map((o) => o.y));
  // The GP is cubic in its observations: past a few hundred, it models the best and the latest.
  const modelled =
    usable.length <= maxModelObservations
      ? usable
      : [
          ...new Set([
            ...[...usable].sort((a, b) => a.y - b.y).slice(0, maxModelObservations / 2),
            ...usable.slice(-maxModelObservations / 2),
          ]),
        ];
  // Constant liar: a pending trial is told the best value so far, so the batch spreads out.
  const lies = pending
    .map((values) => space.features(values))
    .filter((f): f is number[] => f !== undefined)
    .map((features) => ({ features, y: best }));
  const data = [...modelled.map(({ features, y }) => ({ features, y })), ...lies.slice(0, 50)];
  const gp = GaussianProcess.fit(
    data.map((o) => o.features),
    data.map((o) => o.y),
    random,
    3,
  );
  const seen = new Set([
    ...context.observations.map((o) => space.key(o.values)),
    ...pending.map((p) => space.key(p)),
  ]);
  const score = (unit: number[]): { values: ParameterValues; ei: number } => {
    const values = space.decode(unit);
    if (seen.has(space.key(values))) return { values, ei: -1 };
    return { values, ei: expectedImprovement(gp.predict(space.features(values)!), best) };
  };
  // Random candidates, then a local search from the best few with shrinking steps.
  const scored: { unit: number[]; values: ParameterValues; ei: number }[] = [];
  for (let i = 0; i < Math.min(3000, 1000 + 200 * space.size); i++) {
    const unit = space.randomUnit(random);
    scored.push({ unit, ...score(unit) });
  }
  // Around the best observations too: EI's maximum is often near the incumbent.
  for (const o of [...usable].sort((a, b) => a.y - b.y).slice(0, 3)) {
    const centre = space.encode(o.values);
    if (!centre) continue;
    for (let i = 0; i < 100; i++) {
      const unit = centre.map((c) => Math.min(1, Math.max(0, c + random.normal() * 0.05)));
      scored.push({ unit, ...score(unit) });
    }
  }
  scored.sort((a, b) => b.ei - a.ei);
  let winner = scored[0]!;
  for (const start of scored.slice(0, 5)) {
    let current = start;
    for (let step = 0.1; step > 0.002; step /= 2) {
      for (let tries = 0; tries < 12; tries++) {
        const unit = current.unit.map((u, d) => {
          const dim = space.dimensions[d]!;
          if (dim.kind === 'Categorical') return random.next() < 1 / space.size ? random.next() : u;
          return Math.min(1, Math.max(0, u + random.normal() * step));
        });
        const candidate = { unit, ...score(unit) };
        if (candidate.ei > current.ei) current = candidate;
      }
    }
    if (current.ei > winner.ei) winner = current;
  }
  // Every candidate was a point already tried (a tiny discrete space): take a fresh random one.
  return winner.ei >= 0 ? winner.values : space.decode(space.randomUnit(random));
}

/** One intermediate value of a trial's objective at a training step (round, epoch). */
export interface IntermediatePoint {
  step: number;
  value: number;
}

/** The running average of a curve up to each step, by step. */
function runningAverages(curve: readonly IntermediatePoint[]): Map<number, number> {
  const out = new Map<number, number>();
  let sum = 0;
  let n = 0;
  for (const p of [...curve].sort((a, b) => a.step - b.step)) {
    sum += p.value;
    n++;
    out.set(p.step, sum / n);
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Completed trials needed before the median rule stops anything. */
export const medianRuleMinimumTrials = 3;

/**
 * SageMaker's early stopping (`TrainingJobEarlyStoppingType: Auto`): a running trial is stopped
 * when the running average of its objective at its latest step is worse than the median of the
 * running averages of completed trials at the same step. Returns the step it was judged at, or
 * undefined to let it run.
 */
export function medianStoppingDecision(
  direction: ObjectiveType,
  running: readonly IntermediatePoint[],
  completed: readonly (readonly IntermediatePoint[])[],
): { step: number; value: number; median: number } | undefined {
  if (running.length === 0) return undefined;
  const mine = runningAverages(running);
  const step = Math.max(...mine.keys());
  const others = completed
    .map((curve) => runningAverages(curve).get(step))
    .filter((v): v is number => v !== undefined);
  if (others.length < medianRuleMinimumTrials) return undefined;
  const m = median(others);
  const value = mine.get(step)!;
  const worse = direction === 'Maximize' ? value < m : value > m;
  return worse ? { step, value, median: m } : undefined;
}

/** Hyperband's rungs: MinResource·η^k below MaxResource (η = 3). */
export function hyperbandRungs(minResource: number, maxResource: number, eta = 3): number[] {
  const rungs: number[] = [];
  for (let r = minResource; r < maxResource; r *= eta) rungs.push(Math.round(r));
  return rungs;
}

/**
 * Successive halving, asynchronous (ASHA): at each rung a trial continues only when its objective
 * there is in the top 1/η of every trial that reached the rung (once η trials have), else it is
 * stopped. `others` are the curves of the other trials, running or ended.
 */
export function hyperbandDecision(
  direction: ObjectiveType,
  rungs: readonly number[],
  running: readonly IntermediatePoint[],
  others: readonly (readonly IntermediatePoint[])[],
  eta = 3,
): { rung: number; value: number; cutoff: number } | undefined {
  // A curve's value at a rung: its last point at or before the rung, once it has reached it.
  const at = (curve: readonly IntermediatePoint[], rung: number): number | undefined => {
    if (!curve.some((p) => p.step >= rung)) return undefined;
    let last: IntermediatePoint | undefined;
    for (const p of curve) if (p.step <= rung && (!last || p.step >= last.step)) last = p;
    return last?.value;
  };
  const sign = direction === 'Maximize' ? -1 : 1;
  let decision: { rung: number; value: number; cutoff: number } | undefined;
  for (const rung of rungs) {
    const value = at(running, rung);
    if (value === undefined) break;
    const peers = others.map((c) => at(c, rung)).filter((v): v is number => v !== undefined);
    const all = [...peers, value].map((v) => sign * v).sort((a, b) => a - b);
    if (all.length < eta) continue;
    const keep = Math.max(1, Math.floor(all.length / eta));
    const cutoff = all[keep - 1]!;
    if (sign * value > cutoff) {
      decision = { rung, value, cutoff: sign * cutoff };
      break;
    }
  }
  return decision;
}
