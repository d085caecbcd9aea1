import { OBJ_ABSOLUTE, OBJ_LOGISTIC, OBJ_POISSON, OBJ_SOFTMAX, OBJ_SQUARED } from './kernels.js';

/** Objective names SageMaker's XGBoost accepts that this implementation supports. */
export type ObjectiveName =
  | 'binary:logistic'
  | 'reg:logistic'
  | 'multi:softprob'
  | 'multi:softmax'
  | 'reg:squarederror'
  | 'reg:absoluteerror'
  | 'count:poisson';

export const OBJECTIVES: readonly ObjectiveName[] = [
  'binary:logistic',
  'reg:logistic',
  'multi:softprob',
  'multi:softmax',
  'reg:squarederror',
  'reg:absoluteerror',
  'count:poisson',
];

export function isMulticlass(o: ObjectiveName): boolean {
  return o === 'multi:softprob' || o === 'multi:softmax';
}

/** Converts `base_score` (in prediction space) to the margin every row starts from, as XGBoost does. */
export function baseMargin(o: ObjectiveName, baseScore: number): number {
  if (o === 'binary:logistic' || o === 'reg:logistic') return -Math.log(1 / baseScore - 1);
  if (o === 'count:poisson') return Math.log(baseScore);
  return baseScore;
}

export function defaultMetric(o: ObjectiveName): string {
  switch (o) {
    case 'binary:logistic':
      return 'logloss';
    case 'multi:softprob':
    case 'multi:softmax':
      return 'mlogloss';
    case 'reg:absoluteerror':
      return 'mae';
    case 'count:poisson':
      return 'poisson-nloglik';
    default:
      return 'rmse';
  }
}

/**
 * The objective's code for the gradient kernel (`gradKernel` in kernels.ts, which writes the interleaved
 * (gradient, hessian) pairs).
 */
export function objectiveCode(o: ObjectiveName): number {
  switch (o) {
    case 'binary:logistic':
    case 'reg:logistic':
      return OBJ_LOGISTIC;
    case 'multi:softprob':
    case 'multi:softmax':
      return OBJ_SOFTMAX;
    case 'reg:absoluteerror':
      return OBJ_ABSOLUTE;
    case 'count:poisson':
      return OBJ_POISSON;
    default:
      return OBJ_SQUARED;
  }
}

/** Row-wise softmax of row-major margins into `out`. */
export function softmaxRows(margin: ArrayLike<number>, n: number, K: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) if (margin[o + k]! > mx) mx = margin[o + k]!;
    let s = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(margin[o + k]! - mx);
      out[o + k] = e;
      s += e;
    }
    for (let k = 0; k < K; k++) out[o + k] = out[o + k]! / s;
  }
}

/**
 * Margins to predictions in place: probabilities for logistic and softprob, class index for softmax,
 * the mean for Poisson. Returns the number of outputs per row.
 */
export function transformMargins(o: ObjectiveName, margin: Float64Array, n: number, K: number): Float64Array {
  switch (o) {
    case 'binary:logistic':
    case 'reg:logistic': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-margin[i]!));
      return out;
    }
    case 'count:poisson': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.exp(margin[i]!);
      return out;
    }
    case 'multi:softprob': {
      const out = new Float64Array(n * K);
      softmaxRows(margin, n, K, out);
      return out;
    }
    case 'multi:softmax': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (margin[i * K + k]! > margin[i * K + best]!) best = k;
        out[i] = best;
      }
      return out;
    }
    default:
      return Float64Array.from(margin.subarray(0, n));
  }
}
