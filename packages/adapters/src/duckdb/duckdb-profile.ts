import type { DuckDBConnection } from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import type { ColumnProfile, ColumnSchema, DatasetProfile } from '@trainyard/contracts/datasets';
import { invalidArgument } from '@trainyard/contracts/errors';
import { isNumericType } from '@trainyard/core/data/column-types';
import { type PlainRow, queryOne } from './duckdb-rows.js';
import { histogramBins, NumericGroup, type NumericSummary } from './numeric-profile.js';
import { pathLiteral, quoteIdent, stringLiteral } from './sql-literals.js';

const topK = 10;
const maxTargetClasses = 100;
/**
 * Beyond this many rows, correlations come from a seeded uniform sample of this many rows
 * (standard error about 0.003): DuckDB's corr() costs ~15 ns per row and pair, so 250 pairs on
 * 1M rows took longer than the rest of the profile together.
 */
const correlationSampleRows = 100_000;
/**
 * Up to this many rows, percentiles are exact (linearly interpolated, as numpy's default); beyond,
 * they come from a uniform sample of about this many rows (rank error about 1%, a part of the
 * correlation sample).
 */
const percentileSampleRows = 16_384;
/**
 * Correlations cover at most this many numeric columns (the target first, then the others in
 * schema order): 10 000 columns would make a 100-million-cell matrix and ~1 GB of profile.json.
 */
export const maxCorrelationColumns = 100;
/** Schemas wider than this profile their non-numeric columns from a temp table. */
const wideSchemaColumns = 1000;
/** Columns one scan reads at most (wide data is profiled in column batches of this size). */
const maxScanColumns = 256;
/** Numeric columns are streamed to JS in up to this many groups of at least `numericStreamMinColumns`. */
const numericStreams = 2;
const numericStreamMinColumns = 2;
const shownQuantiles: [string, number][] = [
  ['p01', 1],
  ['p05', 5],
  ['p10', 10],
  ['p25', 25],
  ['p50', 50],
  ['p75', 75],
  ['p90', 90],
  ['p95', 95],
  ['p99', 99],
];

type Bucket = { lower: number; upper: number; count: number };

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

interface ValueSummary {
  count: number;
  distinct: number;
  min: string | null;
  max: string | null;
  /** The `limit` most frequent values, most frequent first (ties by value). */
  top: { value: string; count: number }[];
}

/** One column's values grouped: count, exact distinct count, min/max and the most frequent values. */
async function valueSummary(
  conn: DuckDBConnection,
  from: string,
  column: string,
  limit: number,
): Promise<ValueSummary> {
  const q = quoteIdent(column);
  const row = await queryOne(
    conn,
    `WITH g AS MATERIALIZED (SELECT ${q} AS v, count(*) AS n FROM ${from} WHERE ${q} IS NOT NULL GROUP BY 1)
     SELECT (SELECT count(*) FROM g) AS d, (SELECT sum(n) FROM g) AS c,
            (SELECT CAST(min(v) AS VARCHAR) FROM g) AS lo, (SELECT CAST(max(v) AS VARCHAR) FROM g) AS hi,
            (SELECT list({'value': value, 'count': n} ORDER BY n DESC, value)
               FROM (SELECT CAST(v AS VARCHAR) AS value, n FROM g ORDER BY n DESC, value LIMIT ${limit})) AS top`,
  );
  const top = ((row.top ?? []) as { value: unknown; count: unknown }[])
    .map((e) => ({ value: String(e.value), count: Number(e.count) }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return {
    count: Number(row.c ?? 0),
    distinct: Number(row.d ?? 0),
    min: row.lo === null || row.lo === undefined ? null : String(row.lo),
    max: row.hi === null || row.hi === undefined ? null : String(row.hi),
    top,
  };
}

/**
 * Up to this many rows, distinct counts are exact for every column. Beyond, a `numeric` (floating)
 * column's distinct count is estimated from the values whose hash falls in 1/16 of the hash space
 * (counted exactly, then scaled; relative error about 1/sqrt(count)) when that count is at least
 * `minDistinctSample`, and flagged `distinctApprox`; below that (about 32 000 distinct values or
 * fewer), DuckDB counts it exactly in one more scan. Exact hash tables over million-value float
 * columns were the largest cost of the profile. Integer, categorical, text, boolean and datetime
 * columns stay exact.
 */
const exactDistinctRows = 100_000;
const minDistinctSample = 2048;

/**
 * Pearson correlations over pairwise complete rows, computed in JS from column arrays (NaN for
 * missing), each column shifted by its mean first so the one-pass sums keep their precision.
 * DuckDB's corr() aggregate cost ~15 ns per row and pair; this loop is several times faster.
 */
export function pearsonMatrix(columns: Float64Array[], shifts: number[]): (number | null)[][] {
  const k = columns.length;
  const matrix: (number | null)[][] = columns.map((_, a) => columns.map((__, b) => (a === b ? 1 : null)));
  const rows = columns[0]?.length ?? 0;
  // Each column shifted, with missing values as 0 (they add nothing to a product), its sums and
  // the positions of its missing values. A pair's sums over its complete rows are then the
  // column totals minus the few rows where the other column is missing, and one dot product:
  // no per-row test.
  const zeroed: Float64Array[] = [];
  const missing: Int32Array[] = [];
  const sums: number[] = [];
  const squares: number[] = [];
  for (const [c, column] of columns.entries()) {
    const shift = shifts[c] ?? 0;
    const out = new Float64Array(column.length);
    const at: number[] = [];
    let sum = 0;
    let square = 0;
    for (let i = 0; i < column.length; i++) {
      const v = (column[i] as number) - shift;
      if (Number.isNaN(v)) at.push(i);
      else {
        out[i] = v;
        sum += v;
        square += v * v;
      }
    }
    zeroed.push(out);
    missing.push(Int32Array.from(at));
    sums.push(sum);
    squares.push(square);
  }
  for (let a = 0; a < k; a++) {
    const x = zeroed[a] as Float64Array;
    const missingX = missing[a] as Int32Array;
    for (let b = a + 1; b < k; b++) {
      const y = zeroed[b] as Float64Array;
      const missingY = missing[b] as Int32Array;
      let sx = sums[a] as number;
      let sxx = squares[a] as number;
      let both = 0;
      for (let j = 0; j < missingY.length; j++) {
        const i = missingY[j] as number;
        const u = x[i] as number;
        sx -= u;
        sxx -= u * u;
        if (Number.isNaN(columns[a]?.[i])) both++;
      }
      let sy = sums[b] as number;
      let syy = squares[b] as number;
      for (let j = 0; j < missingX.length; j++) {
        const v = y[missingX[j] as number] as number;
        sy -= v;
        syy -= v * v;
      }
      const n = rows - missingX.length - missingY.length + both;
      const r = (n * dot(x, y) - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
      const value = n >= 2 && Number.isFinite(r) ? Math.max(-1, Math.min(1, r)) : null;
      (matrix[a] as (number | null)[])[b] = value;
      (matrix[b] as (number | null)[])[a] = value;
    }
  }
  return matrix;
}

/** Σ x·y, four rows per step into four sums (the adds are latency-bound). */
function dot(x: Float64Array, y: Float64Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = x.length & ~3;
  let i = 0;
  for (; i < end; i += 4) {
    s0 += (x[i] as number) * (y[i] as number);
    s1 += (x[i + 1] as number) * (y[i + 1] as number);
    s2 += (x[i + 2] as number) * (y[i + 2] as number);
    s3 += (x[i + 3] as number) * (y[i + 3] as number);
  }
  for (; i < x.length; i++) s0 += (x[i] as number) * (y[i] as number);
  return s0 + s1 + s2 + s3;
}

/** DuckDB names the error class first in its message. */
const outOfMemory = (error: unknown) => error instanceof Error && /^Out of Memory Error/i.test(error.message);

/**
 * One row of aggregates over `from`, given as groups that must stay in one query (a column's
 * aggregates). All groups go in one scan first; when DuckDB runs out of memory (ungrouped
 * aggregate states such as exact distinct counts do not spill, so a wide scan needs memory in
 * proportion to its column count), the remaining groups are retried in scans of half as many,
 * down to one group per scan. Each aggregate depends on its own column only, so the values are
 * the same however the groups are split; a failed attempt costs only the time until the limit
 * was hit.
 */
export async function aggregateInGroups(
  conn: DuckDBConnection,
  from: string,
  groups: string[][],
): Promise<{ row: PlainRow; scans: number }> {
  const row: PlainRow = {};
  let scans = 0;
  let size = groups.length;
  for (let next = 0; next < groups.length; ) {
    const group = groups.slice(next, next + size);
    try {
      Object.assign(row, await queryOne(conn, `SELECT ${group.flat().join(', ')} FROM ${from}`));
    } catch (error) {
      if (!outOfMemory(error) || size === 1) throw error;
      size = Math.ceil(size / 2);
      continue;
    }
    scans++;
    next += group.length;
  }
  return { row, scans };
}

/** The numeric columns' chunks as Float64Array + validity bitmask, straight from DuckDB's vectors. */
async function scanNumeric(
  conn: DuckDBConnection,
  sql: string,
  width: number,
  each: (columns: Float64Array[], valid: (Uint8Array | null)[], rows: number) => void,
): Promise<void> {
  const result = await conn.stream(sql);
  // Ask for the next chunk before working on this one: DuckDB decodes while JS counts.
  let next = result.fetchChunk();
  for (;;) {
    const chunk = await next;
    if (!chunk || chunk.rowCount === 0) break;
    next = result.fetchChunk();
    const rows = chunk.rowCount;
    const columns: Float64Array[] = [];
    const valid: (Uint8Array | null)[] = [];
    for (let c = 0; c < width; c++) {
      const vector = bindings.data_chunk_get_vector(chunk.chunk, c);
      const data = bindings.vector_get_data(vector, rows * 8);
      columns.push(new Float64Array(data.buffer, data.byteOffset, rows));
      // A plain Uint8Array view (the binding returns a Buffer): one array type keeps the loops monomorphic.
      const bits = bindings.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
      valid.push(bits ? new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) : null);
    }
    each(columns, valid, rows);
  }
}

/**
 * Profiles a Parquet file. Numeric min/max come from the Parquet row-group statistics (no scan
 * when the writer kept them, as DuckDB's does) to place the histogram bins. Then, at once:
 * - DuckDB streams the numeric columns to JS (two groups on two connections, see scanNumeric),
 *   which computes counts, moments, histograms and float distinct counts (exact up to 100 000
 *   rows; beyond, estimated from a hash sample, or recounted exactly by DuckDB when that sample
 *   is small) and keeps a uniform row sample by
 *   hashed row number: all rows up to 100 000 for the correlations, and ~16 384 of them for the
 *   percentiles (exact up to that many rows);
 * - DuckDB, on another connection, counts the integer columns' distinct values exactly and groups
 *   every other column's values (count, exact distinct count, min/max, most frequent values,
 *   target classes).
 * `connect` opens the extra connections (the caller closes them).
 */
export async function profileParquet(
  conn: DuckDBConnection,
  connect: () => Promise<DuckDBConnection>,
  parquetPath: string,
  schema: ColumnSchema[],
  target?: string,
): Promise<DatasetProfile> {
  if (target !== undefined && !schema.some((c) => c.name === target)) {
    throw invalidArgument('target', `column "${target}" does not exist`);
  }
  const file = pathLiteral(parquetPath);
  const from = `read_parquet(${file})`;
  const numeric = schema.filter((c) => isNumericType(c.type));

  // Parquet keeps the row count in its footer: no scan.
  const totalRows = Number((await queryOne(conn, `SELECT count(*) AS n FROM ${from}`)).n);
  const exactDistinct = totalRows <= exactDistinctRows;
  let passes = 0;

  // Bounds for the histogram bins. DuckDB answers min/max from row-group statistics when every
  // row group has them; otherwise this is a scan, and counted as one.
  const bounds: Record<string, unknown> = {};
  if (numeric.length > 0) {
    const names = numeric.map((c) => stringLiteral(c.name)).join(', ');
    const stats = await queryOne(
      conn,
      `SELECT count(*) FILTER (WHERE stats_min_value IS NULL AND stats_null_count IS DISTINCT FROM num_values) AS missing
         FROM parquet_metadata(${file}) WHERE path_in_schema IN (${names})`,
    );
    if (Number(stats.missing ?? 0) > 0) passes++;
    const minMax = schema.flatMap((c, i) =>
      isNumericType(c.type)
        ? [
            [
              `CAST(min(${quoteIdent(c.name)}) AS DOUBLE) AS "min${i}", CAST(max(${quoteIdent(c.name)}) AS DOUBLE) AS "max${i}"`,
            ],
          ]
        : [],
    );
    for (let at = 0; at < minMax.length; at += maxScanColumns) {
      Object.assign(bounds, (await aggregateInGroups(conn, from, minMax.slice(at, at + maxScanColumns))).row);
    }
  }
  const binWidth = (min: number, max: number) => (max > min ? (max - min) / histogramBins : 1);
  const targetColumn = schema.find((c) => c.name === target);

  // DuckDB's side, on its own connection while JS works through the numeric columns: exact
  // distinct counts of integer columns, and per other column a GROUP BY of its values (one column
  // read each; about 4× cheaper than histogram() and it spills) giving count, distinct count,
  // min/max and the most frequent values.
  const sideConn = await connect();
  const side = (async () => {
    // Each per-column query on a wide Parquet file parses its whole footer again (10 000 columns:
    // megabytes): copy the columns this side reads into a temp table once (it spills when large).
    const sideColumns = schema.filter((c) => c.type !== 'numeric');
    let sideFrom = from;
    if (schema.length > wideSchemaColumns && sideColumns.length > 0) {
      sideFrom = `profile_side_${Math.random().toString(36).slice(2)}`;
      await sideConn.run(
        `CREATE TEMP TABLE ${sideFrom} AS SELECT ${sideColumns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${from}`,
      );
    }
    const integers = schema.flatMap((c, i) =>
      c.type === 'integer' && c !== targetColumn
        ? [[`count(DISTINCT ${quoteIdent(c.name)}) AS "d${i}"`]]
        : [],
    );
    const scan: { row: PlainRow; scans: number } = { row: {}, scans: 0 };
    for (let at = 0; at < integers.length; at += maxScanColumns) {
      const batch = await aggregateInGroups(sideConn, sideFrom, integers.slice(at, at + maxScanColumns));
      Object.assign(scan.row, batch.row);
      scan.scans += batch.scans;
    }
    const summaries = new Map<number, ValueSummary>();
    for (const [i, c] of schema.entries()) {
      if (c.type === 'numeric' || (c.type === 'integer' && c !== targetColumn)) continue;
      summaries.set(
        i,
        await valueSummary(sideConn, sideFrom, c.name, c === targetColumn ? maxTargetClasses + 1 : topK),
      );
    }
    const copied = sideFrom === from ? 0 : 1;
    return { integers: scan.row, scans: copied + scan.scans + (summaries.size > 0 ? 1 : 0), summaries };
  })();
  side.catch(() => {});

  // JS's side: the numeric columns streamed from DuckDB in two groups on two connections, so
  // DuckDB decodes one group's next chunk while JS works on the other's. (Counting each group in a
  // worker thread was tried: on 2 cores the profile is CPU-bound, and the copies and messages
  // made it slower.)
  const options = numeric.map((c) => ({
    min: num(bounds[`min${schema.indexOf(c)}`]),
    max: num(bounds[`max${schema.indexOf(c)}`]),
    distinct: c.type === 'numeric',
    exactDistinct,
  }));
  const streams = Math.max(1, Math.min(numericStreams, Math.floor(numeric.length / numericStreamMinColumns)));
  // Wide data goes in batches of columns, each stream taking the next batch: a scan's memory
  // (DuckDB's column readers and chunks) grows with its column count, not with the rows.
  const size = Math.min(maxScanColumns, Math.ceil(numeric.length / streams));
  const batches: { at: number; columns: ColumnSchema[] }[] = [];
  for (let at = 0; at < numeric.length; at += size)
    batches.push({ at, columns: numeric.slice(at, at + size) });
  const results: ReturnType<NumericGroup['finish']>[] = new Array(batches.length);
  let nextBatch = 0;
  const connections = batches.length > 1 && streams > 1 ? [conn, await connect()] : [conn];
  await Promise.all(
    connections.map(async (scanConn) => {
      for (let b = nextBatch++; b < batches.length; b = nextBatch++) {
        const batch = batches[b] as (typeof batches)[number];
        const counter = new NumericGroup(
          options.slice(batch.at, batch.at + batch.columns.length),
          totalRows,
          correlationSampleRows,
        );
        await scanNumeric(
          scanConn,
          `SELECT ${batch.columns.map((c) => `CAST(${quoteIdent(c.name)} AS DOUBLE)`).join(', ')} FROM ${from}`,
          batch.columns.length,
          (columns, valid, rows) => counter.add(columns, valid, rows),
        );
        results[b] = counter.finish(percentileSampleRows);
      }
    }),
  );
  // Batches read side by side on the streams count as one pass over the data.
  passes += Math.ceil(batches.length / connections.length);
  const numericSummaries = results.flatMap((r) => r.summaries);
  const summaries = new Map(
    numeric.map((c, k) => [schema.indexOf(c), numericSummaries[k] as NumericSummary]),
  );
  const sideResult = await side;
  passes += sideResult.scans;
  const values = sideResult.summaries;
  const rowCount = totalRows;
  const countOf = (i: number) => summaries.get(i)?.count ?? values.get(i)?.count ?? 0;
  // Floating columns with few sampled distinct values are recounted exactly (one more scan).
  const recount = numeric.flatMap((c) => {
    const summary = summaries.get(schema.indexOf(c));
    return summary?.distinctApprox && summary.sampledDistinct < minDistinctSample ? [schema.indexOf(c)] : [];
  });
  const recounted: PlainRow =
    recount.length > 0
      ? (
          await aggregateInGroups(
            conn,
            from,
            recount.map((i) => [`count(DISTINCT ${quoteIdent(schema[i]?.name ?? '')}) AS "d${i}"`]),
          )
        ).row
      : {};
  if (recount.length > 0) passes++;
  const distinctOf = (i: number): { count: number; approx: boolean } => {
    const summary = summaries.get(i);
    const fromDuckDb = sideResult.integers[`d${i}`] ?? recounted[`d${i}`] ?? values.get(i)?.distinct;
    if (fromDuckDb !== undefined) return { count: Number(fromDuckDb), approx: false };
    return { count: summary?.distinct ?? 0, approx: summary?.distinctApprox ?? false };
  };

  // Correlations, over the sampled rows, each column shifted by its mean.
  const correlated = numeric
    .map((c, k) => ({ c, k }))
    .sort((a, b) => Number(b.c === targetColumn) - Number(a.c === targetColumn))
    .slice(0, maxCorrelationColumns);
  let matrix: (number | null)[][] = [];
  if (correlated.length > 1) {
    const samples = results.flatMap((r) => r.sample);
    matrix = pearsonMatrix(
      correlated.map(({ k }) => samples[k] as Float64Array),
      correlated.map(({ c }) => {
        const summary = summaries.get(schema.indexOf(c));
        return summary && summary.count > 0 && summary.sum !== null ? summary.sum / summary.count : 0;
      }),
    );
  } else if (correlated.length === 1) matrix = [[1]];

  const histogramOf = (i: number): Bucket[] => {
    const min = num(bounds[`min${i}`]);
    const max = num(bounds[`max${i}`]);
    const counts = summaries.get(i)?.histogram ?? [];
    if (min === null || max === null || counts.length === 0) return [];
    const width = binWidth(min, max);
    return counts.map((count, b) => ({
      lower: min + b * width,
      upper: b === histogramBins - 1 ? Math.max(max, min + width) : min + (b + 1) * width,
      count,
    }));
  };

  const columns: ColumnProfile[] = schema.map((c, i) => {
    const count = countOf(i);
    const profile: ColumnProfile = {
      name: c.name,
      type: c.type,
      storageType: c.storageType,
      count,
      missing: rowCount - count,
      distinct: distinctOf(i).count,
    };
    if (distinctOf(i).approx) profile.distinctApprox = true;
    const summary = summaries.get(i);
    if (summary) {
      const q = [...summary.percentiles];
      // The sample may miss the extremes; p0 and p100 are the exact min and max.
      if (q.length === 101) {
        q[0] = num(bounds[`min${i}`]) ?? q[0] ?? Number.NaN;
        q[100] = num(bounds[`max${i}`]) ?? q[100] ?? Number.NaN;
      }
      profile.numeric = {
        min: num(bounds[`min${i}`]),
        max: num(bounds[`max${i}`]),
        mean: count > 0 && summary.sum !== null ? summary.sum / count : null,
        std: summary.std,
        sum: summary.sum,
        quantiles: Object.fromEntries(
          q.length === 101 ? shownQuantiles.map(([k, p]) => [k, q[p] ?? Number.NaN]) : [],
        ),
        percentiles: q.length === 101 ? q : [],
        histogram: histogramOf(i),
      };
    } else {
      const summary = values.get(i);
      if (c.type !== 'boolean') {
        profile.minText = summary?.min ?? null;
        profile.maxText = summary?.max ?? null;
      }
      if (c.type !== 'datetime') profile.topK = (summary?.top ?? []).slice(0, topK);
    }
    return profile;
  });

  const result: DatasetProfile = {
    rowCount,
    columns,
    correlations: { columns: correlated.map(({ c }) => c.name), matrix },
    passes,
  };
  if (target !== undefined) {
    const i = schema.findIndex((c) => c.name === target);
    const column = schema[i];
    if (column) {
      const classes = values.get(i)?.top;
      result.target = { name: target, type: column.type };
      if (classes && (values.get(i)?.distinct ?? 0) <= maxTargetClasses) result.target.classes = classes;
      else if (isNumericType(column.type)) result.target.histogram = histogramOf(i);
    }
  }
  return result;
}
