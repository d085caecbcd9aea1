import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

const fixtures = join(import.meta.dirname, '../../../../packages/adapters/src/duckdb/fixtures');
const peopleCsv = readFileSync(join(fixtures, 'people.csv'));

describe('dataset and recipe routes', () => {
  let t: TestServer & { baseUrl: string };
  beforeAll(async () => {
    t = await openTestServer({ dataMemoryLimit: '256MB', dataThreads: 2 }, { listen: true });
  });
  afterAll(() => t.close());

  const upload = (name: string, query: string, payload: Buffer | string, headers = t.auth()) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${name}/upload?${query}`,
      headers: { ...headers, 'content-type': 'text/csv' },
      payload,
    });

  it('creates numbered versions from streamed uploads, with profile, baselines and rejects beside them', async () => {
    const first = await upload('people', 'fileName=people.csv&onMalformed=skip&target=churned', peopleCsv);
    expect(first.statusCode).toBe(201);
    const v1 = first.json();
    expect(v1).toMatchObject({
      dataset: 'people',
      version: 1,
      status: 'ready',
      format: 'csv',
      rowCount: 19,
      skippedRows: 1,
      target: 'churned',
      uri: 's3://trainyard/datasets/people/v1/data.parquet',
      lineage: { source: 'upload:people.csv' },
    });
    expect(v1.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const second = await upload(
      'people',
      'fileName=people.csv&onMalformed=skip&types=age:numeric',
      peopleCsv,
    );
    expect(second.json()).toMatchObject({ version: 2 });
    expect(second.json().schema.find((c: { name: string }) => c.name === 'age').type).toBe('numeric');

    const versions = (
      await t.app.inject({ url: '/api/v1/datasets/people/versions', headers: t.auth() })
    ).json();
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const latest = await t.app.inject({ url: '/api/v1/datasets/people/versions/latest', headers: t.auth() });
    expect(latest.json().version).toBe(2);
    const dataset = (await t.app.inject({ url: '/api/v1/datasets/people', headers: t.auth() })).json();
    expect(dataset.latestVersion).toBe(2);

    const profile = (
      await t.app.inject({ url: '/api/v1/datasets/people/versions/1/profile', headers: t.auth() })
    ).json();
    expect(profile.rowCount).toBe(19);
    expect(profile.target.name).toBe('churned');
    const stats = (
      await t.app.inject({ url: '/api/v1/datasets/people/versions/1/statistics', headers: t.auth() })
    ).json();
    expect(stats.dataset.item_count).toBe(19);
    const income = stats.features.find((f: { name: string }) => f.name === 'income');
    expect(income.inferred_type).toBe('Fractional');
    expect(income.numerical_statistics.common).toEqual({ num_present: 16, num_missing: 3 });
    expect(income.numerical_statistics.distribution.kll.buckets).toHaveLength(10);
    const constraints = (
      await t.app.inject({ url: '/api/v1/datasets/people/versions/1/constraints', headers: t.auth() })
    ).json();
    const city = constraints.features.find((f: { name: string }) => f.name === 'city');
    expect(city.string_constraints.domains).toEqual(['Paris', 'Berlin', 'Tokyo']);
    expect(constraints.monitoring_config.evaluate_constraints).toBe('Enabled');
    const openApi = (await t.app.inject({ url: '/api/v1/openapi.json' })).json();
    expect(openApi.paths['/api/v1/datasets/{name}/upload'].post.requestBody.content).toHaveProperty('*/*');
    const rejects = (
      await t.app.inject({ url: '/api/v1/datasets/people/versions/1/rejects', headers: t.auth() })
    ).json();
    expect(rejects.items[0]).toMatchObject({ line: 10 });
  });

  it('refuses bad input with the field named, and records the failed version', async () => {
    const malformed = await upload('strict', 'fileName=people.csv', peopleCsv);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'file' });
    expect(malformed.json().error.message).toContain('line 10');
    const failed = (
      await t.app.inject({ url: '/api/v1/datasets/strict/versions/1', headers: t.auth() })
    ).json();
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'INVALID_ARGUMENT' } });

    const empty = await upload('strict', 'fileName=people.csv', '');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.field).toBe('body');
    const target = await upload('strict', 'fileName=people.csv&onMalformed=skip&target=nope', peopleCsv);
    expect(target.json().error).toMatchObject({ field: 'target' });
    const types = await upload('strict', 'types=age:float', peopleCsv);
    expect(types.json().error.field).toBe('query.types');
    const viewer = await t.keyWithRole('viewer');
    expect((await upload('strict', 'fileName=people.csv', peopleCsv, t.auth(viewer))).statusCode).toBe(403);
  });

  it('imports from s3:// objects and prefixes, and file: paths for admins only', async () => {
    await t.platform.blobs.put({ bucket: 'raw', key: 'people/a.csv' }, peopleCsv);
    await t.platform.blobs.put({ bucket: 'raw', key: 'people/b.csv' }, peopleCsv);
    const prefix = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/imported/versions',
      headers: t.auth(),
      payload: { source: 's3://raw/people/', options: { onMalformed: 'skip' } },
    });
    expect(prefix.statusCode).toBe(201);
    expect(prefix.json()).toMatchObject({
      version: 1,
      rowCount: 38,
      skippedRows: 2,
      lineage: { source: 's3://raw/people/' },
    });
    const parquet = join(fixtures, 'people.parquet');
    const file = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/imported/versions',
      headers: t.auth(),
      payload: { source: `file:${parquet}` },
    });
    expect(file.json()).toMatchObject({ version: 2, rowCount: 19, format: 'parquet' });
    const developer = await t.keyWithRole('developer');
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/imported/versions',
      headers: t.auth(developer),
      payload: { source: `file:${parquet}` },
    });
    expect(refused.statusCode).toBe(403);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/imported/versions',
      headers: t.auth(),
      payload: { source: 's3://raw/nothing-here/' },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('previews and runs recipes; each split becomes a version with lineage', async () => {
    const recipe = {
      name: 'prep',
      steps: [
        { op: 'impute', columns: ['age'], strategy: 'median' },
        { op: 'onehot', columns: ['city'] },
        { op: 'standardize', columns: ['age'] },
        { op: 'filter', where: 'income IS NOT NULL' },
        { op: 'derive', name: 'income_k', expression: 'income / 1000' },
        { op: 'split', method: 'stratified', fractions: { train: 0.5, test: 0.5 } },
      ],
    };
    const preview = await t.app.inject({
      method: 'POST',
      url: '/api/v1/recipes/preview',
      headers: t.auth(),
      payload: { dataset: 'people', version: 1, recipe, rows: 5 },
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json().splits).toHaveLength(preview.json().rows.length);
    const run = await t.app.inject({
      method: 'POST',
      url: '/api/v1/recipes/run',
      headers: t.auth(),
      payload: { dataset: 'people', version: 1, recipe, output: 'people-prep' },
    });
    // The run is a processing job (DuckDB's full pass is off the request path); wait for it.
    expect(run.statusCode, run.body).toBe(201);
    expect(run.json()).toMatchObject({
      ProcessingJobStatus: 'InProgress',
      AppSpecification: { ImageUri: 'trainyard/recipe-processor' },
    });
    await t.platform.jobs.startWorker();
    let job = run.json();
    while (job.ProcessingJobStatus === 'InProgress') {
      await new Promise((r) => setTimeout(r, 100));
      job = await t.platform.jobs.processingJobs.describe(job.ProcessingJobName);
    }
    expect(job.FailureReason).toBeUndefined();
    expect(job.ProcessingJobStatus).toBe('Completed');
    const versions = await Promise.all(
      job.ProcessingOutputs.map((o: { DatasetName: string; DatasetVersion: number }) =>
        t.platform.datasets.getVersion(o.DatasetName, o.DatasetVersion),
      ),
    );
    expect(versions.map((v: { dataset: string }) => v.dataset)).toEqual([
      'people-prep-train',
      'people-prep-test',
    ]);
    expect(versions.reduce((s: number, v: { rowCount: number }) => s + v.rowCount, 0)).toBe(16);
    expect(versions[0]!.lineage).toMatchObject({
      parentDataset: 'people',
      parentVersion: 1,
      split: 'train',
      recipe: { name: 'prep' },
      jobName: job.ProcessingJobName,
    });
    expect(versions[0]!.fittedRecipeUri).toBe(versions[1]!.fittedRecipeUri);
    expect(versions[0]!.target).toBe('churned');
    expect(versions[0]!.schema.map((c: { name: string }) => c.name)).toContain('income_k');

    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/recipes/preview',
      headers: t.auth(),
      payload: { dataset: 'people', recipe: { steps: [{ op: 'pivot' }] } },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.field).toBe('body.recipe.steps.0.op');
    expect(unknown.json().error.message).toContain('unknown recipe step "pivot"');
    const badColumn = await t.app.inject({
      method: 'POST',
      url: '/api/v1/recipes/run',
      headers: t.auth(),
      payload: { dataset: 'people', recipe: { steps: [{ op: 'drop', columns: ['salary'] }] } },
    });
    // Checked on a few rows in the request: refused at once, no job queued.
    expect(badColumn.statusCode).toBe(400);
    expect(badColumn.json().error).toMatchObject({ field: 'recipe.steps.0.columns' });
  });

  it('streams uploads larger than the JSON body limit through the SDK', async () => {
    const client = new TrainyardClient({ endpoint: t.baseUrl, key: t.adminKey });
    const rows = 400_000;
    async function* generated(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('id,group,value\n');
      for (let start = 0; start < rows; start += 10_000) {
        let chunk = '';
        for (let i = start; i < start + 10_000; i++) chunk += `${i},g${i % 7},${(i * 0.37).toFixed(2)}\n`;
        yield Buffer.from(chunk);
      }
    }
    const big = await client.upload(
      'uploadDatasetVersion',
      { params: { name: 'big' }, query: { fileName: 'big.csv' } },
      generated(),
    );
    expect(big).toMatchObject({ version: 1, rowCount: rows });
    expect(big.sizeBytes).toBeGreaterThan(0);
    const fromFile = await client.upload(
      'uploadDatasetVersion',
      { params: { name: 'people-sdk' }, query: { fileName: 'people.parquet' } },
      createReadStream(join(fixtures, 'people.parquet')),
    );
    expect(fromFile).toMatchObject({ rowCount: 19, format: 'parquet' });
  });
});
