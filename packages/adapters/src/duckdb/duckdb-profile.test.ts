import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { IngestOptions } from '@trainyard/contracts/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from './duckdb-engine.js';
import { aggregateInGroups, pearsonMatrix } from './duckdb-profile.js';

/** Textbook two-pass Pearson over the rows where both values are present. */
function pearson(x: (number | null)[], y: (number | null)[]): number {
  const pairs = x.flatMap((a, i) => (a !== null && y[i] != null ? [[a, y[i] as number] as const] : []));
  const mx = pairs.reduce((s, [a]) => s + a, 0) / pairs.length;
  const my = pairs.reduce((s, [, b]) => s + b, 0) / pairs.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [a, b] of pairs) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
    syy += (b - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const arrays = (...columns: (number | null)[][]) =>
  columns.map((c) => Float64Array.from(c, (v) => (v === null ? Number.NaN : v)));

describe('pearsonMatrix', () => {
  it('uses pairwise complete rows, as pandas does', () => {
    const a = [1, 2, null, 4, 5, 7, 11];
    const b = [2.5, null, 3, 9, 10, 12, 30];
    const c = [null, 1, 0, 1, 0, 1, 0];
    const m = pearsonMatrix(arrays(a, b, c), [0, 0, 0]);
    expect(m[0]?.[1]).toBeCloseTo(pearson(a, b), 12);
    expect(m[1]?.[0]).toBe(m[0]?.[1]);
    expect(m[0]?.[2]).toBeCloseTo(pearson(a, c), 12);
    expect(m[1]?.[2]).toBeCloseTo(pearson(b, c), 12);
    expect(m[2]?.[2]).toBe(1);
  });

  it('keeps its precision on large values when shifted by the means', () => {
    const a = Array.from({ length: 1000 }, (_, i) => 1e9 + (i % 17));
    const b = a.map((v, i) => v * 2 + (i % 5));
    const [r] = [pearsonMatrix(arrays(a, b), [1e9 + 8, 2e9 + 18])[0]?.[1]];
    expect(r).toBeCloseTo(pearson(a, b), 9);
  });

  it('gives null for a constant column or fewer than two complete rows', () => {
    const m = pearsonMatrix(arrays([1, 2, 3], [4, 4, 4], [null, 1, null]), [0, 0, 0]);
    expect(m[0]?.[1]).toBeNull();
    expect(m[0]?.[2]).toBeNull();
  });
});

/** The bench's column mix (bench/data/run.mjs) on 200 000 rows: 20 float, 7 categorical, 2 integer, a 0/1 label. */
async function writeWideCsv(path: string, rows: number): Promise<void> {
  const normal = 'sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';
  const cols: string[] = [];
  for (let i = 0; i < 20; i++) {
    const v = `round(${normal} * ${1 + (i % 4)} + ${i % 3}, 4)`;
    cols.push(i < 10 ? `CASE WHEN random() < 0.05 THEN NULL ELSE ${v} END AS n${i}` : `${v} AS n${i}`);
  }
  [3, 5, 8, 12, 20, 50, 200].forEach((k, i) => {
    const v = `'k' || CAST(floor(random() * ${k}) AS INTEGER)`;
    cols.push(i < 2 ? `CASE WHEN random() < 0.03 THEN NULL ELSE ${v} END AS c${i}` : `${v} AS c${i}`);
  });
  cols.push('CAST(floor(random() * 100) AS INTEGER) AS i0', 'CAST(floor(random() * 10000) AS INTEGER) AS i1');
  cols.push('CAST(random() < 0.3 AS INTEGER) AS label');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`COPY (SELECT ${cols.join(', ')} FROM range(${rows})) TO '${path}' (HEADER)`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('profileParquet under a small memory_limit', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-profile-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // With one thread (so that sums and samples are reproducible), ingested at 1GB and profiled at
  // 64MB: numeric columns are profiled in JS, so the profile fits where DuckDB's old one wide
  // aggregate scan over 30 columns needed over 96MB, and gives the same numbers.
  it('profiles a wide file in a small memory_limit, with the same results as at a large one', async () => {
    const csv = join(dir, 'wide.csv');
    const parquet = join(dir, 'wide.parquet');
    await writeWideCsv(csv, 200_000);
    const open = (memoryLimit: string) =>
      DuckDbEngine.open({ tempDirectory: join(dir, `spill-${memoryLimit}`), memoryLimit, threads: 1 });

    const large = await open('1GB');
    let reference: Awaited<ReturnType<DuckDbEngine['profile']>>;
    let schema: Awaited<ReturnType<DuckDbEngine['ingest']>>['schema'];
    try {
      ({ schema } = await large.ingest([csv], IngestOptions.parse({ target: 'label' }), parquet));
      reference = await large.profile(parquet, schema, 'label');
    } finally {
      await large.close();
    }
    const small = await open('64MB');
    const constrained = await small.profile(parquet, schema, 'label').finally(() => small.close());

    expect(reference.rowCount).toBe(200_000);
    expect(reference.columns).toHaveLength(30);
    expect(constrained).toEqual(reference);
  }, 60_000);

  // Exact distinct counts of many-valued text columns do not spill: one scan over all of them runs
  // out of memory, and the groups are retried in halves until they fit, with the same results.
  it('splits an aggregate scan that does not fit into narrower ones', async () => {
    const path = join(dir, 'text.parquet');
    const writer = await DuckDBInstance.create(':memory:');
    const columns = Array.from({ length: 12 }, (_, c) => `md5(CAST(i * ${c + 1} AS VARCHAR)) AS t${c}`);
    await (await writer.connect()).run(
      `COPY (SELECT ${columns.join(', ')} FROM range(300000) t(i)) TO '${path}' (FORMAT parquet)`,
    );
    writer.closeSync();
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '40MB', threads: '1' });
    const conn = await instance.connect();
    try {
      const groups = Array.from({ length: 12 }, (_, c) => [`count(DISTINCT t${c}) AS d${c}`]);
      await expect(
        conn.run(`SELECT ${groups.flat().join(', ')} FROM read_parquet('${path}')`),
      ).rejects.toThrow(/Out of Memory/);
      const { row, scans } = await aggregateInGroups(conn, `read_parquet('${path}')`, groups);
      expect(scans).toBeGreaterThan(1);
      expect(Object.values(row).map(Number)).toEqual(new Array(12).fill(300_000));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }, 60_000);
});
