import { MlInputError } from '../core/errors.js';
import type { DenseMatrix } from './matrix.js';

/**
 * Row-major Float64 copy of a matrix for distance-based algorithms (k-means, kNN, RCF), whose inner loops
 * walk one row's features; rejects missing or infinite values, which those algorithms cannot place.
 */
export function denseRows(x: DenseMatrix, field = 'x'): Float64Array {
  const n = x.rows;
  const d = x.cols;
  const out = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const c = x.column(j);
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      if (!Number.isFinite(v))
        throw new MlInputError(field, `row ${i}, column ${j} is ${v}; this algorithm needs finite values`);
      out[i * d + j] = v;
    }
  }
  return out;
}
