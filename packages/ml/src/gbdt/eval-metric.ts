import { accuracy, logLoss } from '../metrics/classification.js';
import { rocAuc } from '../metrics/ranking.js';
import { mae, rmse } from '../metrics/regression.js';
import type { EvalMetricName } from './params.js';

/** Whether a larger value of the metric is better (for early stopping). */
export function higherIsBetter(m: EvalMetricName): boolean {
  return m === 'auc';
}

/**
 * Evaluates an XGBoost eval metric on predictions in output space (`pred` as returned by
 * `transformMargins`; for multiclass, row-major probabilities `n × k`).
 */
export function evalMetric(m: EvalMetricName, y: ArrayLike<number>, pred: Float64Array, k: number): number {
  const n = y.length;
  switch (m) {
    case 'auc':
      return rocAuc(y, pred);
    case 'logloss':
      return logLoss(y, pred);
    case 'error': {
      let e = 0;
      for (let i = 0; i < n; i++) if (pred[i]! > 0.5 !== (y[i] === 1)) e++;
      return e / n;
    }
    case 'mlogloss':
      return logLoss(y, pred, { numClass: k });
    case 'merror': {
      const cls = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let b = 0;
        for (let c = 1; c < k; c++) if (pred[i * k + c]! > pred[i * k + b]!) b = c;
        cls[i] = b;
      }
      return 1 - accuracy(y, cls);
    }
    case 'rmse':
      return rmse(y, pred);
    case 'mae':
      return mae(y, pred);
    case 'poisson-nloglik': {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const mu = Math.max(pred[i]!, 1e-16);
        const yi = y[i]!;
        s += mu - yi * Math.log(mu) + lgamma(yi + 1);
      }
      return s / n;
    }
  }
}

function lgamma(x: number): number {
  // Lanczos approximation; only used for the constant term of the Poisson log likelihood.
  const c = [
    76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const ci of c) ser += ci / ++y;
  return -tmp + Math.log((2.5066282746310005 * ser) / x);
}
