import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import { Recipe, type RecipeInput } from '@trainyard/contracts/recipes';
import { applyFittedRecipe } from '@trainyard/core/data/apply-fitted-recipe';
import { settleTypes } from '@trainyard/core/data/column-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from './duckdb-engine.js';
import { queryRows } from './duckdb-rows.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => join(fixtures, name);

/** A small RFC 4180 reader, independent of DuckDB: quotes, doubled quotes, embedded newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

const [header = [], ...records] = parseCsv(readFileSync(fixture('people.csv'), 'utf8'));
const wellFormed = records.filter((r) => r.length === header.length);
const column = (name: string) => wellFormed.map((r) => r[header.indexOf(name)] ?? '');
const numbers = (name: string) => column(name).map((v) => (v === '' ? null : Number(v)));

function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return (
    (sorted[lo] ?? 0) + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? 0) - (sorted[lo] ?? 0))
  );
}

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<TrainyardError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrainyardError);
  expect((error as TrainyardError).code).toBe(code);
  if (field !== undefined) expect((error as TrainyardError).details.field).toBe(field);
  return error as TrainyardError;
}

describe('DuckDbEngine', () => {
  let engine: DuckDbEngine;
  let dir: string;
  let n = 0;
  const out = () => join(dir, `out-${n++}.parquet`);
  const ingest = (file: string, options: IngestOptions = {}) =>
    engine.ingest([fixture(file)], IngestOptions.parse(options), out());
  const read = (path: string) =>
    engine.withConnection((conn) => queryRows(conn, `SELECT * FROM read_parquet('${path}')`));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-duckdb-'));
    engine = await DuckDbEngine.open({ tempDirectory: join(dir, 'spill'), memoryLimit: '256MB', threads: 2 });
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('ingest', () => {
    it('fails on a malformed row, naming its physical line (embedded newlines counted)', async () => {
      const error = await expectError(ingest('people.csv'), 'INVALID_ARGUMENT', 'file');
      expect(error.message).toMatch(/1 malformed row: line 10/);
      expect(error.message).toContain('Expected Number of Columns');
    });

    it('skips and keeps malformed rows under "skip", reading quotes, newlines and UTF-8 intact', async () => {
      const path = out();
      const result = await engine.ingest(
        [fixture('people.csv')],
        IngestOptions.parse({ onMalformed: 'skip', target: 'churned' }),
        path,
      );
      expect(result.rowCount).toBe(19);
      expect(result.skippedRows).toBe(1);
      expect(result.rejects).toHaveLength(1);
      expect(result.rejects[0]?.line).toBe(10);
      expect(result.rejects[0]?.text).toContain('broken,row');
      // Text columns are settled as categorical or text by the profile's exact distinct counts.
      expect(result.typedByProfile).toEqual(['name', 'city', 'note']);
      const profile = await engine.profile(path, result.schema);
      const settled = settleTypes(result.schema, profile, result.typedByProfile ?? []);
      const types = Object.fromEntries(settled.map((c) => [c.name, c.type]));
      expect(types).toEqual({
        id: 'integer',
        name: 'text',
        age: 'integer',
        income: 'numeric',
        city: 'categorical',
        member: 'boolean',
        signup: 'datetime',
        // DuckDB reads yes/no as booleans.
        churned: 'boolean',
        note: 'categorical',
      });
      expect(profile.columns.find((c) => c.name === 'city')?.type).toBe('categorical');
      const rows = await read(path);
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(1)?.name).toBe('Smith, John');
      expect(byId.get(2)?.name).toBe('Zoë Ångström');
      expect(byId.get(2)?.note).toBe('multi\nline note');
      expect(byId.get(3)?.name).toBe('山田 太郎');
      expect(byId.get(4)?.name).toBe('O"Brien, Pat');
      expect(byId.get(4)?.note).toBe('said "hi", left');
      expect(byId.get(4)?.age).toBeNull();
      expect(byId.get(2)?.income).toBeNull();
      expect(byId.get(16)?.note).toBe('line1\nline2\nline3');
      expect(byId.has(8)).toBe(false);
    });

    it('names the column and value when an override does not fit (CSV and JSON Lines)', async () => {
      const csv = await expectError(
        ingest('people.csv', { types: { city: 'integer' } }),
        'INVALID_ARGUMENT',
        'file',
      );
      expect(csv.message).toContain('column "city"');
      expect(csv.message).toContain('"Paris"');
      const json = await expectError(
        ingest('conflict.jsonl', { types: { age: 'integer' } }),
        'INVALID_ARGUMENT',
        'types.age',
      );
      expect(json.message).toContain('"forty"');
    });

    it('applies type overrides', async () => {
      const result = await ingest('people.csv', {
        onMalformed: 'skip',
        types: { id: 'categorical', age: 'numeric' },
      });
      const byName = new Map(result.schema.map((c) => [c.name, c]));
      expect(byName.get('id')).toMatchObject({ type: 'categorical', storageType: 'VARCHAR' });
      expect(byName.get('age')).toMatchObject({ type: 'numeric', storageType: 'DOUBLE' });
    });

    it('gives clear errors for empty files, header-only files, missing targets and unknown columns', async () => {
      expect((await expectError(ingest('empty.csv'), 'INVALID_ARGUMENT', 'file')).message).toContain(
        'is empty',
      );
      expect((await expectError(ingest('header-only.csv'), 'INVALID_ARGUMENT', 'file')).message).toContain(
        'no data rows',
      );
      const target = await expectError(
        ingest('people.csv', { onMalformed: 'skip', target: 'label' }),
        'INVALID_ARGUMENT',
        'target',
      );
      expect(target.message).toContain('"label" does not exist');
      await expectError(
        ingest('people.csv', { types: { nope: 'integer' } }),
        'INVALID_ARGUMENT',
        'types.nope',
      );
    });

    it('detects the delimiter and header, and honours explicit ones', async () => {
      const detected = await ingest('semicolon.csv');
      expect(detected.schema.map((c) => c.name)).toEqual(['x', 'y', 'label']);
      expect(detected.rowCount).toBe(3);
      const noHeader = await ingest('semicolon.csv', { delimiter: ';', header: false });
      expect(noHeader.rowCount).toBe(4);
    });

    it('reads Parquet and JSON Lines', async () => {
      const parquet = await ingest('people.parquet');
      expect(parquet.format).toBe('parquet');
      expect(parquet.rowCount).toBe(19);
      const jsonl = await ingest('people.jsonl');
      expect(jsonl.format).toBe('jsonl');
      expect(jsonl.rowCount).toBe(6);
      expect(jsonl.schema.find((c) => c.name === 'income')?.type).toBe('numeric');
    });
  });

  describe('profile', () => {
    it('matches statistics computed independently in JS', async () => {
      const path = out();
      const { schema } = await engine.ingest(
        [fixture('people.csv')],
        IngestOptions.parse({ onMalformed: 'skip', target: 'churned' }),
        path,
      );
      const profile = await engine.profile(path, schema, 'churned');
      expect(profile.rowCount).toBe(wellFormed.length);
      // The aggregate scan, the text columns' value counts, the correlation columns.
      expect(profile.passes).toBe(3);
      for (const name of ['age', 'income', 'id']) {
        const values = numbers(name);
        const present = values.filter((v): v is number => v !== null);
        const sorted = [...present].sort((a, b) => a - b);
        const mean = present.reduce((a, b) => a + b, 0) / present.length;
        const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / (present.length - 1));
        const col = profile.columns.find((c) => c.name === name);
        expect(col?.count).toBe(present.length);
        expect(col?.missing).toBe(values.length - present.length);
        expect(col?.distinct).toBe(new Set(present).size);
        expect(col?.distinctApprox).toBeUndefined();
        expect(col?.numeric?.min).toBe(sorted[0]);
        expect(col?.numeric?.max).toBe(sorted[sorted.length - 1]);
        expect(col?.numeric?.mean).toBeCloseTo(mean, 9);
        expect(col?.numeric?.std).toBeCloseTo(std, 9);
        for (const [key, p] of [
          ['p25', 0.25],
          ['p50', 0.5],
          ['p90', 0.9],
        ] as const) {
          expect(col?.numeric?.quantiles[key]).toBeCloseTo(quantile(sorted, p), 9);
        }
        const lo = sorted[0] ?? 0;
        const width = ((sorted[sorted.length - 1] ?? 0) - lo) / 10;
        const bins = new Array(10).fill(0);
        for (const v of present) bins[Math.min(9, Math.floor((v - lo) / width))]++;
        expect(col?.numeric?.histogram.map((b) => b.count)).toEqual(bins);
      }
      // Pearson correlation over rows where both are present.
      const age = numbers('age');
      const income = numbers('income');
      const pairs = age.flatMap((a, i) =>
        a !== null && income[i] != null ? [[a, income[i] as number]] : [],
      );
      const ma = pairs.reduce((s, p) => s + (p[0] ?? 0), 0) / pairs.length;
      const mi = pairs.reduce((s, p) => s + (p[1] ?? 0), 0) / pairs.length;
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (const [a = 0, b = 0] of pairs) {
        sab += (a - ma) * (b - mi);
        saa += (a - ma) ** 2;
        sbb += (b - mi) ** 2;
      }
      const names = profile.correlations.columns;
      const r = profile.correlations.matrix[names.indexOf('age')]?.[names.indexOf('income')];
      expect(r).toBeCloseTo(sab / Math.sqrt(saa * sbb), 9);
      // Top-k and target distribution.
      const cities = new Map<string, number>();
      for (const c of column('city')) cities.set(c, (cities.get(c) ?? 0) + 1);
      const city = profile.columns.find((c) => c.name === 'city');
      expect(city?.topK).toEqual(
        [...cities]
          .map(([value, count]) => ({ value, count }))
          .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value)),
      );
      const churn = new Map<string, number>();
      for (const c of column('churned').map((v) => String(v === 'yes')))
        churn.set(c, (churn.get(c) ?? 0) + 1);
      expect(Object.fromEntries((profile.target?.classes ?? []).map((c) => [c.value, c.count]))).toEqual(
        Object.fromEntries(churn),
      );
      const member = profile.columns.find((c) => c.name === 'member');
      expect(member?.missing).toBe(column('member').filter((v) => v === '').length);
    });
    it('beyond 100 000 rows, estimates the distinct count of many-valued float columns and says so', async () => {
      const path = out();
      const rows = 150_000;
      // big: 150 000 distinct floats; few: 7 distinct floats; y tracks big with noise; k: integers.
      await engine.withConnection((conn) =>
        conn.run(
          `COPY (SELECT i * 0.5 AS big, (i % 7) * 1.5 AS few, i * 0.5 + (hash(i) % 100000) AS y,
                        CAST(i % 1000 AS BIGINT) AS k, 'c' || (i % 3) AS cat
                   FROM range(${rows}) t(i)) TO '${path}' (FORMAT parquet)`,
        ),
      );
      const schema = [
        { name: 'big', type: 'numeric' as const, storageType: 'DOUBLE' },
        { name: 'few', type: 'numeric' as const, storageType: 'DOUBLE' },
        { name: 'y', type: 'numeric' as const, storageType: 'DOUBLE' },
        { name: 'k', type: 'integer' as const, storageType: 'BIGINT' },
        { name: 'cat', type: 'categorical' as const, storageType: 'VARCHAR' },
      ];
      const profile = await engine.profile(path, schema);
      const col = (name: string) => profile.columns.find((c) => c.name === name);
      expect(col('big')?.distinctApprox).toBe(true);
      expect(Math.abs((col('big')?.distinct ?? 0) / rows - 1)).toBeLessThan(0.05);
      // Few values: counted exactly in a follow-up scan, not estimated.
      expect(col('few')?.distinct).toBe(7);
      expect(col('few')?.distinctApprox).toBeUndefined();
      expect(col('k')?.distinct).toBe(1000);
      expect(col('k')?.distinctApprox).toBeUndefined();
      expect(col('cat')?.distinct).toBe(3);
      const bins = new Array<number>(10).fill(0);
      for (let i = 0; i < rows; i++) bins[Math.min(9, Math.floor(((i % 7) * 1.5) / 0.9))]++;
      expect(col('few')?.numeric?.histogram.map((b) => b.count)).toEqual(bins);
      // Correlations from a ~100 000-row sample, near the exact value over all rows.
      const [exact] = await engine.withConnection((conn) =>
        queryRows(conn, `SELECT corr(big, y) AS r FROM read_parquet('${path}')`),
      );
      const names = profile.correlations.columns;
      const r = profile.correlations.matrix[names.indexOf('big')]?.[names.indexOf('y')] ?? 0;
      expect(Math.abs(r - Number(exact?.r))).toBeLessThan(0.01);
      expect(r).toBeLessThan(1);
    });
  });

  describe('recipes', () => {
    let source: string;
    let schema: Awaited<ReturnType<DuckDbEngine['ingest']>>['schema'];
    /** Fits `recipe` on `file` and applies it into `<dir>/<out>`. */
    const fitAndApply = async (file: string, columns: typeof schema, recipe: Recipe, out: string) =>
      engine.applyRecipe(file, await engine.fitRecipe(file, columns, recipe), join(dir, out));
    beforeAll(async () => {
      source = out();
      ({ schema } = await engine.ingest(
        [fixture('people.csv')],
        IngestOptions.parse({ onMalformed: 'skip', target: 'churned' }),
        source,
      ));
    });

    const parityRecipe: RecipeInput = {
      name: 'parity',
      steps: [
        { op: 'drop', columns: ['name', 'note', 'signup'] },
        { op: 'rename', mapping: { income: 'salary' } },
        { op: 'impute', columns: ['age'], strategy: 'median' },
        { op: 'impute', columns: ['salary'], strategy: 'mean' },
        { op: 'impute', columns: ['member'], strategy: 'mode' },
        { op: 'cast', types: { member: 'integer' } },
        { op: 'clip', columns: ['salary'], lowerQuantile: 0.1, upperQuantile: 0.9 },
        { op: 'standardize', columns: ['age', 'salary'] },
        { op: 'minmax', columns: ['id'], range: [-1, 1] },
        { op: 'onehot', columns: ['city'], unknown: 'other' },
        { op: 'ordinal', columns: ['churned'] },
      ],
    };

    it('gives the same output on single rows as the batch transform', async () => {
      const fitted = await engine.fitRecipe(source, schema, Recipe.parse(parityRecipe), {
        target: 'churned',
      });
      expect(fitted.steps[9]?.params).toEqual({ categories: { city: ['Berlin', 'Paris', 'Tokyo'] } });
      const outputs = await engine.applyRecipe(source, fitted, join(dir, 'parity'));
      expect(outputs).toHaveLength(1);
      const batch = await read(outputs[0]?.path ?? '');
      const input = await read(source);
      expect(batch).toHaveLength(input.length);
      input.forEach((row, i) => {
        const single = applyFittedRecipe(fitted, row);
        const expected = batch[i] ?? {};
        expect(Object.keys(single)).toEqual(Object.keys(expected));
        for (const [key, value] of Object.entries(expected)) {
          if (typeof value === 'number') expect(single[key]).toBeCloseTo(value, 12);
          else expect(single[key]).toEqual(value);
        }
      });
    });

    it('applies unknown-category policies to single rows', async () => {
      const fitted = await engine.fitRecipe(source, schema, Recipe.parse(parityRecipe), {
        target: 'churned',
      });
      const row = applyFittedRecipe(fitted, {
        id: '3',
        age: '40',
        income: '50000',
        city: 'Rome',
        member: 'yes',
        churned: 'no',
      });
      expect([row.city_Berlin, row.city_Paris, row.city_Tokyo, row.city_other]).toEqual([0, 0, 0, 1]);
      const strict = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({ steps: [{ op: 'onehot', columns: ['city'], unknown: 'error' }] }),
      );
      expect(() => applyFittedRecipe(strict, { city: 'Rome' })).toThrow(/category "Rome" was not seen/);
    });

    it("fits scalers that follow imputations with the imputed columns' statistics, computed in JS", async () => {
      // impute, onehot and both scalers share one query: the scalers' statistics of the filled
      // columns are pooled from the raw ones, which this checks against the filled values.
      const fitted = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({
          steps: [
            { op: 'impute', columns: ['income'], strategy: 'mean' },
            { op: 'impute', columns: ['age'], strategy: 'constant', value: 100 },
            { op: 'onehot', columns: ['city'] },
            { op: 'standardize', columns: ['income', 'age', 'id'] },
          ],
        }),
      );
      const raw = numbers('income').filter((v): v is number => v !== null);
      const fillMean = raw.reduce((a, b) => a + b, 0) / raw.length;
      expect(fitted.steps[0]?.params).toEqual({ values: { income: expect.closeTo(fillMean, 6) } });
      const moments = (values: number[]) => {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
      };
      const income = moments(numbers('income').map((v) => v ?? fillMean));
      expect(numbers('income').some((v) => v === null)).toBe(true);
      const ages = numbers('age');
      expect(ages.some((v) => v === null)).toBe(true);
      const filledAges = ages.map((v) => v ?? 100);
      const age = moments(filledAges);
      const id = moments(numbers('id').map((v) => v ?? 0));
      const { mean, std } = (fitted.steps[3]?.params ?? {}) as Record<string, Record<string, number>>;
      expect(mean?.income).toBeCloseTo(income.mean, 6);
      expect(std?.income).toBeCloseTo(income.std, 6);
      expect(mean?.age).toBeCloseTo(age.mean, 9);
      expect(std?.age).toBeCloseTo(age.std, 9);
      expect(mean?.id).toBeCloseTo(id.mean, 9);
      expect(std?.id).toBeCloseTo(id.std, 9);
      const scaled = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({
          steps: [
            { op: 'impute', columns: ['age'], strategy: 'constant', value: 100 },
            { op: 'minmax', columns: ['age'] },
          ],
        }),
      );
      expect(scaled.steps[1]?.params).toEqual({
        min: { age: Math.min(...filledAges) },
        max: { age: Math.max(...filledAges) },
      });
    });

    it('refuses derive on single rows without an evaluator, and uses one when given', async () => {
      const fitted = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({ steps: [{ op: 'derive', name: 'ratio', expression: 'income / age' }] }),
      );
      expect(fitted.steps[0]?.columns.at(-1)).toEqual({ name: 'ratio', type: 'numeric' });
      expect(() => applyFittedRecipe(fitted, { income: 10, age: 2 })).toThrow(
        /needs an expression evaluator/,
      );
      const row = applyFittedRecipe(
        fitted,
        { income: 10, age: 2 },
        { evaluate: (_e, r) => Number(r.income) / Number(r.age) },
      );
      expect(row.ratio).toBe(5);
    });

    it('splits stratified by the target, keeping class proportions, and by time', async () => {
      const fitted = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({
          steps: [
            { op: 'split', method: 'stratified', fractions: { train: 0.6, validation: 0.2, test: 0.2 } },
          ],
        }),
        { target: 'churned' },
      );
      const outputs = await engine.applyRecipe(source, fitted, join(dir, 'strat'));
      expect(outputs.map((o) => o.split)).toEqual(['train', 'validation', 'test']);
      expect(outputs.reduce((s, o) => s + o.rowCount, 0)).toBe(19);
      const churn = column('churned');
      for (const o of outputs) {
        const rows = await read(o.path);
        const yes = rows.filter((r) => r.churned === true).length;
        const fraction = o.split === 'train' ? 0.6 : 0.2;
        // Each class contributes round-about its fraction of rows to each split.
        expect(Math.abs(yes - churn.filter((c) => c === 'yes').length * fraction)).toBeLessThanOrEqual(1);
      }
      const byTime = await engine.fitRecipe(
        source,
        schema,
        Recipe.parse({
          steps: [{ op: 'split', method: 'time', column: 'signup', fractions: { train: 0.75, test: 0.25 } }],
        }),
      );
      const [train, test] = await engine.applyRecipe(source, byTime, join(dir, 'time'));
      const latestTrain =
        (await read(train?.path ?? ''))
          .map((r) => String(r.signup))
          .sort()
          .at(-1) ?? '';
      const earliestTest = (await read(test?.path ?? '')).map((r) => String(r.signup)).sort()[0] ?? '';
      expect(latestTrain < earliestTest).toBe(true);
    });

    describe('splits keyed on the input row', () => {
      // 5000 rows: class a 3000, b 1500, c 400, missing 100; k numbers the rows.
      let data: string;
      const dataSchema = [
        { name: 'k', type: 'integer' as const, storageType: 'BIGINT' },
        { name: 'y', type: 'categorical' as const, storageType: 'VARCHAR' },
        { name: 'x', type: 'numeric' as const, storageType: 'DOUBLE' },
      ];
      beforeAll(async () => {
        data = out();
        await engine.withConnection((conn) =>
          conn.run(
            `COPY (SELECT range AS k,
                          CASE WHEN range % 10 < 6 THEN 'a' WHEN range % 10 < 9 THEN 'b' WHEN range % 50 = 9 THEN NULL ELSE 'c' END AS y,
                          CAST(range * 7919 % 1000 AS DOUBLE) / 10 AS x
                     FROM range(5000)) TO '${data}' (FORMAT parquet)`,
          ),
        );
      });
      const stratified = (seed: number, before: RecipeInput['steps'] = []) =>
        Recipe.parse({
          steps: [
            ...before,
            {
              op: 'split',
              method: 'stratified',
              column: 'y',
              fractions: { train: 0.7, validation: 0.15, test: 0.15 },
              seed,
            },
          ],
        });
      const run = async (recipe: Recipe, name: string) => {
        const fitted = await engine.fitRecipe(data, dataSchema, recipe);
        const outputs = await engine.applyRecipe(data, fitted, join(dir, name));
        const rows = Object.fromEntries(
          await Promise.all(outputs.map(async (o) => [o.split, await read(o.path)] as const)),
        );
        return { fitted, rows };
      };
      const ids = (rows: Record<string, unknown>[] | undefined) =>
        (rows ?? []).map((r) => Number(r.k)).sort((a, b) => a - b);

      it('keeps each class to its fractions within one row, the same rows whatever the transform', async () => {
        const plain = await run(stratified(7), 'plain');
        const classes = { a: 3000, b: 1500, c: 400, null: 100 };
        for (const [split, fraction] of [
          ['train', 0.7],
          ['validation', 0.15],
          ['test', 0.15],
        ] as const) {
          for (const [y, n] of Object.entries(classes)) {
            const count = (plain.rows[split] ?? []).filter((r) => String(r.y) === y).length;
            expect(Math.abs(count - n * fraction), `${split} ${y}`).toBeLessThanOrEqual(1);
          }
        }
        expect(Object.values(plain.rows).reduce((s, r) => s + r.length, 0)).toBe(5000);
        // Scaling x before the split changes every value the old row hash read, not the rows of each split.
        const scaled = await run(stratified(7, [{ op: 'standardize', columns: ['x'] }]), 'scaled');
        expect(scaled.fitted.steps[1]?.params).toEqual(plain.fitted.steps[0]?.params);
        for (const split of ['train', 'validation', 'test']) {
          expect(ids(scaled.rows[split])).toEqual(ids(plain.rows[split]));
        }
        // The splits together are the unsplit transform's rows, values and columns.
        const [whole] = await engine.applyRecipe(
          data,
          await engine.fitRecipe(
            data,
            dataSchema,
            Recipe.parse({ steps: [{ op: 'standardize', columns: ['x'] }] }),
          ),
          join(dir, 'whole'),
        );
        const byId = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => Number(a.k) - Number(b.k));
        expect(byId(Object.values(scaled.rows).flat())).toEqual(byId(await read(whole?.path ?? '')));
        // Another seed, other rows.
        const other = await run(stratified(8), 'other');
        expect(ids(other.rows.train)).not.toEqual(ids(plain.rows.train));
        expect(other.rows.train).toHaveLength(plain.rows.train?.length ?? 0);
      });

      it('splits after a deduplicate, and with a data column named file_row_number', async () => {
        const dupes = out();
        await engine.withConnection((conn) =>
          conn.run(
            `COPY (SELECT range % 400 AS k, 'a' AS y, 1.5 AS x, range AS file_row_number FROM range(1000)) TO '${dupes}' (FORMAT parquet)`,
          ),
        );
        const schema = [
          ...dataSchema,
          { name: 'file_row_number', type: 'integer' as const, storageType: 'BIGINT' },
        ];
        const recipe = Recipe.parse({
          steps: [
            { op: 'drop', columns: ['file_row_number'] },
            { op: 'deduplicate' },
            { op: 'split', method: 'random', fractions: { train: 0.5, test: 0.5 }, seed: 3 },
          ],
        });
        const first = await fitAndApply(dupes, schema, recipe, 'd1');
        const again = await fitAndApply(dupes, schema, recipe, 'd2');
        const [train, test] = await Promise.all(first.map((o) => read(o.path)));
        expect([...ids(train), ...ids(test)].sort((a, b) => a - b)).toEqual(
          Array.from({ length: 400 }, (_, i) => i),
        );
        expect(Object.keys(train?.[0] ?? {})).toEqual(['k', 'y', 'x']);
        expect(train?.length).toBeGreaterThan(150);
        expect(ids(await read(again[0]?.path ?? ''))).toEqual(ids(train));
      });
    });

    it('filters, derives, deduplicates and samples repeatably', async () => {
      const recipe = Recipe.parse({
        steps: [
          { op: 'filter', where: "city <> 'Tokyo'" },
          { op: 'derive', name: 'age2', expression: 'age * 2' },
          { op: 'select', columns: ['city', 'age2'] },
          { op: 'deduplicate', columns: ['city'] },
        ],
      });
      const fitted = await engine.fitRecipe(source, schema, recipe);
      const [result] = await engine.applyRecipe(source, fitted, join(dir, 'dedupe'));
      expect(result?.rowCount).toBe(2);
      const sample = Recipe.parse({ steps: [{ op: 'sample', fraction: 0.5, seed: 7 }] });
      const a = await fitAndApply(source, schema, sample, 's1');
      const b = await fitAndApply(source, schema, sample, 's2');
      expect(await read(a[0]?.path ?? '')).toEqual(await read(b[0]?.path ?? ''));
    });

    it('names the step and field of a bad recipe', async () => {
      await expectError(
        engine.fitRecipe(
          source,
          schema,
          Recipe.parse({ steps: [{ op: 'standardize', columns: ['salary'] }] }),
        ),
        'INVALID_ARGUMENT',
        'recipe.steps.0.columns',
      );
      await expectError(
        engine.fitRecipe(source, schema, Recipe.parse({ steps: [{ op: 'filter', where: 'nope > 1' }] })),
        'INVALID_ARGUMENT',
        'recipe.steps.0.where',
      );
      await expectError(
        engine.fitRecipe(
          source,
          schema,
          Recipe.parse({ steps: [{ op: 'impute', columns: ['city'], strategy: 'mean' }] }),
        ),
        'INVALID_ARGUMENT',
        'recipe.steps.0.columns',
      );
      const unknown = Recipe.safeParse({ steps: [{ op: 'pivot' }] });
      expect(unknown.error?.issues[0]?.message).toMatch(/unknown recipe step "pivot"; known: select, drop/);
      expect(unknown.error?.issues[0]?.path).toEqual(['steps', 0, 'op']);
    });

    it('refuses file, engine and environment access in expressions even when the contract is bypassed', async () => {
      // Built by hand, not through Recipe.parse: the engine must not rely on callers validating.
      const leak = (expression: string) =>
        ({
          format: 'trainyard.recipe/v1',
          name: 'r',
          steps: [{ op: 'derive', name: 'x', expression }],
        }) as Recipe;
      for (const expression of [
        "(select content from read_text('/etc/hostname'))",
        "read_blob('/proc/1/environ')",
        "getenv('HOME')",
        "1) AS x FROM range(1); ATTACH '/tmp/x.db' AS y; SELECT (1",
      ]) {
        await expectError(
          engine.previewRecipe(source, schema, leak(expression), 5),
          'INVALID_ARGUMENT',
          'recipe.steps.0.expression',
        );
        await expectError(
          engine.fitRecipe(source, schema, leak(expression)),
          'INVALID_ARGUMENT',
          'recipe.steps.0.expression',
        );
      }
    });

    it('runs recipe SQL on an instance that reaches only the files it was given', async () => {
      const secret = join(dir, 'master.key');
      writeFileSync(secret, 'top secret');
      const outside = join(dir, 'outside');
      const attempts = [
        `SELECT content FROM read_text('${secret}')`,
        "SELECT content FROM read_text('/proc/1/environ')",
        `ATTACH '${join(dir, 'x.db')}' AS x`,
        `COPY (SELECT 1) TO '${join(dir, 'copy.csv')}'`,
        'INSTALL httpfs',
        'LOAD httpfs',
        'SET enable_external_access = true',
        "SET allowed_directories = ['/']",
      ];
      const refusals = await engine.withLockedConnection([source], [outside], async (conn) => {
        const messages: string[] = [];
        for (const sql of attempts)
          messages.push(
            await conn.run(sql).then(
              () => 'ran',
              (e: Error) => e.message,
            ),
          );
        // The given file stays readable, so recipes still work.
        const [{ n } = { n: 0 }] = await queryRows(
          conn,
          `SELECT count(*)::INTEGER AS n FROM read_parquet('${source}')`,
        );
        expect(n).toBeGreaterThan(0);
        return messages;
      });
      expect(refusals.every((m) => m !== 'ran')).toBe(true);
      expect(refusals.join('\n')).not.toContain('top secret');
      expect(existsSync(join(dir, 'x.db'))).toBe(false);
      expect(existsSync(join(dir, 'copy.csv'))).toBe(false);
      // The ordinary connection is unaffected: ingest and profile keep working.
      expect(await engine.withConnection((conn) => queryRows(conn, 'SELECT 1 AS one'))).toEqual([{ one: 1 }]);
    });

    it('previews the first rows', async () => {
      const preview = await engine.previewRecipe(
        source,
        schema,
        Recipe.parse({
          steps: [
            { op: 'select', columns: ['id', 'city'] },
            { op: 'onehot', columns: ['city'] },
          ],
        }),
        5,
      );
      expect(preview.rows).toHaveLength(5);
      expect(preview.columns.map((c) => c.name)).toEqual(['id', 'city_Berlin', 'city_Paris', 'city_Tokyo']);
      expect(preview.rows[0]).toEqual({ id: 1, city_Berlin: 0, city_Paris: 1, city_Tokyo: 0 });
    });
  });
});
