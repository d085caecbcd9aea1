/**
 * A tuning job's search space as the strategies see it: each range mapped onto [0, 1] (its
 * scaling applied), integers rounded on the way back, categoricals as one-hot features.
 * Pure computation, no I/O.
 */

export type ScalingType = 'Linear' | 'Logarithmic' | 'ReverseLogarithmic';

export type Dimension =
  | { kind: 'Continuous' | 'Integer'; name: string; min: number; max: number; scaling: ScalingType }
  | { kind: 'Categorical'; name: string; values: readonly string[] };

/** A point of the space: hyperparameter name to value, as SageMaker passes them (strings). */
export type ParameterValues = Record<string, string>;

/** Deterministic PRNG (mulberry32): the same seed proposes the same trials. */
export class SeededRandom {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}

/** Unit value u in [0, 1] to the range's value (before integer rounding). */
function fromUnit(d: Extract<Dimension, { kind: 'Continuous' | 'Integer' }>, u: number): number {
  const { min, max } = d;
  // Integers get half a step either side so each integer owns an equal share of the unit line.
  const lo = d.kind === 'Integer' ? min - 0.5 + 1e-9 : min;
  const hi = d.kind === 'Integer' ? max + 0.5 - 1e-9 : max;
  switch (d.scaling) {
    case 'Linear':
      return lo + u * (hi - lo);
    case 'Logarithmic': {
      const a = Math.log(Math.max(lo, min * 0.5)); // an integer range's lower half-step stays > 0
      const b = Math.log(hi);
      return Math.exp(a + u * (b - a));
    }
    case 'ReverseLogarithmic': {
      const a = Math.log(1 - lo);
      const b = Math.log(1 - hi);
      return 1 - Math.exp(a + u * (b - a));
    }
  }
}

function toUnit(d: Extract<Dimension, { kind: 'Continuous' | 'Integer' }>, x: number): number {
  const { min, max } = d;
  const lo = d.kind === 'Integer' ? min - 0.5 + 1e-9 : min;
  const hi = d.kind === 'Integer' ? max + 0.5 - 1e-9 : max;
  let u: number;
  switch (d.scaling) {
    case 'Linear':
      u = (x - lo) / (hi - lo);
      break;
    case 'Logarithmic': {
      const a = Math.log(Math.max(lo, min * 0.5));
      u = (Math.log(x) - a) / (Math.log(hi) - a);
      break;
    }
    case 'ReverseLogarithmic': {
      const a = Math.log(1 - lo);
      u = (Math.log(1 - x) - a) / (Math.log(1 - hi) - a);
      break;
    }
  }
  return Math.min(1, Math.max(0, Number.isFinite(u) ? u : 0));
}

/** A number as a hyperparameter string: at most 10 significant digits, no exponent noise. */
export function formatNumber(x: number): string {
  return String(Number(x.toPrecision(10)));
}

/**
 * The space of a tuning job. A point lives in three forms: the values (strings), the unit cube
 * (one coordinate per dimension; a categorical's coordinate picks its index) and the feature
 * vector the Gaussian process sees (categoricals one-hot).
 */
export class SearchSpace {
  readonly featureCount: number;
  constructor(readonly dimensions: readonly Dimension[]) {
    this.featureCount = dimensions.reduce((n, d) => n + (d.kind === 'Categorical' ? d.values.length : 1), 0);
  }

  get size(): number {
    return this.dimensions.length;
  }

  /** Unit-cube coordinates to values (integers rounded, categoricals by index). */
  decode(unit: readonly number[]): ParameterValues {
    const out: ParameterValues = {};
    this.dimensions.forEach((d, i) => {
      const u = Math.min(1, Math.max(0, unit[i] ?? 0.5));
      if (d.kind === 'Categorical')
        out[d.name] = d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))]!;
      else {
        const x = fromUnit(d, u);
        out[d.name] =
          d.kind === 'Integer'
            ? String(Math.min(d.max, Math.max(d.min, Math.round(x))))
            : formatNumber(Math.min(d.max, Math.max(d.min, x)));
      }
    });
    return out;
  }

  /** Values to unit-cube coordinates; undefined when a value is missing or outside its range. */
  encode(values: ParameterValues): number[] | undefined {
    const out: number[] = [];
    for (const d of this.dimensions) {
      const raw = values[d.name];
      if (raw === undefined) return undefined;
      if (d.kind === 'Categorical') {
        const index = d.values.indexOf(raw);
        if (index < 0) return undefined;
        out.push((index + 0.5) / d.values.length);
      } else {
        const x = Number(raw);
        if (!Number.isFinite(x) || x < d.min || x > d.max) return undefined;
        out.push(toUnit(d, x));
      }
    }
    return out;
  }

  /** The GP's features of values: numeric dimensions on [0, 1], categoricals one-hot. */
  features(values: ParameterValues): number[] | undefined {
    const unit = this.encode(values);
    if (!unit) return undefined;
    const out: number[] = [];
    this.dimensions.forEach((d, i) => {
      if (d.kind === 'Categorical') {
        const index = d.values.indexOf(values[d.name]!);
        for (let k = 0; k < d.values.length; k++) out.push(k === index ? 1 : 0);
      } else out.push(unit[i]!);
    });
    return out;
  }

  /** A uniform random point of the unit cube. */
  randomUnit(random: SeededRandom): number[] {
    return this.dimensions.map(() => random.next());
  }

  /** `n` points of a Latin hypercube: each dimension's n strata hit once. */
  latinHypercube(n: number, random: SeededRandom): number[][] {
    const points: number[][] = Array.from({ length: n }, () => []);
    for (let j = 0; j < this.size; j++) {
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const k = random.int(i + 1);
        [order[i], order[k]] = [order[k]!, order[i]!];
      }
      for (let i = 0; i < n; i++) points[i]!.push((order[i]! + random.next()) / n);
    }
    return points;
  }

  /** Every point of a grid of categorical and integer dimensions, in a fixed order (last dimension fastest). */
  gridSize(): number {
    return this.dimensions.reduce(
      (n, d) => n * (d.kind === 'Categorical' ? d.values.length : d.max - d.min + 1),
      1,
    );
  }

  gridPoint(index: number): ParameterValues {
    const out: ParameterValues = {};
    let rest = index;
    for (let i = this.dimensions.length - 1; i >= 0; i--) {
      const d = this.dimensions[i]!;
      if (d.kind === 'Categorical') {
        out[d.name] = d.values[rest % d.values.length]!;
        rest = Math.floor(rest / d.values.length);
      } else if (d.kind === 'Integer') {
        const count = d.max - d.min + 1;
        out[d.name] = String(d.min + (rest % count));
        rest = Math.floor(rest / count);
      } else throw new Error(`${d.name}: a continuous range has no grid`);
    }
    return Object.fromEntries(this.dimensions.map((d) => [d.name, out[d.name]!]));
  }

  /** A stable key of values, to recognise a point already tried. */
  key(values: ParameterValues): string {
    return this.dimensions.map((d) => `${d.name}=${values[d.name]}`).join('&');
  }
}
