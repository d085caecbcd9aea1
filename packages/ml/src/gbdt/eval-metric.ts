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
  // Shift to x >= 7, then Stirling's series; only used for the Poisson log likelihood's constant term.
  let s = 0;
  while (x < 7) {
    s -= Math.log(x);
    x++;
  }
  const z = 1 / (x * x);
  return (
    s + (x - 0.5) * Math.log(x) - x + Math.log(2 * Math.PI) / 2 + (1 / 12 - z * (1 / 360 - z / 1260)) / x
  );
}
