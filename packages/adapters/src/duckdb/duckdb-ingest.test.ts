import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from './duckdb-engine.js';
import { queryRows } from './duckdb-rows.js';

/** scikit-learn's bundled data files as Debian's python3-sklearn installs them. */
const sklearnData = '/usr/lib/python3/dist-packages/sklearn/datasets/data';

/** A bundled file; a missing package fails the test naming what to install (never a skip). */
function sklearnFile(name: string): string {
  const path = join(sklearnData, name);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install the Debian package python3-sklearn (apt-get install python3-sklearn)`,
    );
  }
  return path;
}

let engine: DuckDbEngine;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trainyard-ingest-'));
  engine = await DuckDbEngine.open({ tempDirectory: join(dir, 'tmp') });
});
afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ingest(path: string, options: IngestOptions = {}) {
  const out = join(dir, `out-${n++}.parquet`);
  const result = await engine.ingest([path], IngestOptions.parse(options), out);
  const first = await engine.withConnection((conn) => queryRows(conn, `SELECT * FROM '${out}' LIMIT 1`));
  return { ...result, first: first[0] ?? {}, types: result.schema.map((c) => `${c.name}:${c.type}`) };
}

async function failure(path: string, options: IngestOptions = {}): Promise<TrainyardError> {
  const error = await ingest(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!TrainyardError.is(error)) throw new Error(`expected a TrainyardError, got ${String(error)}`);
  return error;
}

const irisNames = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'target'];

describe("ingest of scikit-learn's bundled CSV files", () => {
  it('iris: skips the line of counts and class names; --columns names the columns', async () => {
    const plain = await ingest(sklearnFile('iris.csv'));
    expect(plain.rowCount).toBe(150);
    expect(plain.skippedRows).toBe(0);
    expect(plain.csv).toEqual({ delimiter: ',', skipRows: 1, header: false });
    expect(plain.types).toEqual([
      'column0:numeric',
      'column1:numeric',
      'column2:numeric',
      'column3:numeric',
      'column4:integer',
    ]);
    const named = await ingest(sklearnFile('iris.csv'), { columns: irisNames });
    expect(named.types).toEqual([
      'sepal_length:numeric',
      'sepal_width:numeric',
      'petal_length:numeric',
      'petal_width:numeric',
      'target:integer',
    ]);
    expect(named.first).toEqual({
      sepal_length: 5.1,
      sepal_width: 3.5,
      petal_length: 1.4,
      petal_width: 0.2,
      target: 0,
    });
  });

  it('wine and breast cancer: 178 x 14 and 569 x 31 numbers, the label an integer', async () => {
    const wine = await ingest(sklearnFile('wine_data.csv'));
    expect([wine.rowCount, wine.schema.length, wine.skippedRows]).toEqual([178, 14, 0]);
    expect(wine.schema[13]?.type).toBe('integer');
    expect(wine.schema[0]).toMatchObject({ name: 'column00', type: 'numeric' });
    expect(wine.first.column00).toBe(14.23);
    const cancer = await ingest(sklearnFile('breast_cancer.csv'));
    expect([cancer.rowCount, cancer.schema.length, cancer.skippedRows]).toEqual([569, 31, 0]);
    expect(cancer.schema.slice(0, 30).every((c) => c.type === 'numeric')).toBe(true);
    expect(cancer.schema[30]?.type).toBe('integer');
    expect(cancer.first.column00).toBe(17.99);
  });

  it('boston: skips the counts line and takes the names line as the header, with no flag', async () => {
    const boston = await ingest(sklearnFile('boston_house_prices.csv'));
    expect(boston.rowCount).toBe(506);
    expect(boston.csv).toEqual({ delimiter: ',', skipRows: 1, header: true });
    expect(boston.types).toEqual([
      'CRIM:numeric',
      'ZN:numeric',
      'INDUS:numeric',
      'CHAS:integer',
      'NOX:numeric',
      'RM:numeric',
      'AGE:numeric',
      'DIS:numeric',
      'RAD:integer',
      'TAX:integer',
      'PTRATIO:numeric',
      'B:numeric',
      'LSTAT:numeric',
      'MEDV:numeric',
    ]);
    expect(boston.first.CRIM).toBe(0.00632);
  });

  it('linnerud and diabetes: space-separated columns, gzip read through', async () => {
    const linnerud = await ingest(sklearnFile('linnerud_exercise.csv'));
    expect(linnerud.types).toEqual(['Chins:integer', 'Situps:integer', 'Jumps:integer']);
    expect(linnerud.rowCount).toBe(20);
    const diabetes = await ingest(sklearnFile('diabetes_data_raw.csv.gz'), { format: 'csv' });
    expect([diabetes.rowCount, diabetes.schema.length]).toEqual([442, 10]);
    expect(diabetes.csv?.delimiter).toBe(' ');
    const digits = await ingest(sklearnFile('digits.csv.gz'), { format: 'csv' });
    expect([digits.rowCount, digits.schema.length]).toEqual([1797, 65]);
  });
});

describe('ingest of files read wrongly', () => {
  it('groups a malformed row repeated on every line into one sentence and says every row was rejected', async () => {
    const error = await failure(sklearnFile('breast_cancer.csv'), { skipRows: 0 });
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      'file: every row was rejected, so the version has no data: 569 malformed rows: lines 2, 3, 4 and 566 more: ' +
        'Expected Number of Columns: 4 Found: 31 (read with delimiter ",", 0 lines skipped, a header row; ' +
        'check delimiter, header and skipRows)',
    );
    expect(error.details.check).toEqual(['delimiter', 'header', 'skipRows']);
  });

  it('refuses a version where most rows were rejected, even when skipping', async () => {
    const error = await failure(sklearnFile('breast_cancer.csv'), { header: false, onMalformed: 'skip' });
    expect(error.message).toMatch(
      /^file: most rows were rejected \(569 of 570\), so the file is probably read wrongly: 569 malformed rows: lines 2, 3, 4 and 566 more: Expected Number of Columns: 4 Found: 31 \(read with delimiter ",", 0 lines skipped, no header row;/,
    );
  });

  it('names the fix as an API option and lists a few lines per kind of error', async () => {
    const path = join(dir, 'few-bad.csv');
    const rows = ['a,b', ...Array.from({ length: 40 }, (_, i) => `${i},${i * 2}`)];
    rows[5] = '5,10,extra';
    rows[9] = '9,18,extra';
    rows[20] = '20';
    writeFileSync(path, `${rows.join('\n')}\n`);
    const error = await failure(path);
    expect(error.message).toBe(
      'file: 3 malformed rows: lines 6, 10: Expected Number of Columns: 2 Found: 3; ' +
        'line 21: column "b": Expected Number of Columns: 2 Found: 1 ' +
        '(set onMalformed to "skip" to leave them out and keep them for inspection)',
    );
    expect(error.details.hints).toEqual([{ option: 'onMalformed', value: 'skip' }]);
    const skipped = await ingest(path, { onMalformed: 'skip' });
    expect([skipped.rowCount, skipped.skippedRows]).toEqual([37, 3]);
  });

  it('refuses column names that do not match the columns, naming the field', async () => {
    const error = await failure(sklearnFile('iris.csv'), { columns: ['a', 'b'] });
    expect(error.message).toBe(
      'columns: 2 names given for 5 columns (detected: column0, column1, column2, column3, column4)',
    );
    expect(error.details.field).toBe('columns');
  });
});
