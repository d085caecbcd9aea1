import { MlInputError } from '../core/errors.js';

/**
 * Dense, column-major Float32 matrix. `NaN` marks a missing value. Column `j` occupies
 * `data[j * rows .. (j + 1) * rows)`, so `column(j)` is a zero-copy view and per-feature passes
 * (binning, scaling) stream through memory.
 *
 * Categorical features are integer-coded (0, 1, 2, ...) and flagged in `categorical`; algorithms that
 * do not treat them specially read them as numbers.
 *
 * @example
 * const x = DenseMatrix.fromRows([[1, 2], [3, NaN]]); // 2×2, x.get(1, 1) is NaN (missing)
 * const v = DenseMatrix.fromColumnMajor(new Float32Array(buf), 1000, 28); // no copy
 */
export class DenseMatrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly categorical: readonly boolean[];

  constructor(data: Float32Array, rows: number, cols: number, categorical?: readonly boolean[]) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new MlInputError('shape', `rows and cols must be non-negative integers, got ${rows}×${cols}`);
    }
    if (data.length !== rows * cols) {
      throw new MlInputError('data', `length ${data.length} does not match ${rows}×${cols} = ${rows * cols}`);
    }
    if (categorical && categorical.length !== cols) {
      throw new MlInputError('categorical', `has ${categorical.length} flags for ${cols} columns`);
    }
    this.data = data;
    this.rows = rows;
    this.cols = cols;
    this.categorical = categorical ?? new Array<boolean>(cols).fill(false);
  }

  /** Wraps an existing column-major buffer without copying. */
  static fromColumnMajor(data: Float32Array, rows: number, cols: number, categorical?: readonly boolean[]) {
    return new DenseMatrix(data, rows, cols, categorical);
  }

  /** Copies a row-major buffer (`data[i * cols + j]`) into column-major order. */
  static fromRowMajor(data: ArrayLike<number>, rows: number, cols: number): DenseMatrix {
    if (data.length !== rows * cols) {
      throw new MlInputError('data', `length ${data.length} does not match ${rows}×${cols} = ${rows * cols}`);
    }
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = i * cols;
      for (let j = 0; j < cols; j++) out[j * rows + i] = data[r + j]!;
    }
    return new DenseMatrix(out, rows, cols);
  }

  /** Builds from an array of rows; `null`/`undefined` cells become missing (NaN). Rows must be equally long. */
  static fromRows(rows: readonly (readonly (number | null | undefined)[])[]): DenseMatrix {
    const n = rows.length;
    const d = n === 0 ? 0 : rows[0]!.length;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      if (r.length !== d) throw new MlInputError('rows', `row ${i} has ${r.length} values, expected ${d}`);
      for (let j = 0; j < d; j++) {
        const v = r[j];
        out[j * n + i] = v === null || v === undefined ? Number.NaN : v;
      }
    }
    return new DenseMatrix(out, n, d);
  }

  /** Builds from equally long columns (copied). */
  static fromColumns(columns: readonly ArrayLike<number>[], categorical?: readonly boolean[]): DenseMatrix {
    const d = columns.length;
    const n = d === 0 ? 0 : columns[0]!.length;
    const out = new Float32Array(n * d);
    for (let j = 0; j < d; j++) {
      const c = columns[j]!;
      if (c.length !== n)
        throw new MlInputError('columns', `column ${j} has ${c.length} values, expected ${n}`);
      out.set(c, j * n);
    }
    return new DenseMatrix(out, n, d, categorical);
  }

  /** Zero-copy view of column `j`. */
  column(j: number): Float32Array {
    return this.data.subarray(j * this.rows, (j + 1) * this.rows);
  }

  get(i: number, j: number): number {
    return this.data[j * this.rows + i]!;
  }

  /** Copies row `i` into `out` (allocated when omitted) in feature order. */
  row(i: number, out: Float32Array = new Float32Array(this.cols)): Float32Array {
    for (let j = 0; j < this.cols; j++) out[j] = this.data[j * this.rows + i]!;
    return out;
  }

  /** A new matrix holding the given rows, in the given order. */
  selectRows(indices: ArrayLike<number>): DenseMatrix {
    const m = indices.length;
    const out = new Float32Array(m * this.cols);
    for (let j = 0; j < this.cols; j++) {
      const src = j * this.rows;
      const dst = j * m;
      for (let k = 0; k < m; k++) out[dst + k] = this.data[src + indices[k]!]!;
    }
    return new DenseMatrix(out, m, this.cols, this.categorical);
  }

  /** Row-major copy (`out[i * cols + j]`), the layout ONNX runtimes and XGBoost expect. */
  toRowMajor(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    for (let j = 0; j < this.cols; j++) {
      const src = j * this.rows;
      for (let i = 0; i < this.rows; i++) out[i * this.cols + j] = this.data[src + i]!;
    }
    return out;
  }
}
