import { text } from 'node:stream/consumers';
import type { CreateProcessingJobInput, ProcessingJob } from '@trainyard/contracts/processing-jobs';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
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
  'mean.py': `import os
import pandas as pd
frame = pd.read_csv(os.path.join(os.environ['PROCESSING_INPUT_DATA'], 'data.csv'))
with open(os.path.join(os.environ['PROCESSING_OUTPUT_OUT'], 'mean.txt'), 'w') as out:
    out.write('%s %d %.3f' % (','.join(frame.columns), len(frame), frame['y'].mean()))
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
  // y = 10 (a mod 3) + (b mod 2), the target in the middle column. y is a function of (a, b) but a is
  // not one of (y, b): a model fits y closely only if the delivery put y first as the label.
  const rows = Array.from({ length: 300 }, (_, i) => {
    const a = (i * 7) % 23;
    const b = (i * 11) % 17;
    return `${a},${10 * (a % 3) + (b % 2)},${b}`;
  });
  await t.platform.blobs.put({ bucket: 'work', key: 'raw/linear.csv' }, `a,y,b\n${rows.join('\n')}\n`);
  await t.platform.datasets.createVersionFromUri('linear', 's3://work/raw/linear.csv', {
    ingest: { target: 'y', onMalformed: 'fail' },
  });
});
afterAll(async () => {
  await t?.close();
});

function job(
  name: string,
  script: string,
  contentType: string | undefined,
  dataset = 'sales',
): CreateProcessingJobInput {
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
        DatasetInput: { DatasetName: dataset, ...(contentType ? { ContentType: contentType } : {}) },
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

describe('one dataset version read by a pandas script and by a built-in algorithm', () => {
  it.skipIf(!hasPandas)('pandas reads it as CSV with a header', async () => {
    const done = await run(job('linear-pandas', 'mean.py', 'text/csv', 'linear'));
    expect(done.FailureReason).toBeUndefined();
    const mean = rowsMean();
    expect(await output('out/linear-pandas/mean.txt')).toBe(`a,y,b 300 ${mean.toFixed(3)}`);
  });

  it('the built-in XGBoost reads it as label-first CSV without a header (text/csv)', async () => {
    const name = 'linear-xgb';
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/training-jobs',
      headers: t.auth(),
      payload: {
        TrainingJobName: name,
        AlgorithmSpecification: { TrainingImage: 'sagemaker-xgboost:1.7-1' },
        HyperParameters: { objective: 'reg:squarederror', num_round: '60', max_depth: '4', eta: '0.3' },
        OutputDataConfig: { S3OutputPath: 's3://work/models' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 120 },
        InputDataConfig: [
          {
            ChannelName: 'train',
            ContentType: 'text/csv',
            DataSource: { DatasetSource: { DatasetName: 'linear' } },
          },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    let found: TrainingJob | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const got = await t.app.inject({
        method: 'GET',
        url: `/api/v1/training-jobs/${name}`,
        headers: t.auth(),
      });
      found = got.json() as TrainingJob;
      if (['Completed', 'Failed', 'Stopped'].includes(found.TrainingJobStatus)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const logs = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${name}/logs?limit=10000`,
      headers: t.auth(),
    });
    const log = (logs.json() as { events: { message: string }[] }).events.map((l) => l.message).join('\n');
    expect(found?.FailureReason, log).toBeUndefined();
    expect(found?.TrainingJobStatus).toBe('Completed');
    // Two features (a, b): the target went first and out of the features.
    expect(log).toContain('channel train: 300 rows x 2 features');
    // Fitted closely; with a read as the label the RMSE would be several units.
    const rmse = found?.FinalMetricDataList?.find((m) => m.MetricName === 'train:rmse')?.Value;
    expect(rmse).toBeLessThan(1);
  }, 90_000);

  it('refuses a ContentType datasets are not delivered as, naming the channel field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/training-jobs',
      headers: t.auth(),
      payload: {
        TrainingJobName: 'linear-bad-type',
        AlgorithmSpecification: { TrainingImage: 'sagemaker-xgboost:1.7-1' },
        HyperParameters: { num_round: '5' },
        OutputDataConfig: { S3OutputPath: 's3://work/models' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        StoppingCondition: { MaxRuntimeInSeconds: 60 },
        InputDataConfig: [
          {
            ChannelName: 'train',
            ContentType: 'text/csv;label_size=2',
            DataSource: { DatasetSource: { DatasetName: 'linear' } },
          },
        ],
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(
      /InputDataConfig\.0\.ContentType: label_size=2 is not supported/,
    );
  });
});

function rowsMean(): number {
  let sum = 0;
  for (let i = 0; i < 300; i++) sum += 10 * (((i * 7) % 23) % 3) + (((i * 11) % 17) % 2);
  return sum / 300;
}
