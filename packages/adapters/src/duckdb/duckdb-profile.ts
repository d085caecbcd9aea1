import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnProfile, ColumnSchema, DatasetProfile } from '@trainyard/contracts/datasets';
import { invalidArgument } from '@trainyard/contracts/errors';
import { isNumericType } from '@trainyard/core/data/column-types';
import { type PlainRow, queryOne, queryRows } from './duckdb-rows.js';
import { doubleLiteral, pathLiteral, quoteIdent, stringLiteral } from './sql-literals.js';

const histogramBins = 10;
const topK = 10;
/** Columns with more distinct values than this get top-k from a GROUP BY instead of a full histogram. */
const maxCountedValues = 10_000;
const maxTargetClasses = 100;
/** Integer targets spanning at most this range get their class counts in the main scan. */
const maxTargetRange = 1000;
/**
 * Up to this many rows, percentiles are exact (linearly interpolated, as numpy's default); beyond,
 * they come from a uniform reservoir sample of this many values per column (rank error about 1%):
 * exact quantiles cost a selection per quantile per column and dominated the profile's time.
 */
const reservoirSize = 16_384;
/**
 * Beyond this many rows, correlations come from a seeded uniform sample of this many rows
 * (standard error about 0.003): DuckDB's corr() costs ~15 ns per row and pair, so 250 pairs on
 * 1M rows took longer than the rest of the profile together.
 */
const correlationSampleRows = 100_000;
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
type MapEntry = { key: unknown; value: unknown };

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/**
 * Up to this many rows, distinct counts are exact for every column. Beyond, a `numeric` (floating)
 * column's distinct count is estimated from the values whose 64-bit hash falls in the lowest
 * 1/16 of the hash space (counted exactly, then scaled; relative error about 1/sqrt(count)) when
 * that count is at least `minDistinctSample`, and flagged `distinctApprox`; below that, it is
 * counted exactly in one more scan. Exact hash tables over million-value float columns were
 * the largest cost of the profile.
 */
const exactDistinctRows = 100_000;
const distinctSampleShift = 4n;
const minDistinctSample = 2048;

/** Correlations from rows whose hashed row number falls in a fixed fraction: deterministic, uniform. */
const rowSample = (totalRows: number) =>
  `hash(file_row_number, 42) % 1000000 < ${Math.ceil((correlationSampleRows / totalRows) * 1_000_000)}`;

/**
 * Pearson correlations over pairwise complete rows, computed in JS from column arrays (NaN for
 * missing), each column shifted by its mean first so the one-pass sums keep their precision.
 * DuckDB's corr() aggregate cost ~15 ns per row and pair; this loop is several times faster.
 */
export function pearsonMatrix(columns: Float64Array[], shifts: number[]): (number | null)[][] {
  const k = columns.length;
  const matrix: (number | null)[][] = columns.map((_, a) => columns.map((__, b) => (a === b ? 1 : null)));
  for (let a = 0; a < k; a++) {
    const x = columns[a] as Float64Array;
    const sa = shifts[a] ?? 0;
    for (let b = a + 1; b < k; b++) {
      const y = columns[b] as Float64Array;
      const sb = shifts[b] ?? 0;
      let n = 0;
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let i = 0; i < x.length; i++) {
        const u = (x[i] as number) - sa;
        const v = (y[i] as number) - sb;
        if (Number.isNaN(u) || Number.isNaN(v)) continue;
        n++;
        sx += u;
        sy += v;
        sxx += u * u;
        syy += v * v;
        sxy += u * v;
      }
      const r = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
      const value = n >= 2 && Number.isFinite(r) ? Math.max(-1, Math.min(1, r)) : null;
      (matrix[a] as (number | null)[])[b] = value;
      (matrix[b] as (number | null)[])[a] = value;
    }
  }
  return matrix;
}

/** The numeric columns of (a sample of) the rows as Float64Arrays, NaN for missing, streamed chunk by chunk. */
async function numericColumns(conn: DuckDBConnection, sql: string, width: number): Promise<Float64Array[]> {
  const result = await conn.run(sql);
  const chunks: { rows: number; vectors: { getItem(i: number): unknown }[] }[] = [];
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    chunks.push({
      rows: chunk.rowCount,
      vectors: Array.from({ length: width }, (_, i) => chunk.getColumnVector(i)),
    });
    total += chunk.rowCount;
  }
  const columns = Array.from({ length: width }, () => new Float64Array(total));
  let offset = 0;
  for (const { rows, vectors } of chunks) {
    vectors.forEach((vector, c) => {
      const out = columns[c] as Float64Array;
      for (let i = 0; i < rows; i++) {
        const v = vector.getItem(i);
        out[offset + i] = v === null ? Number.NaN : (v as number);
      }
    });
    offset += rows;
  }
  return columns;
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
async function aggregateInGroups(
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

/**
 * Profiles a Parquet file in one wide aggregate scan (several narrower ones when the wide one does
 * not fit DuckDB's memory_limit). Before it, numeric min/max come from the
 * Parquet row-group statistics (no scan when the writer kept them, as DuckDB's does) to place the
 * histogram bins; the scan then computes counts, distinct counts, moments, percentiles
 * (reservoir-sampled beyond 16 384 rows), histograms and boolean value counts. Correlations are
 * computed in JS from the numeric columns of all rows up to 100 000 rows, and of a deterministic
 * ~100 000-row sample beyond (one more scan). Categorical and text columns add one scan for their
 * value counts (a GROUP BY scan each beyond 10 000 distinct values).
 */
export async function profileParquet(
  conn: DuckDBConnection,
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
  const percentiles = Array.from({ length: 101 }, (_, i) => i / 100);

  // Parquet keeps the row count in its footer: no scan.
  const totalRows = Number((await queryOne(conn, `SELECT count(*) AS n FROM ${from}`)).n);
  const small = totalRows <= reservoirSize;
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
    Object.assign(
      bounds,
      await queryOne(
        conn,
        `SELECT ${schema
          .map((c, i) =>
            isNumericType(c.type)
              ? `CAST(min(${quoteIdent(c.name)}) AS DOUBLE) AS "min${i}", CAST(max(${quoteIdent(c.name)}) AS DOUBLE) AS "max${i}"`
              : '',
          )
          .filter(Boolean)
          .join(', ')} FROM ${from}`,
      ),
    );
  }
  const binWidth = (min: number, max: number) => (max > min ? (max - min) / histogramBins : 1);
  const targetColumn = schema.find((c) => c.name === target);
  const integerTargetRange =
    targetColumn?.type === 'integer'
      ? (num(bounds[`max${schema.indexOf(targetColumn)}`]) ?? 0) -
        (num(bounds[`min${schema.indexOf(targetColumn)}`]) ?? 0)
      : Number.POSITIVE_INFINITY;

  // The scan.
  const groups: string[][] = [['count(*) AS "rows"']];
  const sampledDistinct: number[] = [];
  schema.forEach((c, i) => {
    const q = quoteIdent(c.name);
    const parts = [`count(${q}) AS "n${i}"`];
    groups.push(parts);
    if (c.type === 'boolean') {
      // At most two values: their counts give top-k and the exact distinct count (the map's size).
      // Categorical columns are counted after their distinct count is known: a recipe output or an
      // override can make a many-valued column categorical, and one map per value would not spill.
      parts.push(`histogram(CAST(${q} AS VARCHAR)) AS "v${i}"`);
    } else if (c.type === 'numeric' && !exactDistinct) {
      const h = `hash(${q})`;
      parts.push(
        `count(DISTINCT ${h}) FILTER (WHERE ${q} IS NOT NULL AND ${h} < ${(1n << (64n - distinctSampleShift)).toString()}::UBIGINT) AS "s${i}"`,
      );
      sampledDistinct.push(i);
    } else {
      parts.push(`count(DISTINCT ${q}) AS "d${i}"`);
    }
    if (isNumericType(c.type)) {
      const x = `CAST(${q} AS DOUBLE)`;
      // min/max come from the bounds query, the mean from sum / count: fewer aggregates per row.
      parts.push(
        `stddev_samp(${x}) AS "std${i}"`,
        `sum(${x}) AS "sum${i}"`,
        small
          ? `quantile_cont(${x}, [${percentiles.join(', ')}]) AS "q${i}"`
          : `reservoir_quantile(${x}, [${percentiles.join(', ')}], ${reservoirSize}) AS "q${i}"`,
      );
      const min = num(bounds[`min${i}`]);
      const max = num(bounds[`max${i}`]);
      if (min !== null && max !== null) {
        // One count per bin: about half the time of histogram() over the bin number (a map per
        // row) on 1M rows. The bin expression is computed once per row (common subexpression).
        // No least(): it skips NULLs, so a missing value would land in the last bin.
        const bin = `CAST(floor((${x} - ${doubleLiteral(min)}) / ${doubleLiteral(binWidth(min, max))}) AS INTEGER)`;
        for (let b = 0; b < histogramBins; b++) {
          parts.push(`count_if(${bin} ${b === histogramBins - 1 ? '>=' : '='} ${b}) AS "h${i}_${b}"`);
        }
      }
      if (c === targetColumn && integerTargetRange <= maxTargetRange) {
        parts.push(`histogram(CAST(${q} AS VARCHAR)) AS "v${i}"`);
      }
    } else if (c.type !== 'boolean') {
      parts.push(`CAST(min(${q}) AS VARCHAR) AS "min${i}"`, `CAST(max(${q}) AS VARCHAR) AS "max${i}"`);
    }
  });
  const scan = await aggregateInGroups(conn, from, groups);
  const p1 = scan.row;
  passes += scan.scans;
  const rowCount = Number(p1.rows ?? 0);

  const distinctOf = new Map<number, { count: number; approx: boolean }>();
  const recount: number[] = [];
  schema.forEach((c, i) => {
    if (p1[`d${i}`] !== undefined) distinctOf.set(i, { count: Number(p1[`d${i}`]), approx: false });
    else if (c.type === 'boolean') {
      distinctOf.set(i, { count: ((p1[`v${i}`] ?? []) as MapEntry[]).length, approx: false });
    }
  });
  for (const i of sampledDistinct) {
    const sampled = Number(p1[`s${i}`] ?? 0);
    if (Number(p1[`n${i}`] ?? 0) === 0) distinctOf.set(i, { count: 0, approx: false });
    else if (sampled >= minDistinctSample) {
      distinctOf.set(i, { count: Math.round(sampled * Number(1n << distinctSampleShift)), approx: true });
    } else recount.push(i);
  }

  // Follow-ups, each one more scan: exact distinct counts of floating columns with few values,
  // integer target classes beyond the range counted in the scan, value counts of categorical and
  // text columns.
  const parts2: string[][] = [];
  for (const i of recount) parts2.push([`count(DISTINCT ${quoteIdent(schema[i]?.name ?? '')}) AS "d${i}"`]);
  const targetIndex = targetColumn ? schema.indexOf(targetColumn) : -1;
  if (
    targetColumn?.type === 'integer' &&
    integerTargetRange > maxTargetRange &&
    Number(p1[`d${targetIndex}`]) <= maxTargetClasses
  ) {
    parts2.push([`histogram(CAST(${quoteIdent(targetColumn.name)} AS VARCHAR)) AS "v${targetIndex}"`]);
  }
  const wideText: number[] = [];
  schema.forEach((c, i) => {
    if (c.type !== 'text' && c.type !== 'categorical') return;
    if (Number(p1[`d${i}`]) > maxCountedValues) wideText.push(i);
    else parts2.push([`histogram(CAST(${quoteIdent(c.name)} AS VARCHAR)) AS "v${i}"`]);
  });
  let p2: PlainRow = {};
  if (parts2.length > 0) {
    const followUp = await aggregateInGroups(conn, from, parts2);
    p2 = followUp.row;
    passes += followUp.scans;
  }
  for (const i of recount) distinctOf.set(i, { count: Number(p2[`d${i}`] ?? 0), approx: false });
  const counted = (i: number) => (p1[`v${i}`] ?? p2[`v${i}`]) as MapEntry[] | undefined;
  const topByColumn = new Map<number, { value: string; count: number }[]>();
  for (const i of wideText) {
    const q = quoteIdent(schema[i]?.name ?? '');
    const rows = await queryRows(
      conn,
      `SELECT CAST(${q} AS VARCHAR) AS value, count(*) AS n FROM ${from} WHERE ${q} IS NOT NULL
        GROUP BY 1 ORDER BY n DESC, value LIMIT ${topK}`,
    );
    topByColumn.set(
      i,
      rows.map((r) => ({ value: String(r.value), count: Number(r.n) })),
    );
    passes++;
  }

  // Correlations.
  let matrix: (number | null)[][] = [];
  if (numeric.length > 1) {
    const sampled = totalRows > correlationSampleRows;
    const columns = await numericColumns(
      conn,
      `SELECT ${numeric.map((c) => `CAST(${quoteIdent(c.name)} AS DOUBLE)`).join(', ')}
         FROM read_parquet(${file}${sampled ? ', file_row_number = true' : ''})${sampled ? ` WHERE ${rowSample(totalRows)}` : ''}`,
      numeric.length,
    );
    passes++;
    matrix = pearsonMatrix(
      columns,
      numeric.map((c) => {
        const i = schema.indexOf(c);
        const n = Number(p1[`n${i}`] ?? 0);
        return n > 0 ? (num(p1[`sum${i}`]) ?? 0) / n : 0;
      }),
    );
  } else if (numeric.length === 1) matrix = [[1]];

  const valueCounts = (i: number) =>
    (counted(i) ?? [])
      .map((e) => ({ value: String(e.key), count: Number(e.value) }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));

  const histogramOf = (i: number): Bucket[] => {
    const min = num(bounds[`min${i}`]);
    const max = num(bounds[`max${i}`]);
    if (min === null || max === null) return [];
    const counts = Array.from({ length: histogramBins }, (_, b) => Number(p1[`h${i}_${b}`] ?? 0));
    const width = binWidth(min, max);
    return counts.map((count, b) => ({
      lower: min + b * width,
      upper: b === histogramBins - 1 ? Math.max(max, min + width) : min + (b + 1) * width,
      count,
    }));
  };

  const columns: ColumnProfile[] = schema.map((c, i) => {
    const count = Number(p1[`n${i}`] ?? 0);
    const profile: ColumnProfile = {
      name: c.name,
      type: c.type,
      storageType: c.storageType,
      count,
      missing: rowCount - count,
      distinct: distinctOf.get(i)?.count ?? 0,
    };
    if (distinctOf.get(i)?.approx) profile.distinctApprox = true;
    if (isNumericType(c.type)) {
      const q = ((p1[`q${i}`] ?? []) as unknown[]).map((v) => Number(v));
      // The sample may miss the extremes; p0 and p100 are the exact min and max.
      if (q.length === 101) {
        q[0] = num(bounds[`min${i}`]) ?? q[0] ?? Number.NaN;
        q[100] = num(bounds[`max${i}`]) ?? q[100] ?? Number.NaN;
      }
      profile.numeric = {
        min: num(bounds[`min${i}`]),
        max: num(bounds[`max${i}`]),
        mean: count > 0 && num(p1[`sum${i}`]) !== null ? Number(p1[`sum${i}`]) / count : null,
        std: num(p1[`std${i}`]),
        sum: num(p1[`sum${i}`]),
        quantiles: Object.fromEntries(
          q.length === 101 ? shownQuantiles.map(([k, p]) => [k, q[p] ?? Number.NaN]) : [],
        ),
        percentiles: q.length === 101 ? q : [],
        histogram: histogramOf(i),
      };
    } else {
      if (c.type !== 'boolean') {
        profile.minText = text(p1[`min${i}`]);
        profile.maxText = text(p1[`max${i}`]);
      }
      if (c.type !== 'datetime') profile.topK = (topByColumn.get(i) ?? valueCounts(i)).slice(0, topK);
    }
    return profile;
  });

  const result: DatasetProfile = {
    rowCount,
    columns,
    correlations: { columns: numeric.map((c) => c.name), matrix },
    passes,
  };
  if (target !== undefined) {
    const i = schema.findIndex((c) => c.name === target);
    const column = schema[i];
    if (column) {
      const classes = counted(i) !== undefined ? valueCounts(i) : undefined;
      result.target = { name: target, type: column.type };
      if (classes && classes.length <= maxTargetClasses) result.target.classes = classes;
      else if (isNumericType(column.type)) result.target.histogram = histogramOf(i);
    }
  }
  return result;
}
