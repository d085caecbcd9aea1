import { MlInputError } from '../core/errors.js';

/** Shared argument checks for metric functions: equal lengths, non-empty, finite values. */
export function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, an: string, bn: string): number {
  if (a.length !== b.length) throw new MlInputError(bn, `has ${b.length} values, ${an} has ${a.length}`);
  if (a.length === 0) throw new MlInputError(an, 'is empty');
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) throw new MlInputError(an, `value at ${i} is not finite (${a[i]})`);
    if (!Number.isFinite(b[i]!)) throw new MlInputError(bn, `value at ${i} is not finite (${b[i]})`);
  }
  return a.length;
}

export function checkWeights(w: ArrayLike<number> | undefined, n: number): void {
  if (w === undefined) return;
  if (w.length !== n) throw new MlInputError('weight', `has ${w.length} values for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(w[i]!) || w[i]! < 0) throw new MlInputError('weight', `value at ${i} must be >= 0`);
  }
}

export function checkBinaryLabels(y: ArrayLike<number>): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1)
      throw new MlInputError('yTrue', `binary labels must be 0 or 1, got ${y[i]} at ${i}`);
  }
}
