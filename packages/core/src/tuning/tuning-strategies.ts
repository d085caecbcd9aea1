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
 * What a running trial is judged against, fixed from the trials so far: for the median rule the
 * median running average of completed trials at each step (steps with at least
 * {@link medianRuleMinimumTrials} of them); for Hyperband each rung's cut-off (the value a trial must
 * match or beat there to be in the top 1/η of the trials that reached the rung, itself included).
 * The tuner judges live trials with it, and hands one to each built-in trial at launch (the
 * {@link stopRuleHyperParameter} hyperparameter) so the trainer applies the same rule at the step
 * itself. Pairs are [step or rung, value], ascending.
 */
export type StoppingReference =
  | { rule: 'median'; direction: ObjectiveType; medians: [number, number][] }
  | { rule: 'hyperband'; direction: ObjectiveType; cutoffs: [number, number][] };

export type StopVerdict =
  | { rule: 'median'; step: number; value: number; median: number }
  | { rule: 'hyperband'; step: number; rung: number; value: number; cutoff: number };

/** The hyperparameter a built-in trial gets its {@link StoppingReference} in (JSON). */
export const stopRuleHyperParameter = '_tuning_stop_rule';
/** SageMaker's limit on a hyperparameter value, which the encoded reference stays under. */
export const maxHyperParameterValueLength = 2500;
/** The status message of a training job that stopped itself by its stop rule: this, then the reason. */
export const earlyStopMessagePrefix = 'Stopped early: ';

const worse = (direction: ObjectiveType, value: number, threshold: number) =>
  direction === 'Maximize' ? value < threshold : value > threshold;

/** The median rule's reference: the median of completed trials' running averages, step by step. */
export function medianReference(completed: readonly (readonly IntermediatePoint[])[]): [number, number][] {
  const byStep = new Map<number, number[]>();
  for (const curve of completed)
    for (const [step, avg] of runningAverages(curve)) {
      const list = byStep.get(step) ?? [];
      list.push(avg);
      byStep.set(step, list);
    }
  return [...byStep]
    .filter(([, values]) => values.length >= medianRuleMinimumTrials)
    .sort((a, b) => a[0] - b[0])
    .map(([step, values]) => [step, median(values)]);
}

/** A curve's value at a rung: its last point at or before the rung, once it has reached it. */
function valueAtRung(curve: readonly IntermediatePoint[], rung: number): number | undefined {
  if (!curve.some((p) => p.step >= rung)) return undefined;
  let last: IntermediatePoint | undefined;
  for (const p of curve) if (p.step <= rung && (!last || p.step >= last.step)) last = p;
  return last?.value;
}

/**
 * Hyperband's cut-offs from the other trials' curves (running or ended): at a rung reached by n of
 * them (n + 1 ≥ η with the trial judged), a trial stays when it is no worse than the k-th best of
 * them, k = max(1, ⌊(n + 1)/η⌋), which is being in the top 1/η of all n + 1.
 */
export function hyperbandCutoffs(
  direction: ObjectiveType,
  rungs: readonly number[],
  others: readonly (readonly IntermediatePoint[])[],
  eta = 3,
): [number, number][] {
  const out: [number, number][] = [];
  for (const rung of rungs) {
    const peers = others.map((c) => valueAtRung(c, rung)).filter((v): v is number => v !== undefined);
    if (peers.length + 1 < eta) continue;
    peers.sort((a, b) => (direction === 'Maximize' ? b - a : a - b));
    out.push([rung, peers[Math.max(1, Math.floor((peers.length + 1) / eta)) - 1]!]);
  }
  return out;
}

/**
 * Judges a running trial's curve against a reference: the median rule at the curve's latest step,
 * Hyperband at every rung the curve has reached (the first it fails). Undefined: let it run.
 */
export function judgeTrial(
  reference: StoppingReference,
  running: readonly IntermediatePoint[],
): StopVerdict | undefined {
  if (running.length === 0) return undefined;
  const { direction } = reference;
  if (reference.rule === 'median') {
    const mine = runningAverages(running);
    const step = Math.max(...mine.keys());
    const m = reference.medians.find(([s]) => s === step)?.[1];
    const value = mine.get(step)!;
    return m !== undefined && worse(direction, value, m)
      ? { rule: 'median', step, value, median: m }
      : undefined;
  }
  const latest = Math.max(...running.map((p) => p.step));
  for (const [rung, cutoff] of reference.cutoffs) {
    const value = valueAtRung(running, rung);
    if (value === undefined) break;
    if (worse(direction, value, cutoff)) return { rule: 'hyperband', step: latest, rung, value, cutoff };
  }
  return undefined;
}

/** Why a trial was stopped, in the words the tuner and the built-in trainer both record. */
export function stopReason(v: StopVerdict): string {
  const round = (x: number) => String(Number(x.toPrecision(5)));
  return v.rule === 'median'
    ? `median rule: running average ${round(v.value)} at step ${v.step} is worse than the median ${round(v.median)} of completed trials`
    : `Hyperband: ${round(v.value)} at rung ${v.rung} is outside the top third (cut-off ${round(v.cutoff)})`;
}

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
  const v = judgeTrial({ rule: 'median', direction, medians: medianReference(completed) }, running);
  return v?.rule === 'median' ? { step: v.step, value: v.value, median: v.median } : undefined;
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
  const v = judgeTrial(
    { rule: 'hyperband', direction, cutoffs: hyperbandCutoffs(direction, rungs, others, eta) },
    running,
  );
  return v?.rule === 'hyperband' ? { rung: v.rung, value: v.value, cutoff: v.cutoff } : undefined;
}

/**
 * The reference as a hyperparameter value of at most {@link maxHyperParameterValueLength}
 * characters: values to 8 significant digits; a median curve too long keeps every k-th step (the
 * smallest k that fits, the last step kept), so the trainer judges at those steps only and the
 * tuner's live pass covers the rest. Undefined when there is nothing to judge against yet.
 */
export function encodeStoppingReference(reference: StoppingReference): string | undefined {
  const pairs = reference.rule === 'median' ? reference.medians : reference.cutoffs;
  if (pairs.length === 0) return undefined;
  const rounded = pairs.map(([s, v]): [number, number] => [s, Number(v.toPrecision(8))]);
  for (let k = 1; ; k++) {
    const kept = rounded.filter((_, i) => (rounded.length - 1 - i) % k === 0);
    const text = JSON.stringify(
      reference.rule === 'median'
        ? { rule: 'median', direction: reference.direction, medians: kept }
        : { rule: 'hyperband', direction: reference.direction, cutoffs: kept },
    );
    if (text.length <= maxHyperParameterValueLength) return text;
  }
}

/**
 * Reads a {@link stopRuleHyperParameter} value. @throws Error saying what is wrong with it
 */
export function parseStoppingReference(text: string): StoppingReference {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('is not JSON');
  }
  const r = raw as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) throw new Error('is not a JSON object');
  if (r.direction !== 'Minimize' && r.direction !== 'Maximize')
    throw new Error('direction must be Minimize or Maximize');
  const key = r.rule === 'median' ? 'medians' : r.rule === 'hyperband' ? 'cutoffs' : undefined;
  if (!key) throw new Error('rule must be median or hyperband');
  const pairs = r[key];
  if (
    !Array.isArray(pairs) ||
    !pairs.every(
      (p) =>
        Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number' && Number.isFinite(x)),
    )
  )
    throw new Error(`${key} must be a list of [step, value] number pairs`);
  const sorted = (pairs as [number, number][]).slice().sort((a, b) => a[0] - b[0]);
  return key === 'medians'
    ? { rule: 'median', direction: r.direction, medians: sorted }
    : { rule: 'hyperband', direction: r.direction, cutoffs: sorted };
}
