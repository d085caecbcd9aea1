import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import { settleTypes } from '@trainyard/core/data/column-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from './duckdb-engine.js';

const columns = 10_000;
const rows = 1_000;

let dir: string;
let engine: DuckDbEngine;
/** Column j: an integer 0…4 (j % 10 = 0), a class a/b/c (j % 10 = 1), else a float. */
const cellOf = (i: number, j: number) =>
  j % 10 === 0 ? String((i * 7 + j) % 5) : j % 10 === 1 ? 'abc'[(i + j) % 3] : ((i * 31 + j * 17) % 1000) / 8;

describe('wide data: 10 000 columns x 1 000 rows under the default 1 GB memory limit', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-wide-'));
    const lines = [Array.from({ length: columns }, (_, j) => `f${j}`).join(',')];
    for (let i = 0; i < rows; i++)
      lines.push(Array.from({ length: columns }, (_, j) => cellOf(i, j)).join(','));
    writeFileSync(join(dir, 'wide.csv'), `${lines.join('\n')}\n`);
    // The default limit: the point is that this fits in it.
    engine = await DuckDbEngine.open({ tempDirectory: join(dir, 'tmp') });
  });
  afterAll(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests and profiles every column with the statistics a user would check', async () => {
    const out = join(dir, 'wide.parquet');
    const ingested = await engine.ingest([join(dir, 'wide.csv')], IngestOptions.parse({}), out);
    expect([ingested.rowCount, ingested.schema.length, ingested.skippedRows]).toEqual([rows, columns, 0]);
    expect(ingested.csv).toEqual({ delimiter: ',', skipRows: 0, header: true });
    expect(ingested.schema.slice(0, 3).map((c) => `${c.name}:${c.type}`)).toEqual([
      'f0:integer',
      'f1:text',
      'f2:numeric',
    ]);
    const profile = await engine.profile(out, ingested.schema);
    const schema = settleTypes(ingested.schema, profile, ingested.typedByProfile ?? []);
    expect(schema[1]?.type).toBe('categorical');
    expect(profile.rowCount).toBe(rows);
    expect(profile.columns).toHaveLength(columns);
    for (const j of [2, 5003, 9999]) {
      const values = Array.from({ length: rows }, (_, i) => Number(cellOf(i, j)));
      const column = profile.columns[j];
      expect(column?.name).toBe(`f${j}`);
      expect(column?.numeric?.min).toBe(Math.min(...values));
      expect(column?.numeric?.max).toBe(Math.max(...values));
      expect(column?.numeric?.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / rows, 9);
    }
    expect(profile.columns[9990]?.distinct).toBe(5);
    expect(profile.columns[9991]?.topK?.map((t) => t.value).sort()).toEqual(['a', 'b', 'c']);
    // Correlations are bounded (a 9 000 x 9 000 matrix would be ~1 GB of JSON).
    expect(profile.correlations.columns).toHaveLength(100);
    expect(profile.correlations.matrix[0]?.[0]).toBe(1);
  }, 900_000);

  it('reports running out of memory as RESOURCE_EXHAUSTED naming the setting to raise', async () => {
    const small = await DuckDbEngine.open({
      tempDirectory: join(dir, 'tmp-small'),
      memoryLimit: '1MB',
      memoryLimitSetting: 'TRAINYARD_DATA_MEMORY_LIMIT',
    });
    try {
      const error = await small
        .ingest([join(dir, 'wide.csv')], IngestOptions.parse({}), join(dir, 'small.parquet'))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(TrainyardError.is(error, 'RESOURCE_EXHAUSTED')).toBe(true);
      expect((error as Error).message).toMatch(
        /^the data engine ran out of memory \(1MB\); raise TRAINYARD_DATA_MEMORY_LIMIT: Out of Memory Error/,
      );
    } finally {
      await small.close();
    }
  }, 300_000);
});
