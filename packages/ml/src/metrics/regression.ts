import { MlInputError } from '../core/errors.js';
import { checkPair } from './check.js';

/** Root mean squared error. */
export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  let s = 0;
  for (let i = 0; i < n; i++) s += (yTrue[i]! - yPred[i]!) ** 2;
  return Math.sqrt(s / n);
}

/** Mean absolute error. */
export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i]! - yPred[i]!);
  return s / n;
}

/** Coefficient of determination, 1 − SS_res / SS_tot (1 for a perfect fit; can be negative). */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i]!;
  mean /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += (yTrue[i]! - yPred[i]!) ** 2;
    tot += (yTrue[i]! - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/** Mean absolute percentage error as a fraction (0.1 = 10%); rows with a zero label are rejected. */
export function mape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkPair(yTrue, yPred, 'yTrue', 'yPred');
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (yTrue[i] === 0) throw new MlInputError('yTrue', `MAPE is undefined for a zero label (row ${i})`);
    s += Math.abs((yTrue[i]! - yPred[i]!) / yTrue[i]!);
  }
  return s / n;
}
