import { text } from 'node:stream/consumers';
import type { CreateProcessingJobInput, ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

const hasPandas = requireDependency(
  'pandas for /usr/bin/python3',
  () => canImportPython('pandas'),
  'apt-get install python3-pandas',
);

let t: TestServer;

const scripts: Record<string, string> = {
  // Debian's pandas has no Parquet engine: CSV is what it reads.
  'totals.py': `import os
import pandas as pd
frame = pd.read_csv(os.path.join(os.environ['PROCESSING_INPUT_DATA'], 'data.csv'))
totals = frame.groupby('region', as_index=False)['price'].sum().sort_values('region')
totals.to_csv(os.path.join(os.environ['PROCESSING_OUTPUT_OUT'], 'totals.csv'), index=False)
print('columns: ' + ','.join(frame.columns), flush=True)
`,
  'copy.mjs': `import { copyFileSync, readdirSync } from 'node:fs';
const dir = process.env.PROCESSING_INPUT_DATA;
for (const name of readdirSync(dir)) copyFileSync(dir + '/' + name, process.env.PROCESSING_OUTPUT_OUT + '/' + name);
console.log('files: ' + readdirSync(dir).join(','));
`,
};

beforeAll(async () => {
  t = await openTestServer({ workerConcurrency: 2 });
  await t.platform.jobs.startWorker();
  for (const [name, body] of Object.entries(scripts)) {
    await t.platform.blobs.put({ bucket: 'work', key: `code/${name}` }, body);
  }
  await t.platform.blobs.put(
    { bucket: 'work', key: 'raw/sales.csv' },
    'id,price,region\n1,10.5,north\n2,4,south\n3,7.25,north\n',
  );
  await t.platform.datasets.createVersionFromUri('sales', 's3://work/raw/sales.csv', {
    ingest: { target: 'region', onMalformed: 'fail' },
  });
});
afterAll(async () => {
  await t?.close();
});

function job(name: string, script: string, contentType: string | undefined): CreateProcessingJobInput {
  const python = script.endsWith('.py');
  return {
    ProcessingJobName: name,
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
    },
    AppSpecification: {
      ImageUri: python ? 'python:3' : 'node:20',
      ContainerEntrypoint: [python ? '/usr/bin/python3' : 'node', `/opt/ml/processing/input/code/${script}`],
    },
    ProcessingInputs: [
      { InputName: 'code', S3Input: { S3Uri: `s3://work/code/${script}`, S3DataType: 'S3Prefix' } },
      {
        InputName: 'data',
        DatasetInput: { DatasetName: 'sales', ...(contentType ? { ContentType: contentType } : {}) },
      },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        { OutputName: 'out', S3Output: { S3Uri: `s3://work/out/${name}/`, S3UploadMode: 'EndOfJob' } },
      ],
    },
  };
}

async function run(body: CreateProcessingJobInput): Promise<ProcessingJob> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/processing-jobs',
    headers: t.auth(),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const got = await t.app.inject({
      method: 'GET',
      url: `/api/v1/processing-jobs/${body.ProcessingJobName}`,
      headers: t.auth(),
    });
    const found = got.json() as ProcessingJob;
    if (['Completed', 'Failed', 'Stopped'].includes(found.ProcessingJobStatus)) return found;
    if (Date.now() > deadline)
      throw new Error(`${body.ProcessingJobName} still ${found.ProcessingJobStatus}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const output = async (key: string) => text((await t.platform.blobs.get({ bucket: 'work', key })).body);

describe('dataset versions delivered to processing jobs in the format their ContentType asks', () => {
  it.skipIf(!hasPandas)('gives a pandas script data.csv with a header for text/csv', async () => {
    const done = await run(job('pandas-csv', 'totals.py', 'text/csv'));
    expect(done.FailureReason).toBeUndefined();
    expect(done.ProcessingJobStatus).toBe('Completed');
    expect(await output('out/pandas-csv/totals.csv')).toBe('region,price\nnorth,17.75\nsouth,4.0\n');
  });

  it("puts the target first without a header for text/csv;label_size=1 (built-in algorithms' CSV)", async () => {
    const done = await run(job('label-first', 'copy.mjs', 'text/csv;label_size=1'));
    expect(done.FailureReason).toBeUndefined();
    expect(await output('out/label-first/data.csv')).toBe('north,1,10.5\nsouth,2,4.0\nnorth,3,7.25\n');
  });

  it('delivers headerless CSV, JSON Lines, and Parquet when no ContentType is given', async () => {
    await run(job('no-header', 'copy.mjs', 'text/csv;header=absent'));
    expect(await output('out/no-header/data.csv')).toBe('1,10.5,north\n2,4.0,south\n3,7.25,north\n');
    await run(job('jsonl', 'copy.mjs', 'application/jsonlines'));
    const lines = (await output('out/jsonl/data.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { id: 1, price: 10.5, region: 'north' },
      { id: 2, price: 4, region: 'south' },
      { id: 3, price: 7.25, region: 'north' },
    ]);
    await run(job('parquet', 'copy.mjs', undefined));
    expect((await output('out/parquet/data.parquet')).slice(0, 4)).toBe('PAR1');
  });

  it('refuses an unknown ContentType naming the field and the accepted types', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs',
      headers: t.auth(),
      payload: job('bad-type', 'copy.mjs', 'text/tab-separated-values'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(
      /^body\.ProcessingInputs\.1\.DatasetInput\.ContentType: "text\/tab-separated-values" is not a content type datasets are delivered as; use one of text\/csv, /,
    );
  });
});
