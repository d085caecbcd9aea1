import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from './matrix.js';

/** Features, labels and optional per-row weights for supervised training. */
export interface Dataset {
  x: DenseMatrix;
  /** One label per row; class labels are integer codes 0..k-1. */
  y: ArrayLike<number>;
  /** Optional non-negative per-row weights (default 1). */
  weight?: ArrayLike<number>;
}

/**
 * Checks a dataset's shapes and values once, up front, so that algorithms never silently produce NaN.
 * `numClass` (when given) requires integer labels in 0..numClass-1.
 */
export function validateDataset(
  d: Dataset,
  opts: { field?: string; numClass?: number; allowEmpty?: boolean; labelRange?: [number, number] } = {},
): void {
  const f = opts.field ?? 'data';
  if (!d?.x) throw new MlInputError(f, 'is missing its feature matrix x');
  if (!opts.allowEmpty && d.x.rows === 0) throw new MlInputError(f, 'is empty (0 rows)');
  if (d.x.cols === 0) throw new MlInputError(f, 'has no feature columns');
  if (!d.y || d.y.length !== d.x.rows) {
    throw new MlInputError(`${f}.y`, `has ${d.y?.length ?? 0} labels for ${d.x.rows} rows`);
  }
  for (let i = 0; i < d.y.length; i++) {
    const v = d.y[i]!;
    if (!Number.isFinite(v)) throw new MlInputError(`${f}.y`, `label at row ${i} is not finite (${v})`);
    if (opts.numClass !== undefined && (!Number.isInteger(v) || v < 0 || v >= opts.numClass)) {
      throw new MlInputError(`${f}.y`, `label ${v} at row ${i} is outside 0..${opts.numClass - 1}`);
    }
    if (opts.labelRange && (v < opts.labelRange[0] || v > opts.labelRange[1])) {
      throw new MlInputError(
        `${f}.y`,
        `label ${v} at row ${i} is outside [${opts.labelRange[0]}, ${opts.labelRange[1]}]`,
      );
    }
  }
  if (d.weight !== undefined) {
    if (d.weight.length !== d.x.rows) {
      throw new MlInputError(`${f}.weight`, `has ${d.weight.length} weights for ${d.x.rows} rows`);
    }
    for (let i = 0; i < d.weight.length; i++) {
      const w = d.weight[i]!;
      if (!Number.isFinite(w) || w < 0) {
        throw new MlInputError(`${f}.weight`, `weight at row ${i} must be finite and >= 0, got ${w}`);
      }
    }
  }
}

/** Rejects infinite feature values (NaN is allowed: it means missing). */
export function assertNoInfinity(x: DenseMatrix, field = 'x'): void {
  const a = x.data;
  for (let k = 0; k < a.length; k++) {
    const v = a[k]!;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new MlInputError(field, `infinite value at row ${k % x.rows}, column ${Math.floor(k / x.rows)}`);
    }
  }
}
