/**
 * A Gaussian process regressor with a Matérn 5/2 kernel (one length scale per feature), its
 * signal variance, noise and length scales fitted by maximising the marginal likelihood
 * (Nelder-Mead on their logarithms, a few restarts). Small-n by design: tuning jobs have tens to
 * hundreds of observations, so a dense Cholesky factor is the simplest exact method.
 */

import type { SeededRandom } from './tuning-space.js';

const sqrt5 = Math.sqrt(5);
/** Above this many features the kernel has one length scale instead of one per feature. */
export const maxArdFeatures = 20;

/** Lower Cholesky factor of a symmetric positive definite n×n matrix (row-major), or undefined. */
function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (sum <= 0 || !Number.isFinite(sum)) return undefined;
        l[i * n + i] = Math.sqrt(sum);
      } else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  return l;
}

/** Solves L x = b (forward) in place. */
function forward(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * b[k]!;
    b[i] = sum / l[i * n + i]!;
  }
  return b;
}

/** Solves Lᵀ x = b (backward) in place. */
function backward(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * b[k]!;
    b[i] = sum / l[i * n + i]!;
  }
  return b;
}

/** Matérn 5/2 of two feature vectors with inverse length scales `inv`. */
function matern(a: readonly number[], b: readonly number[], inv: Float64Array, variance: number): number {
  let r2 = 0;
  for (let d = 0; d < inv.length; d++) {
    const t = (a[d]! - b[d]!) * inv[d]!;
    r2 += t * t;
  }
  const r = Math.sqrt(r2);
  return variance * (1 + sqrt5 * r + (5 / 3) * r2) * Math.exp(-sqrt5 * r);
}

/** Nelder-Mead minimisation of `f` from `x0` (steps of `step`), at most `maxEvals` evaluations. */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  step: number,
  maxEvals: number,
): number[] {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step : v)))];
  let values = simplex.map(f);
  let evals = simplex.length;
  while (evals < maxEvals) {
    const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    simplex = order.map(([, i]) => simplex[i]!);
    values = order.map(([v]) => v);
    if (Math.abs(values[n]! - values[0]!) < 1e-7) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p[j]!, 0) / n);
    const worst = simplex[n]!;
    const at = (t: number) => centroid.map((c, j) => c + t * (worst[j]! - c));
    const reflected = at(-1);
    const fr = f(reflected);
    evals++;
    if (fr < values[0]!) {
      const expanded = at(-2);
      const fe = f(expanded);
      evals++;
      if (fe < fr) {
        simplex[n] = expanded;
        values[n] = fe;
      } else {
        simplex[n] = reflected;
        values[n] = fr;
      }
    } else if (fr < values[n - 1]!) {
      simplex[n] = reflected;
      values[n] = fr;
    } else {
      const contracted = fr < values[n]! ? at(-0.5) : at(0.5);
      const fc = f(contracted);
      evals++;
      if (fc < Math.min(fr, values[n]!)) {
        simplex[n] = contracted;
        values[n] = fc;
      } else {
        const best = simplex[0]!;
        for (let i = 1; i <= n; i++) {
          simplex[i] = best.map((b, j) => b + 0.5 * (simplex[i]![j]! - b));
          values[i] = f(simplex[i]!);
          evals++;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return simplex[best]!;
}

export interface GpHyperparameters {
  variance: number;
  lengthScales: number[];
  noise: number;
}

/** A fitted GP on standardised targets; predictions are in the targets' own units. */
export class GaussianProcess {
  readonly #x: number[][];
  readonly #l: Float64Array;
  readonly #alpha: Float64Array;
  readonly #inv: Float64Array;
  readonly #mean: number;
  readonly #scale: number;

  private constructor(
    x: number[][],
    l: Float64Array,
    alpha: Float64Array,
    readonly hyperparameters: GpHyperparameters,
    mean: number,
    scale: number,
  ) {
    this.#x = x;
    this.#l = l;
    this.#alpha = alpha;
    this.#inv = Float64Array.from(hyperparameters.lengthScales, (s) => 1 / s);
    this.#mean = mean;
    this.#scale = scale;
  }

  /**
   * Fits the GP to features `x` (each on [0, 1]) and targets `y`, choosing the hyperparameters by
   * marginal likelihood (with weak log-normal priors, so a handful of points cannot drive a
   * length scale to zero) from `restarts` starting points.
   */
  static fit(x: number[][], y: number[], random: SeededRandom, restarts = 3): GaussianProcess {
    const n = y.length;
    const dims = x[0]?.length ?? 0;
    const mean = y.reduce((s, v) => s + v, 0) / Math.max(1, n);
    const sd = Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, n)) || 1;
    const z = Float64Array.from(y, (v) => (v - mean) / sd);
    // Many features (wide categoricals): one shared length scale keeps the fit cheap and stable.
    const scales = dims > maxArdFeatures ? 1 : dims;
    const unpack = (t: number[]): GpHyperparameters => {
      const ls = t.slice(1, scales + 1).map((v) => Math.exp(Math.min(3, Math.max(-5, v))));
      return {
        variance: Math.exp(Math.min(5, Math.max(-5, t[0]!))),
        lengthScales: scales === dims ? ls : Array.from({ length: dims }, () => ls[0]!),
        noise: Math.exp(Math.min(0, Math.max(-14, t[scales + 1]!))),
      };
    };
    // With one shared length scale the distances never change: compute them once.
    let distances: Float64Array | undefined;
    if (scales !== dims) {
      distances = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < i; j++) {
          let d2 = 0;
          for (let d = 0; d < dims; d++) d2 += (x[i]![d]! - x[j]![d]!) ** 2;
          distances[i * n + j] = Math.sqrt(d2);
        }
    }
    const objective = (t: number[]): number => {
      const h = unpack(t);
      const fitted = GaussianProcess.#factor(x, z, h, distances);
      if (!fitted) return 1e10;
      let nll = 0.5 * fitted.dataFit + fitted.logDet;
      // Priors: length scales log-normal around 0.5, variance around 1, noise toward small.
      for (const s of h.lengthScales) nll += (Math.log(s) - Math.log(0.5)) ** 2 / (2 * 1.5 ** 2);
      nll += Math.log(h.variance) ** 2 / (2 * 2 ** 2);
      nll += (Math.log(h.noise) + 8) ** 2 / (2 * 3 ** 2);
      return nll;
    };
    let best: number[] | undefined;
    let bestValue = Number.POSITIVE_INFINITY;
    for (let r = 0; r < Math.max(1, restarts); r++) {
      const start = [
        r === 0 ? 0 : random.normal() * 0.5,
        ...Array.from({ length: scales }, () => Math.log(0.5) + (r === 0 ? 0 : random.normal() * 0.7)),
        r === 0 ? -8 : -8 + random.normal(),
      ];
      const t = nelderMead(objective, start, 0.7, 120 + 40 * scales);
      const v = objective(t);
      if (v < bestValue) {
        bestValue = v;
        best = t;
      }
    }
    let h = unpack(best ?? [0, ...Array.from({ length: scales }, () => Math.log(0.5)), -8]);
    let fitted = GaussianProcess.#factor(x, z, h);
    for (let jitter = 1e-6; !fitted && jitter < 10; jitter *= 10) {
      h = { ...h, noise: h.noise + jitter };
      fitted = GaussianProcess.#factor(x, z, h);
    }
    if (!fitted) throw new Error('the Gaussian process could not be fitted');
    return new GaussianProcess(x, fitted.l, fitted.alpha, h, mean, sd);
  }

  static #factor(
    x: number[][],
    z: Float64Array,
    h: GpHyperparameters,
    distances?: Float64Array,
  ): { l: Float64Array; alpha: Float64Array; dataFit: number; logDet: number } | undefined {
    const n = z.length;
    const inv = Float64Array.from(h.lengthScales, (s) => 1 / s);
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        let v: number;
        if (distances) {
          const r = distances[i * n + j]! * inv[0]!;
          v = h.variance * (1 + sqrt5 * r + (5 / 3) * r * r) * Math.exp(-sqrt5 * r);
        } else v = matern(x[i]!, x[j]!, inv, h.variance);
        k[i * n + j] = v;
        k[j * n + i] = v;
      }
      k[i * n + i] = h.variance + h.noise + 1e-9;
    }
    const l = cholesky(k, n);
    if (!l) return undefined;
    const alpha = backward(l, n, forward(l, n, Float64Array.from(z)));
    let dataFit = 0;
    for (let i = 0; i < n; i++) dataFit += z[i]! * alpha[i]!;
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i]!);
    return { l, alpha, dataFit, logDet };
  }

  /** Posterior mean and standard deviation at `point`, in the targets' units. */
  predict(point: readonly number[]): { mean: number; sd: number } {
    const n = this.#x.length;
    const { variance } = this.hyperparameters;
    const k = new Float64Array(n);
    let mu = 0;
    for (let i = 0; i < n; i++) {
      k[i] = matern(point, this.#x[i]!, this.#inv, variance);
      mu += k[i]! * this.#alpha[i]!;
    }
    forward(this.#l, n, k);
    let reduction = 0;
    for (let i = 0; i < n; i++) reduction += k[i]! * k[i]!;
    const v = Math.max(1e-12, variance - reduction);
    return { mean: this.#mean + this.#scale * mu, sd: this.#scale * Math.sqrt(v) };
  }
}

/** Standard normal density and distribution function (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7). */
function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Expected improvement below `best` (minimisation) of a prediction, with exploration margin `xi`. */
export function expectedImprovement(prediction: { mean: number; sd: number }, best: number, xi = 0): number {
  const { mean, sd } = prediction;
  if (sd <= 0) return Math.max(0, best - mean - xi);
  const gap = best - mean - xi;
  const z = gap / sd;
  return gap * normalCdf(z) + sd * normalPdf(z);
}
