import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DenseMatrix } from '@trainyard/ml/data/matrix';

/** A channel read into features and labels (the label is the first column, as SageMaker's built-ins expect). */
export interface ChannelData {
  x: DenseMatrix;
  y: Float32Array;
}

export type ChannelFormat = 'csv' | 'libsvm' | 'parquet';

/** A clear refusal of a channel's content, shown as the job's FailureReason. */
export class ChannelDataError extends Error {}

/** The format of a channel: from its ContentType, else from the file names, else sniffed. */
export function channelFormat(contentType: string | undefined, files: string[], head: string): ChannelFormat {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'text/csv' || ct === 'csv') return 'csv';
  if (ct === 'text/libsvm' || ct === 'text/x-libsvm' || ct === 'libsvm') return 'libsvm';
  if (ct === 'application/x-parquet' || ct === 'application/vnd.apache.parquet' || ct === 'parquet')
    return 'parquet';
  if (ct !== '')
    throw new ChannelDataError(
      `ContentType "${contentType}" is not supported; use text/csv, text/libsvm or application/x-parquet`,
    );
  if (files.every((f) => f.endsWith('.parquet'))) return 'parquet';
  if (files.every((f) => f.endsWith('.csv'))) return 'csv';
  if (files.every((f) => /\.(libsvm|svm)$/.test(f))) return 'libsvm';
  const firstLine = head.split('\n', 1)[0] ?? '';
  return /^\s*[-+0-9.eE]+(\s+\d+:[^\s]+)+\s*$/.test(firstLine) ||
    (/^\s*[-+0-9.eE]+\s*$/.test(firstLine) && !firstLine.includes(','))
    ? 'libsvm'
    : 'csv';
}

/** Files of a channel folder, sorted, skipping hidden files and SageMaker's manifest leftovers. */
export async function channelFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() && (await stat(path)).size > 0) out.push(path);
    }
  };
  await walk(dir);
  return out;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Grows a Float32Array as rows arrive. */
class FloatBuffer {
  data = new Float32Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/**
 * Parses CSV with the label in the first column and no header (SageMaker's built-in convention).
 * Empty cells are missing (NaN). Numbers with at most 15 significant digits and no exponent take an
 * exactly rounded fast path; others go through Number().
 */
export function parseLabelFirstCsv(
  bytes: Uint8Array,
  file = 'csv',
): { rows: number; cols: number; rowMajor: Float32Array } {
  const values = new FloatBuffer();
  let cols = -1;
  let rows = 0;
  let rowCols = 0;
  const n = bytes.length;
  let i = 0;
  let line = 1;
  // Fields the fast path cannot take (more than 15 digits, exponents, words) are parsed from one
  // latin1 copy of the file: a slice and Number() per field, no decoder call each time.
  let latin1: string | undefined;
  while (i < n) {
    // One field.
    const start = i;
    let neg = false;
    let mant = 0;
    let digits = 0;
    let frac = 0;
    // Digits 16 to 19 go to `low`: values end up float32, which needs far fewer.
    let low = 0;
    let lowDigits = 0;
    let slow = false;
    let c = bytes[i]!;
    if (c === 0x2d || c === 0x2b) {
      neg = c === 0x2d;
      i++;
    }
    let seenDot = false;
    for (; i < n; i++) {
      c = bytes[i]!;
      if (c >= 0x30 && c <= 0x39) {
        if (digits < 15) {
          mant = mant * 10 + (c - 0x30);
          if (mant !== 0) digits++;
          if (seenDot) frac++;
        } else if (lowDigits < 4) {
          low = low * 10 + (c - 0x30);
          lowDigits++;
          if (seenDot) frac++;
          else slow = true;
        } else {
          slow = true;
        }
      } else if (c === 0x2e && !seenDot) seenDot = true;
      else if (c === 0x2c || c === 0x0a || c === 0x0d) break;
      else slow = true;
    }
    let value: number;
    if (i === start) value = Number.NaN;
    else if (slow || frac > 22) {
      latin1 ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      const text = latin1.slice(start, i).trim();
      value = text === '' ? Number.NaN : Number(text);
      if (Number.isNaN(value) && !/^(nan|NaN|NA|null)$/.test(text)) {
        throw new ChannelDataError(
          `${file} line ${line}: "${text.slice(0, 40)}" is not a number (CSV for built-ins is numeric, label first, no header)`,
        );
      }
    } else {
      if (lowDigits === 0) value = frac === 0 ? mant : mant / POW10[frac]!;
      else {
        // Within 2 double ulps of the exact value; exact once stored as float32 unless the value
        // sits by a float32 rounding boundary, which the slow path then settles.
        value = (mant * POW10[lowDigits]! + low) / POW10[frac]!;
        const f = Math.fround(value);
        if (Math.fround(value * (1 + 5e-16)) !== f || Math.fround(value * (1 - 5e-16)) !== f) {
          latin1 ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
          value = Math.abs(Number(latin1.slice(start, i)));
        }
      }
      if (neg) value = -value;
    }
    values.push(value);
    rowCols++;
    if (i >= n || bytes[i] !== 0x2c) {
      // End of the row (or of the file).
      if (cols === -1) cols = rowCols;
      else if (rowCols !== cols) {
        throw new ChannelDataError(`${file} line ${line}: ${rowCols} columns, the first row has ${cols}`);
      }
      rows++;
      rowCols = 0;
      while (i < n && (bytes[i] === 0x0d || bytes[i] === 0x0a)) {
        if (bytes[i] === 0x0a) line++;
        i++;
      }
    } else {
      i++;
      if (i >= n) {
        values.push(Number.NaN);
        rowCols++;
      }
    }
  }
  return { rows, cols: Math.max(0, cols), rowMajor: values.data.subarray(0, values.length) };
}

/** Splits label-first row-major values into column-major features and labels. */
export function splitLabelFirst(
  rows: number,
  cols: number,
  rowMajor: Float32Array,
  file: string,
): ChannelData {
  if (cols < 2)
    throw new ChannelDataError(
      `${file}: needs a label column and at least one feature, got ${cols} column(s)`,
    );
  const d = cols - 1;
  const y = new Float32Array(rows);
  const x = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const label = rowMajor[base]!;
    if (Number.isNaN(label))
      throw new ChannelDataError(`${file} row ${r + 1}: the label (first column) is missing`);
    y[r] = label;
    for (let j = 0; j < d; j++) x[j * rows + r] = rowMajor[base + 1 + j]!;
  }
  return { x: DenseMatrix.fromColumnMajor(x, rows, d), y };
}

/** Parses LIBSVM (`label index:value …`); absent features are missing, as XGBoost reads it. */
export function parseLibsvm(text: string, file = 'libsvm'): ChannelData {
  const labels: number[] = [];
  const entries: { row: number; col: number; value: number }[] = [];
  let maxCol = -1;
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const label = Number(parts[0]!.split(':')[0]);
    if (!Number.isFinite(label))
      throw new ChannelDataError(`${file} line ${li + 1}: label "${parts[0]}" is not a number`);
    const row = labels.length;
    labels.push(label);
    for (let k = 1; k < parts.length; k++) {
      const [idx, val] = parts[k]!.split(':');
      const col = Number(idx);
      const value = Number(val);
      if (!Number.isInteger(col) || col < 0 || val === undefined || Number.isNaN(value)) {
        throw new ChannelDataError(`${file} line ${li + 1}: "${parts[k]}" is not index:value`);
      }
      if (col > maxCol) maxCol = col;
      entries.push({ row, col, value });
    }
  }
  const rows = labels.length;
  const d = maxCol + 1;
  if (d < 1) throw new ChannelDataError(`${file}: no features`);
  const x = new Float32Array(rows * d).fill(Number.NaN);
  for (const e of entries) x[e.col * rows + e.row] = e.value;
  return { x: DenseMatrix.fromColumnMajor(x, rows, d), y: Float32Array.from(labels) };
}

/** Reads Parquet files (label = the `labelColumn` if given, else the first column) with DuckDB. */
async function readParquet(files: string[], labelColumn: string | undefined): Promise<ChannelData> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet([${list}])`);
    const names = reader.columnNames();
    const label = labelColumn ?? names[0]!;
    const labelIndex = names.indexOf(label);
    if (labelIndex < 0)
      throw new ChannelDataError(`Parquet has no column "${label}"; columns: ${names.join(', ')}`);
    const columns = reader.getColumns();
    const rows = reader.currentRowCount;
    const featureIndexes = names.map((_, j) => j).filter((j) => j !== labelIndex);
    const toNumber = (v: unknown, j: number) => {
      if (v === null || v === undefined) return Number.NaN;
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      throw new ChannelDataError(
        `Parquet column "${names[j]}" is not numeric (got ${typeof v}); built-ins read numeric columns`,
      );
    };
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++) y[r] = toNumber(columns[labelIndex]![r], labelIndex);
    const x = new Float32Array(rows * featureIndexes.length);
    featureIndexes.forEach((j, k) => {
      const col = columns[j]!;
      for (let r = 0; r < rows; r++) x[k * rows + r] = toNumber(col[r], j);
    });
    return { x: DenseMatrix.fromColumnMajor(x, rows, featureIndexes.length), y };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Reads every file of a channel folder in one format; the label is the first column. */
export async function readChannel(
  dir: string,
  contentType: string | undefined,
  options: { labelColumn?: string; unlabeled?: boolean } = {},
): Promise<ChannelData> {
  const files = await channelFiles(dir);
  if (files.length === 0) throw new ChannelDataError(`channel folder ${dir} has no files`);
  const head = (await readFile(files[0]!)).subarray(0, 4096).toString('latin1');
  const format = channelFormat(contentType, files, head);
  if (format === 'parquet') return readParquet(files, options.labelColumn);
  if (format === 'libsvm') {
    const text = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
    return parseLibsvm(text, files.length === 1 ? files[0]! : dir);
  }
  let rows = 0;
  let cols = -1;
  const parts: Float32Array[] = [];
  for (const file of files) {
    const parsed = parseLabelFirstCsv(await readFile(file), file);
    if (parsed.rows === 0) continue;
    if (cols !== -1 && parsed.cols !== cols) {
      throw new ChannelDataError(`${file}: ${parsed.cols} columns, other files of the channel have ${cols}`);
    }
    cols = parsed.cols;
    rows += parsed.rows;
    parts.push(parsed.rowMajor);
  }
  const all = parts.length === 1 ? parts[0]! : new Float32Array(rows * cols);
  if (parts.length > 1) {
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
  }
  // SageMaker's `text/csv;label_size=0` (the default of its unsupervised built-ins): no label column.
  const labelSize = /label_size=(\d+)/.exec(contentType ?? '')?.[1];
  if (labelSize === '0' || (labelSize === undefined && options.unlabeled)) {
    const x = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) x[j * rows + r] = all[r * cols + j]!;
    return { x: DenseMatrix.fromColumnMajor(x, rows, cols), y: new Float32Array(rows) };
  }
  return splitLabelFirst(rows, cols, all, dir);
}
