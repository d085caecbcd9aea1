/**
 * One-pass statistics of numeric columns fed in vectors (DuckDB's 2048-value chunks as
 * Float64Array + validity bitmask): count, sum, standard deviation, a fixed-bin histogram and the
 * distinct count in one loop per chunk, and a uniform row sample (by hashed row number) for
 * correlations and percentiles. A few nanoseconds per value, where the same aggregates as SQL
 * (10 bin counts, a distinct hash table, stddev, a reservoir per column) cost DuckDB ~2 s of CPU
 * on 1M rows × 23 columns. Deterministic: the same values in the same order give the same numbers.
 */

export const histogramBins = 10;

/**
 * Distinct values are counted exactly until a column has more than this many; beyond, the count
 * is estimated from the values whose hash falls in 1/16 of the hash space (counted exactly, then
 * scaled: relative error about 1/sqrt(count / 16), under 2% here) and flagged approximate.
 */
const sampledHashBits = 4;

export interface NumericSummary {
  count: number;
  sum: number | null;
  std: number | null;
  distinct: number;
  distinctApprox: boolean;
  /** 101 values (p0…p100, linear interpolation between closest ranks as numpy's default), or [] when empty. */
  percentiles: number[];
  /** Counts of `histogramBins` equal-width bins over [min, max] (the last bin is closed), or [] without bounds. */
  histogram: number[];
}

/**
 * A 32-bit hash of a double given as its two 32-bit halves (multiplicative: its high bits are
 * well mixed, and only they are used); -0 hashes as 0. Callers read the halves from a Uint32Array
 * view of the values, with no conversion per value.
 */
export function hashBits(lo: number, hi: number): number {
  return Math.imul(lo ^ Math.imul(lo === 0 && hi === 0x80000000 ? 0 : hi, 0x85ebca6b), 0x9e3779b1) >>> 0;
}

const scratch = new Float64Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** hashBits of a double. */
export function hashDouble(value: number): number {
  scratch[0] = value;
  return hashBits(scratchBits[0] as number, scratchBits[1] as number);
}

/** A 32-bit hash of a non-negative integer below 2^53 (a row number). */
export function hashIndex(index: number, seed: number): number {
  let h = (index | 0) ^ Math.imul(Math.floor(index / 4294967296) | 0, 0x27d4eb2d) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Open-addressing set of doubles (NaN counted apart), growing by doubling. */
export class DoubleSet {
  #keys: Float64Array;
  #used: Uint8Array;
  #mask: number;
  /** Slots are the top bits of the hash remixed (hashBits' low bits are weak, and sampled values share their top bits). */
  #shift: number;
  #size = 0;
  #nan = false;

  constructor(capacity = 1024) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.#keys = new Float64Array(slots);
    this.#used = new Uint8Array(slots);
    this.#mask = slots - 1;
    this.#shift = 32 - Math.log2(slots);
  }

  get size(): number {
    return this.#size + (this.#nan ? 1 : 0);
  }

  /** Adds `value` whose hashDouble() is `hash`. */
  add(value: number, hash: number): void {
    if (Number.isNaN(value)) {
      this.#nan = true;
      return;
    }
    const key = value === 0 ? 0 : value;
    const keys = this.#keys;
    const used = this.#used;
    let slot = Math.imul(hash, 0x27d4eb2d) >>> this.#shift;
    while (used[slot] === 1) {
      if (keys[slot] === key) return;
      slot = (slot + 1) & this.#mask;
    }
    used[slot] = 1;
    keys[slot] = key;
    if (++this.#size * 2 > keys.length) this.#grow();
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldUsed = this.#used;
    const slots = oldKeys.length * 2;
    this.#keys = new Float64Array(slots);
    this.#used = new Uint8Array(slots);
    this.#mask = slots - 1;
    this.#shift = 32 - Math.log2(slots);
    this.#size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldUsed[i] === 1) this.add(oldKeys[i] as number, hashDouble(oldKeys[i] as number));
    }
  }
}

/** numpy's default quantile (linear interpolation) over sorted values. */
export function interpolatedQuantile(sorted: Float64Array, p: number): number {
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  const a = sorted[lower] as number;
  return a + ((sorted[upper] as number) - a) * (position - lower);
}

/**
 * Adds each present value's bin, floor((v - min) / width) capped at the last bin, to `bins`
 * (truncation is floor here since v >= min). NaN fails the comparison and is not counted, as in SQL.
 */
function binValues(
  values: Float64Array,
  valid: Uint8Array | null,
  length: number,
  lo: number,
  inverse: number,
  bins: Float64Array,
): void {
  const last = histogramBins - 1;
  if (valid === null) {
    for (let i = 0; i < length; i++) {
      const x = ((values[i] as number) - lo) * inverse;
      if (Number.isNaN(x)) continue;
      let bin = x | 0;
      if (bin > last) bin = last;
      bins[bin] = (bins[bin] as number) + 1;
    }
    return;
  }
  for (let i = 0; i < length; i++) {
    if (((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const x = ((values[i] as number) - lo) * inverse;
    if (Number.isNaN(x)) continue;
    let bin = x | 0;
    if (bin > last) bin = last;
    bins[bin] = (bins[bin] as number) + 1;
  }
}

export interface NumericStatsOptions {
  /** Exact bounds (from the Parquet statistics) placing the histogram bins; null: no histogram. */
  min: number | null;
  max: number | null;
  /** Whether to count distinct values (integer columns are counted exactly by DuckDB instead). */
  distinct: boolean;
  /** Distinct values counted exactly before switching to the hash-sampled estimate (Infinity: always exact). */
  exactDistinctLimit: number;
}

export class NumericStats {
  readonly #lo: number;
  readonly #width: number;
  readonly #bins: Float64Array;
  readonly #histogram: boolean;
  readonly #distinct: boolean;
  readonly #exactLimit: number;
  #exact: DoubleSet | null;
  readonly #sampled = new DoubleSet();
  #count = 0;
  #shift = Number.NaN;
  #sum = 0;
  #shiftedSum = 0;
  #shiftedSquares = 0;

  constructor(options: NumericStatsOptions) {
    const { min, max } = options;
    const bounded = min !== null && max !== null && Number.isFinite(min) && Number.isFinite(max);
    this.#lo = min ?? 0;
    this.#width =
      bounded && (max as number) > (min as number) ? ((max as number) - (min as number)) / histogramBins : 1;
    // Four interleaved sets of counters: consecutive values usually fall in the same bin, and one
    // counter would make each increment wait for the previous one.
    this.#bins = new Float64Array(histogramBins * 4);
    this.#histogram = bounded;
    this.#distinct = options.distinct;
    this.#exactLimit = options.exactDistinctLimit;
    this.#exact = options.distinct ? new DoubleSet() : null;
  }

  /**
   * Adds `length` values; `bits` views the same memory as 32-bit halves; bit i of `valid` (LSB
   * first) is 0 for a missing value, `valid` null: all present.
   */
  add(values: Float64Array, bits: Uint32Array, valid: Uint8Array | null, length: number): void {
    if (Number.isNaN(this.#shift)) {
      for (let i = 0; i < length; i++) {
        if (valid === null || ((valid[i >> 3] as number) & (1 << (i & 7))) !== 0) {
          const v = values[i] as number;
          if (Number.isFinite(v)) {
            this.#shift = v;
            break;
          }
        }
      }
    }
    const shift = Number.isNaN(this.#shift) ? 0 : this.#shift;
    // Separate tight loops (moments, bins, distinct values): V8 keeps each one's state in registers.
    let count = 0;
    let sum = 0;
    let shifted = 0;
    let squares = 0;
    if (valid === null) {
      count = length;
      for (let i = 0; i < length; i++) {
        const v = values[i] as number;
        const d = v - shift;
        sum += v;
        shifted += d;
        squares += d * d;
      }
    } else {
      for (let i = 0; i < length; i++) {
        if (((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
        const v = values[i] as number;
        const d = v - shift;
        count++;
        sum += v;
        shifted += d;
        squares += d * d;
      }
    }
    this.#count += count;
    this.#sum += sum;
    this.#shiftedSum += shifted;
    this.#shiftedSquares += squares;
    if (this.#histogram) binValues(values, valid, length, this.#lo, 1 / this.#width, this.#bins);
    if (this.#distinct) this.#distinctValues(values, bits, valid, length);
  }

  #distinctValues(values: Float64Array, bits: Uint32Array, valid: Uint8Array | null, length: number): void {
    const sampled = this.#sampled;
    const exact = this.#exact;
    if (exact !== null) {
      for (let i = 0; i < length; i++) {
        if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
        const h = hashBits(bits[2 * i] as number, bits[2 * i + 1] as number);
        if (h >>> (32 - sampledHashBits) === 0) sampled.add(values[i] as number, h);
        exact.add(values[i] as number, h);
      }
      if (exact.size > this.#exactLimit) this.#exact = null;
      return;
    }
    for (let i = 0; i < length; i++) {
      if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
      const h = hashBits(bits[2 * i] as number, bits[2 * i + 1] as number);
      if (h >>> (32 - sampledHashBits) === 0) sampled.add(values[i] as number, h);
    }
  }

  /** The summary; `sample` holds the column's values in the percentile sample (NaN for missing). */
  finish(sample: Float64Array): NumericSummary {
    const n = this.#count;
    let std: number | null = null;
    if (n >= 2) {
      const variance = (this.#shiftedSquares - (this.#shiftedSum * this.#shiftedSum) / n) / (n - 1);
      std = Math.sqrt(Math.max(0, variance));
    }
    // Float64Array sorts numerically with NaN last.
    const sorted = sample.slice().sort();
    let present = sorted.length;
    while (present > 0 && Number.isNaN(sorted[present - 1])) present--;
    const values = sorted.subarray(0, present);
    const percentiles =
      present > 0 ? Array.from({ length: 101 }, (_, p) => interpolatedQuantile(values, p / 100)) : [];
    let distinct = 0;
    let distinctApprox = false;
    if (this.#exact !== null) distinct = this.#exact.size;
    else if (this.#distinct) {
      distinct = this.#sampled.size * 2 ** sampledHashBits;
      distinctApprox = true;
    }
    return {
      count: n,
      sum: n > 0 ? this.#sum : null,
      std,
      distinct,
      distinctApprox,
      percentiles,
      histogram: this.#histogram
        ? Array.from({ length: histogramBins }, (_, b) =>
            [0, 1, 2, 3].reduce((total, lane) => total + (this.#bins[lane * histogramBins + b] as number), 0),
          )
        : [],
    };
  }
}

/**
 * A uniform row sample by hashed row number: every row up to `target` rows, beyond that each row
 * whose hash falls in a fixed fraction (about `target` rows, the same rows every run). A smaller
 * fraction of the same hash gives a sub-sample of it (`subsample`), so one pass serves both the
 * correlations (~100 000 rows) and the percentiles (~16 384 rows).
 */
export class RowSample {
  readonly #threshold: number;
  readonly #totalRows: number;
  #columns: Float64Array[];
  #hashes: Uint32Array;
  #length = 0;

  constructor(width: number, totalRows: number, target: number) {
    this.#totalRows = totalRows;
    this.#threshold = thresholdFor(target, totalRows);
    const capacity = Math.min(totalRows, Math.ceil(target * 1.1) + 1024);
    this.#columns = Array.from({ length: width }, () => new Float64Array(capacity));
    this.#hashes = new Uint32Array(capacity);
  }

  /** Picks the rows of a chunk starting at row `offset`: returns their positions in the chunk. */
  pick(offset: number, length: number): Int32Array {
    const rows = new Int32Array(length);
    let n = 0;
    const at = this.#length;
    if (at + length > this.#hashes.length) this.#grow(at + length);
    for (let i = 0; i < length; i++) {
      const h = hashIndex(offset + i, 42);
      if (h < this.#threshold) {
        this.#hashes[at + n] = h;
        rows[n++] = i;
      }
    }
    return rows.subarray(0, n);
  }

  /** Appends column `c`'s values at `rows` (NaN for missing); call for every column, then `advance`. */
  take(c: number, rows: Int32Array, values: Float64Array, valid: Uint8Array | null): void {
    const column = this.#columns[c] as Float64Array;
    let at = this.#length;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k] as number;
      column[at++] =
        valid === null || ((valid[i >> 3] as number) & (1 << (i & 7))) !== 0
          ? (values[i] as number)
          : Number.NaN;
    }
  }

  advance(rows: number): void {
    this.#length += rows;
  }

  #grow(needed: number): void {
    const size = Math.max(needed, this.#hashes.length * 2);
    const hashes = new Uint32Array(size);
    hashes.set(this.#hashes.subarray(0, this.#length));
    this.#hashes = hashes;
    this.#columns = this.#columns.map((column) => {
      const grown = new Float64Array(size);
      grown.set(column.subarray(0, this.#length));
      return grown;
    });
  }

  columns(): Float64Array[] {
    return this.#columns.map((c) => c.subarray(0, this.#length));
  }

  /** The rows of this sample that a sample of about `target` rows would hold, per column. */
  subsample(target: number): Float64Array[] {
    const threshold = thresholdFor(target, this.#totalRows);
    if (threshold >= this.#threshold) return this.columns();
    const keep: number[] = [];
    for (let r = 0; r < this.#length; r++) if ((this.#hashes[r] as number) < threshold) keep.push(r);
    return this.#columns.map((column) => Float64Array.from(keep, (r) => column[r] as number));
  }
}

/** The hash threshold keeping about `target` of `totalRows` rows (all of them when there are fewer). */
function thresholdFor(target: number, totalRows: number): number {
  return totalRows <= target ? 2 ** 32 : Math.ceil((target / totalRows) * 2 ** 32);
}
