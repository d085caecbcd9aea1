import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnProfile, ColumnSchema, DatasetProfile } from '@trainyard/contracts/datasets';
import { invalidArgument } from '@trainyard/contracts/errors';
import { isNumericType } from '@trainyard/core/data/column-types';
import { queryOne, queryRows } from './duckdb-rows.js';
import { doubleLiteral, pathLiteral, quoteIdent } from './sql-literals.js';

const histogramBins = 10;
const topK = 10;
/** Columns with more distinct values than this get top-k from a GROUP BY instead of a full histogram. */
const maxCountedValues = 10_000;
const maxTargetClasses = 100;
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
 * Profiles a Parquet file in two scans: (1) one aggregate query for counts, distinct counts,
 * moments, percentiles (reservoir-sampled beyond 16 384 rows) and pairwise correlations (from a
 * 100 000-row sample beyond that many rows, one more scan); (2) one query for the numeric
 * histograms (bins from pass 1's min/max) and the value counts of the other columns. Only text
 * columns with more than 10 000 distinct values add a GROUP BY scan each, for their top-k.
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
  const from = `read_parquet(${pathLiteral(parquetPath)})`;
  const numeric = schema.filter((c) => isNumericType(c.type));
  const percentiles = Array.from({ length: 101 }, (_, i) => i / 100);

  // Parquet keeps the row count in its footer: no scan.
  const totalRows = Number((await queryOne(conn, `SELECT count(*) AS n FROM ${from}`)).n);
  const small = totalRows <= reservoirSize;

  // Pass 1.
  const parts = ['count(*) AS "rows"'];
  schema.forEach((c, i) => {
    const q = quoteIdent(c.name);
    parts.push(`count(${q}) AS "n${i}"`, `count(DISTINCT ${q}) AS "d${i}"`);
    if (isNumericType(c.type)) {
      const x = `CAST(${q} AS DOUBLE)`;
      parts.push(
        `min(${x}) AS "min${i}"`,
        `max(${x}) AS "max${i}"`,
        `avg(${x}) AS "mean${i}"`,
        `stddev_samp(${x}) AS "std${i}"`,
        `sum(${x}) AS "sum${i}"`,
        small
          ? `quantile_cont(${x}, [${percentiles.join(', ')}]) AS "q${i}"`
          : `reservoir_quantile(${x}, [${percentiles.join(', ')}], ${reservoirSize}) AS "q${i}"`,
      );
    } else if (c.type !== 'boolean') {
      parts.push(`CAST(min(${q}) AS VARCHAR) AS "min${i}"`, `CAST(max(${q}) AS VARCHAR) AS "max${i}"`);
    }
  });
  const correlations: string[] = [];
  for (let a = 0; a < numeric.length; a++) {
    for (let b = a + 1; b < numeric.length; b++) {
      const qa = `CAST(${quoteIdent(numeric[a]?.name ?? '')} AS DOUBLE)`;
      const qb = `CAST(${quoteIdent(numeric[b]?.name ?? '')} AS DOUBLE)`;
      correlations.push(`corr(${qa}, ${qb}) AS "c${a}_${b}"`);
    }
  }
  const sampledCorrelations = totalRows > correlationSampleRows;
  if (!sampledCorrelations) parts.push(...correlations);
  const p1 = await queryOne(conn, `SELECT ${parts.join(', ')} FROM ${from}`);
  const rowCount = Number(p1.rows ?? 0);
  let passes = 1;
  let corr: Record<string, unknown> = p1;
  if (sampledCorrelations && correlations.length > 0) {
    corr = await queryOne(
      conn,
      `SELECT ${correlations.join(', ')} FROM (SELECT * FROM ${from} USING SAMPLE reservoir(${correlationSampleRows} ROWS) REPEATABLE (42))`,
    );
    passes++;
  }

  // Pass 2.
  const parts2: string[] = [];
  const wideText: number[] = [];
  schema.forEach((c, i) => {
    const q = quoteIdent(c.name);
    if (isNumericType(c.type)) {
      const min = num(p1[`min${i}`]);
      const max = num(p1[`max${i}`]);
      if (min === null || max === null) return;
      const width = max > min ? (max - min) / histogramBins : 1;
      parts2.push(
        `histogram(least(CAST(floor((CAST(${q} AS DOUBLE) - ${doubleLiteral(min)}) / ${doubleLiteral(width)}) AS INTEGER), ${histogramBins - 1})) FILTER (WHERE ${q} IS NOT NULL) AS "h${i}"`,
      );
      if (c.name === target && Number(p1[`d${i}`]) <= maxTargetClasses && c.type === 'integer') {
        parts2.push(`histogram(CAST(${q} AS VARCHAR)) AS "v${i}"`);
      }
    } else if (c.type !== 'datetime') {
      if (Number(p1[`d${i}`]) > maxCountedValues) wideText.push(i);
      else parts2.push(`histogram(CAST(${q} AS VARCHAR)) AS "v${i}"`);
    }
  });
  const p2 = parts2.length > 0 ? await queryOne(conn, `SELECT ${parts2.join(', ')} FROM ${from}`) : {};
  if (parts2.length > 0) passes++;
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

  const valueCounts = (i: number) =>
    ((p2[`v${i}`] ?? []) as MapEntry[])
      .map((e) => ({ value: String(e.key), count: Number(e.value) }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));

  const histogramOf = (i: number): Bucket[] => {
    const min = num(p1[`min${i}`]);
    const max = num(p1[`max${i}`]);
    if (min === null || max === null) return [];
    const counts = new Array<number>(histogramBins).fill(0);
    for (const e of (p2[`h${i}`] ?? []) as MapEntry[]) {
      const bin = Number(e.key);
      if (bin >= 0 && bin < histogramBins) counts[bin] = (counts[bin] ?? 0) + Number(e.value);
    }
    const width = max > min ? (max - min) / histogramBins : 1;
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
      distinct: Number(p1[`d${i}`] ?? 0),
    };
    if (isNumericType(c.type)) {
      const q = ((p1[`q${i}`] ?? []) as unknown[]).map((v) => Number(v));
      // The sample may miss the extremes; p0 and p100 are the exact min and max.
      if (q.length === 101) {
        q[0] = num(p1[`min${i}`]) ?? q[0] ?? Number.NaN;
        q[100] = num(p1[`max${i}`]) ?? q[100] ?? Number.NaN;
      }
      profile.numeric = {
        min: num(p1[`min${i}`]),
        max: num(p1[`max${i}`]),
        mean: num(p1[`mean${i}`]),
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

  const matrix = numeric.map((_, a) =>
    numeric.map((__, b) => {
      if (a === b) return 1;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      return num(corr[`c${lo}_${hi}`]);
    }),
  );

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
      const classes = p2[`v${i}`] !== undefined ? valueCounts(i) : undefined;
      result.target = { name: target, type: column.type };
      if (classes && classes.length <= maxTargetClasses) result.target.classes = classes;
      else if (isNumericType(column.type)) result.target.histogram = histogramOf(i);
    }
  }
  return result;
}
