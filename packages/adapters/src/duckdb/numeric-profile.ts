/**
 * One-pass statistics of numeric columns fed in vectors (DuckDB's 2048-value chunks as
 * Float64Array + validity bitmask): count, sum, standard deviation, a fixed-bin histogram and the
 * distinct count in a few tight loops per chunk, and a uniform row sample (by hashed row number)
 * for correlations and percentiles. A few nanoseconds per value, where the same aggregates as SQL
 * (10 bin counts, a distinct hash table, stddev, a reservoir per column) cost DuckDB ~2 s of CPU
 * on 1M rows × 23 columns. Deterministic: the same values in the same order give the same numbers.
 */

export const histogramBins = 10;

/**
 * Without an exact count, the distinct count is estimated from the values whose hash falls in
 * 1/2^sampledHashBits = 1/16 of the hash space (counted exactly, then scaled: relative error
 * about 1/sqrt(sampled count)) and flagged approximate.
 */
const sampledHashBits = 4;

export interface NumericSummary {
  count: number;
  sum: number | null;
  std: number | null;
  distinct: number;
  distinctApprox: boolean;
  /** Distinct values among the hash-sampled ones (the estimate is this × 16). */
  sampledDistinct: number;
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
 * (truncation is floor here since v >= min). NaN is not counted, as in SQL. `bins` holds four
 * interleaved sets of counters, one per row mod 4: consecutive values often fall in the same bin,
 * and with one counter each increment would wait for the previous one.
 */
function binValues(
  values: Float64Array,
  valid: Uint8Array | null,
  length: number,
  lo: number,
  inverse: number,
  bins: Float64Array,
  hasNaN: boolean,
): void {
  const last = histogramBins - 1;
  if (valid === null && !hasNaN) {
    const end = length & ~3;
    let i = 0;
    for (; i < end; i += 4) {
      let a = (((values[i] as number) - lo) * inverse) | 0;
      let b = (((values[i + 1] as number) - lo) * inverse) | 0;
      let c = (((values[i + 2] as number) - lo) * inverse) | 0;
      let d = (((values[i + 3] as number) - lo) * inverse) | 0;
      if (a > last) a = last;
      if (b > last) b = last;
      if (c > last) c = last;
      if (d > last) d = last;
      bins[a] = (bins[a] as number) + 1;
      bins[histogramBins + b] = (bins[histogramBins + b] as number) + 1;
      bins[2 * histogramBins + c] = (bins[2 * histogramBins + c] as number) + 1;
      bins[3 * histogramBins + d] = (bins[3 * histogramBins + d] as number) + 1;
    }
    for (; i < length; i++) {
      let a = (((values[i] as number) - lo) * inverse) | 0;
      if (a > last) a = last;
      bins[a] = (bins[a] as number) + 1;
    }
    return;
  }
  for (let i = 0; i < length; i++) {
    if (valid !== null && ((valid[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
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
  /** Count distinct values exactly (else only the hash-sampled estimate is kept). */
  exactDistinct: boolean;
}

export class NumericStats {
  readonly #lo: number;
  readonly #width: number;
  readonly #bins: Float64Array;
  readonly #histogram: boolean;
  readonly #distinct: boolean;
  readonly #exact: DoubleSet | null;
  readonly #sampled = new DoubleSet(4096);
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
    // Four interleaved sets of counters (see binValues).
    this.#bins = new Float64Array(histogramBins * 4);
    this.#histogram = bounded;
    this.#distinct = options.distinct;
    this.#exact = options.distinct && options.exactDistinct ? new DoubleSet() : null;
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
    // A NaN makes the sum NaN: only then do the bins need the NaN test.
    if (this.#histogram)
      binValues(values, valid, length, this.#lo, 1 / this.#width, this.#bins, Number.isNaN(sum));
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
      sampledDistinct: this.#sampled.size,
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
  /** Reused by pick: its result is valid until the next call. */
  #picked = new Int32Array(2048);

  constructor(width: number, totalRows: number, target: number) {
    this.#totalRows = totalRows;
    this.#threshold = thresholdFor(target, totalRows);
    const capacity = Math.min(totalRows, Math.ceil(target * 1.1) + 1024);
    this.#columns = Array.from({ length: width }, () => new Float64Array(capacity));
    this.#hashes = new Uint32Array(capacity);
  }

  /** Picks the rows of a chunk starting at row `offset`: their positions in the chunk (valid until the next pick). */
  pick(offset: number, length: number): Int32Array {
    if (this.#picked.length < length) this.#picked = new Int32Array(length);
    const rows = this.#picked;
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

export interface NumericGroupResult {
  summaries: NumericSummary[];
  /** The group's columns of the correlation sample (NaN for missing). */
  sample: Float64Array[];
}

/** The statistics of a group of numeric columns, fed DuckDB's chunks in order, and their row sample. */
export class NumericGroup {
  readonly #stats: NumericStats[];
  readonly #sample: RowSample;
  #offset = 0;

  constructor(options: NumericStatsOptions[], totalRows: number, sampleRows: number) {
    this.#stats = options.map((o) => new NumericStats(o));
    this.#sample = new RowSample(options.length, totalRows, sampleRows);
  }

  add(columns: Float64Array[], valid: (Uint8Array | null)[], rows: number): void {
    const picked = this.#sample.pick(this.#offset, rows);
    for (let c = 0; c < this.#stats.length; c++) {
      const values = columns[c] as Float64Array;
      const bits = new Uint32Array(values.buffer, values.byteOffset, rows * 2);
      (this.#stats[c] as NumericStats).add(values, bits, valid[c] ?? null, rows);
      this.#sample.take(c, picked, values, valid[c] ?? null);
    }
    this.#sample.advance(picked.length);
    this.#offset += rows;
  }

  /** Summaries, with percentiles from a ~`percentileRows` part of the row sample. */
  finish(percentileRows: number): NumericGroupResult {
    const sub = this.#sample.subsample(percentileRows);
    return {
      summaries: this.#stats.map((s, c) => s.finish(sub[c] as Float64Array)),
      sample: this.#sample.columns(),
    };
  }
}
