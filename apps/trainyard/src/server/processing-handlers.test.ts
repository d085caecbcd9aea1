import { text } from 'node:stream/consumers';
import type { CreateProcessingJobInput, ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { jobQueueName } from '@trainyard/core/jobs/job-dispatch';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild } from '../testing/server-process.js';

const hasPandas = requireDependency(
  'pandas for /usr/bin/python3',
  () => canImportPython('pandas'),
  'apt-get install python3-pandas',
);

let t: TestServer;

beforeAll(async () => {
  t = await openTestServer({
    workerConcurrency: 2,
    jobStopGraceSeconds: 1,
    jobVisibilityTimeoutSeconds: 1,
  });
  await t.platform.jobs.startWorker();
  const put = (key: string, body: string) => t.platform.blobs.put({ bucket: 'work', key }, body);
  await put('raw/data.csv', 'id,price,region\n1,10.5,north\n2,4,south\n3,7.25,north\n');
  await put(
    'code/prep.mjs',
    `import { readFileSync, writeFileSync } from 'node:fs';
const config = JSON.parse(readFileSync(process.env.TRAINYARD_OPT_ML + '/config/processingjobconfig.json', 'utf8'));
const [input, output] = process.argv.slice(2);
const rows = readFileSync(input + '/data.csv', 'utf8').trim().split('\\n');
const header = rows.shift();
const doubled = rows.map((r) => r + ',' + Number(r.split(',')[1]) * 2);
writeFileSync(output + '/doubled.csv', [header + ',double', ...doubled].join('\\n') + '\\n');
console.log('job ' + config.ProcessingJobName + ': ' + rows.length + ' rows');
console.error('a warning on stderr');
`,
  );
  await put(
    'code/prep.py',
    `import os, sys
import pandas as pd
frame = pd.read_csv(os.path.join(os.environ['PROCESSING_INPUT_DATA'], 'data.csv'))
totals = frame.groupby('region', as_index=False)['price'].sum().sort_values('region')
totals.to_csv(os.path.join(os.environ['PROCESSING_OUTPUT_TOTALS'], 'totals.csv'), index=False)
print(f'pandas {pd.__version__}: {len(frame)} rows -> {len(totals)} regions', flush=True)
`,
  );
  await put(
    'code/fail.mjs',
    `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.TRAINYARD_OPT_ML + '/output/failure', 'column "price" has a non-numeric value "abc" on line 7');
process.exit(2);
`,
  );
  await put(
    'code/forever.mjs',
    `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('started');
setInterval(() => {}, 1000);
`,
  );
  await put(
    'code/probe.mjs',
    `import { copyFileSync, readFileSync } from 'node:fs';
const file = process.env.PROCESSING_INPUT_DATA + '/data.parquet';
const bytes = readFileSync(file);
console.log('data.parquet starts with ' + bytes.subarray(0, 4).toString('latin1') + ', ' + bytes.length + ' bytes');
copyFileSync(file, process.env.PROCESSING_OUTPUT_COPY + '/copy.parquet');
`,
  );
  await put(
    'code/hog.mjs',
    `const keep = [];
setInterval(() => keep.push(Buffer.alloc(32 * 1024 * 1024, 1)), 20);
`,
  );
});

afterAll(async () => {
  await t?.close();
});

function spec(
  name: string,
  script: string,
  extra: Partial<CreateProcessingJobInput> = {},
): CreateProcessingJobInput {
  const python = script.endsWith('.py');
  return {
    ProcessingJobName: name,
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
    },
    AppSpecification: {
      ImageUri: python ? 'python:3' : 'node:20',
      ContainerEntrypoint: [python ? 'python3' : 'node', `/opt/ml/processing/input/code/${script}`],
    },
    ProcessingInputs: [
      { InputName: 'code', S3Input: { S3Uri: `s3://work/code/${script}`, S3DataType: 'S3Prefix' } },
      { InputName: 'data', S3Input: { S3Uri: 's3://work/raw/', S3DataType: 'S3Prefix' } },
    ],
    ...extra,
  };
}

async function create(body: CreateProcessingJobInput) {
  return t.app.inject({ method: 'POST', url: '/api/v1/processing-jobs', headers: t.auth(), payload: body });
}

async function describeJob(name: string): Promise<ProcessingJob> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/v1/processing-jobs/${name}`,
    headers: t.auth(),
  });
  expect(res.statusCode).toBe(200);
  return res.json() as ProcessingJob;
}

async function waitFor(
  name: string,
  done: (job: ProcessingJob) => boolean,
  timeoutMs = 20_000,
): Promise<ProcessingJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await describeJob(name);
    if (done(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${name} still ${job.ProcessingJobStatus}/${job.SecondaryStatus}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ended = (job: ProcessingJob) => ['Completed', 'Failed', 'Stopped'].includes(job.ProcessingJobStatus);

async function logText(name: string): Promise<string> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/v1/processing-jobs/${name}/logs`,
    headers: t.auth(),
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { events: { message: string }[] }).events.map((e) => e.message).join('\n');
}

async function object(key: string): Promise<string> {
  return text((await t.platform.blobs.get({ bucket: 'work', key })).body);
}

describe('processing jobs', () => {
  it('runs a node script on its inputs and uploads its output, with SageMaker statuses and live logs', async () => {
    const topics = t.platform.messaging.topics;
    const events: { resource: { name: string }; detail: { state: string; previousState?: string } }[] = [];
    topics.registerHandler('jobs-test', async (n) => {
      events.push(JSON.parse(n.message));
    });
    await topics.createTopic('trainyard.processing-job.state-change');
    await topics.subscribe('trainyard.processing-job.state-change', { kind: 'handler', name: 'jobs-test' });
    const created = await create(
      spec('js-prep', 'prep.mjs', {
        AppSpecification: {
          ImageUri: 'node:20',
          ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/prep.mjs'],
          ContainerArguments: ['/opt/ml/processing/input/data', '/opt/ml/processing/output/result'],
        },
        ProcessingOutputConfig: {
          Outputs: [
            {
              OutputName: 'result',
              S3Output: { S3Uri: 's3://work/out/js', S3UploadMode: 'EndOfJob' },
              DatasetOutput: { DatasetName: 'sales-doubled' },
            },
          ],
        },
      }),
    );
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ ProcessingJobStatus: 'InProgress', SecondaryStatus: 'Pending' });

    const job = await waitFor('js-prep', ended);
    expect(job.ProcessingJobStatus).toBe('Completed');
    expect(job.SecondaryStatusTransitions.map((s) => s.Status)).toEqual([
      'Pending',
      'Starting',
      'Downloading',
      'Processing',
      'Uploading',
      'Completed',
    ]);
    expect(job.SecondaryStatusTransitions.every((s) => s.EndTime !== undefined)).toBe(true);
    expect(job.ProcessingOutputs).toEqual([
      expect.objectContaining({
        OutputName: 'result',
        S3Uri: 's3://work/out/js/',
        Objects: 1,
        DatasetName: 'sales-doubled',
        DatasetVersion: 1,
      }),
    ]);
    const version = await t.platform.datasets.getVersion('sales-doubled', 1);
    expect(version).toMatchObject({
      status: 'ready',
      rowCount: 3,
      lineage: { jobName: 'js-prep', source: 's3://work/out/js/' },
    });
    expect(version.schema.map((c) => c.name)).toEqual(['id', 'price', 'region', 'double']);
    // Subscribers of the state-change topic hear the job queued and completed.
    const deadline = Date.now() + 10_000;
    while (
      !events.some((e) => e.resource.name === 'js-prep' && e.detail.state === 'Completed') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(
      events
        .filter((e) => e.resource.name === 'js-prep')
        .map((e) => [e.detail.previousState, e.detail.state]),
    ).toEqual([
      [undefined, 'InProgress'],
      ['InProgress', 'Completed'],
    ]);
    expect(await object('out/js/doubled.csv')).toBe(
      'id,price,region,double\n1,10.5,north,21\n2,4,south,8\n3,7.25,north,14.5\n',
    );

    const page = await t.app.inject({
      method: 'GET',
      url: '/api/v1/processing-jobs/js-prep/logs',
      headers: t.auth(),
    });
    const logs = page.json() as {
      events: { stream: string; message: string; seq: number }[];
      nextCursor: number;
      complete: boolean;
    };
    expect(logs.events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stream: 'stdout', message: 'job js-prep: 3 rows' }),
        expect.objectContaining({ stream: 'stderr', message: 'a warning on stderr' }),
      ]),
    );
    expect(logs.complete).toBe(true);
    const after = await t.app.inject({
      method: 'GET',
      url: `/api/v1/processing-jobs/js-prep/logs?cursor=${logs.nextCursor}`,
      headers: t.auth(),
    });
    expect(after.json()).toEqual({ events: [], nextCursor: logs.nextCursor, complete: true });

    const listed = await t.app.inject({
      method: 'GET',
      url: '/api/v1/processing-jobs?nameContains=JS-P',
      headers: t.auth(),
    });
    expect(
      (listed.json() as { items: { ProcessingJobName: string }[] }).items.map((j) => j.ProcessingJobName),
    ).toEqual(['js-prep']);
  });

  it.skipIf(!hasPandas)(
    'runs a Python script with Debian pandas (fails under CI=true when /usr/bin/python3 has no pandas)',
    async () => {
      const res = await create(
        spec('py-prep', 'prep.py', {
          ProcessingOutputConfig: {
            Outputs: [
              {
                OutputName: 'totals',
                S3Output: { S3Uri: 's3://work/out/py/', S3UploadMode: 'EndOfJob' },
                DatasetOutput: { DatasetName: 'sales-totals' },
              },
            ],
          },
        }),
      );
      expect(res.statusCode).toBe(201);
      const job = await waitFor('py-prep', ended);
      expect(job.FailureReason).toBeUndefined();
      expect(job.ProcessingJobStatus).toBe('Completed');
      expect(await object('out/py/totals.csv')).toBe('region,price\nnorth,17.75\nsouth,4.0\n');
      expect(await logText('py-prep')).toMatch(/pandas [\d.]+: 3 rows -> 2 regions/);
      const version = await t.platform.datasets.getVersion('sales-totals', 'latest');
      expect(version).toMatchObject({ version: 1, rowCount: 2, lineage: { jobName: 'py-prep' } });
      expect(job.ProcessingOutputs?.[0]).toMatchObject({ DatasetName: 'sales-totals', DatasetVersion: 1 });
    },
  );

  it('gives a script a dataset version as input and records it as the parent of the output version', async () => {
    await t.platform.datasets.createVersionFromUri('sales', 's3://work/raw/data.csv');
    const res = await create({
      ...spec('parquet-probe', 'probe.mjs'),
      ProcessingInputs: [
        { InputName: 'code', S3Input: { S3Uri: 's3://work/code/probe.mjs', S3DataType: 'S3Prefix' } },
        { InputName: 'data', DatasetInput: { DatasetName: 'sales' } },
      ],
      ProcessingOutputConfig: {
        Outputs: [{ OutputName: 'copy', DatasetOutput: { DatasetName: 'sales-copy' } }],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const job = await waitFor('parquet-probe', ended);
    expect(job.FailureReason).toBeUndefined();
    expect(await logText('parquet-probe')).toContain('data.parquet starts with PAR1');
    // With no S3Output the files go under the platform's own prefix for the job.
    expect(job.ProcessingOutputs?.[0]).toMatchObject({
      S3Uri: 's3://trainyard/jobs/processing/parquet-probe/output/copy/',
      DatasetName: 'sales-copy',
      DatasetVersion: 1,
    });
    const copy = await t.platform.datasets.getVersion('sales-copy', 1);
    expect(copy).toMatchObject({
      rowCount: 3,
      lineage: { jobName: 'parquet-probe', parentDataset: 'sales', parentVersion: 1 },
    });
  });

  it.skipIf(!requireBuild())(
    'runs a recipe with the built-in recipe processor in its own process (needs the build)',
    async () => {
      await t.platform.blobs.put(
        { bucket: 'work', key: 'recipes/double.json' },
        JSON.stringify({
          name: 'double-price',
          steps: [
            { op: 'derive', name: 'double', expression: 'price * 2' },
            { op: 'filter', where: 'price > 5' },
          ],
        }),
      );
      const res = await create({
        ProcessingJobName: 'recipe-1',
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
        },
        AppSpecification: { ImageUri: 'trainyard/recipe-processor' },
        ProcessingInputs: [
          { InputName: 'data', DatasetInput: { DatasetName: 'sales', Version: 1 } },
          {
            InputName: 'recipe',
            S3Input: { S3Uri: 's3://work/recipes/double.json', S3DataType: 'S3Prefix' },
          },
        ],
        ProcessingOutputConfig: {
          Outputs: [{ OutputName: 'clean', DatasetOutput: { DatasetName: 'sales-clean' } }],
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      const job = await waitFor('recipe-1', ended, 30_000);
      expect(job.FailureReason).toBeUndefined();
      expect(job.ProcessingJobStatus).toBe('Completed');
      expect(job.ProcessingOutputs).toEqual([
        expect.objectContaining({ OutputName: 'clean', DatasetName: 'sales-clean', DatasetVersion: 1 }),
      ]);
      const version = await t.platform.datasets.getVersion('sales-clean', 1);
      expect(version).toMatchObject({
        rowCount: 2,
        lineage: {
          jobName: 'recipe-1',
          parentDataset: 'sales',
          parentVersion: 1,
          recipe: { name: 'double-price' },
        },
      });
      expect(version.schema.map((c) => c.name)).toContain('double');
      expect(await logText('recipe-1')).toContain('recipe: wrote dataset sales-clean version 1 (2 rows)');
    },
  );

  it('fails a job whose script exits non-zero, with the failure file as FailureReason', async () => {
    expect((await create(spec('js-fail', 'fail.mjs'))).statusCode).toBe(201);
    const job = await waitFor('js-fail', ended);
    expect(job.ProcessingJobStatus).toBe('Failed');
    expect(job.SecondaryStatus).toBe('Failed');
    expect(job.FailureReason).toBe('column "price" has a non-numeric value "abc" on line 7');
    expect(job.Failure).toEqual({
      code: 'FAILED_PRECONDITION',
      message: 'column "price" has a non-numeric value "abc" on line 7',
      retryable: false,
    });
  });

  it('stops a running job: SIGTERM, SIGKILL after the grace period, then Stopped', async () => {
    expect((await create(spec('js-stop', 'forever.mjs'))).statusCode).toBe(201);
    await waitFor('js-stop', (j) => j.SecondaryStatus === 'Processing');
    while (!(await logText('js-stop')).includes('started')) await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const stop = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs/js-stop/stop',
      headers: t.auth(),
    });
    expect(stop.statusCode).toBe(200);
    expect(stop.json()).toMatchObject({ ProcessingJobStatus: 'Stopping', SecondaryStatus: 'Stopping' });
    const job = await waitFor('js-stop', ended);
    // Grace 1 s, plus the stop poll and the status write (generous for a loaded CI machine; the
    // default grace is 120 s).
    expect(Date.now() - started).toBeLessThan(8000);
    expect(job).toMatchObject({ ProcessingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' });
    const logs = await logText('js-stop');
    expect(logs).toContain('ignoring SIGTERM');
    expect(logs).toContain('process ended: signal SIGKILL');
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs/js-stop/stop',
      headers: t.auth(),
    });
    expect(again.statusCode).toBe(412);
  });

  it('stops a job at MaxRuntimeInSeconds with MaxRuntimeExceeded', async () => {
    const res = await create(
      spec('js-timeout', 'forever.mjs', { StoppingCondition: { MaxRuntimeInSeconds: 1 } }),
    );
    expect(res.statusCode).toBe(201);
    const job = await waitFor('js-timeout', ended);
    expect(job).toMatchObject({ ProcessingJobStatus: 'Stopped', SecondaryStatus: 'MaxRuntimeExceeded' });
    expect(job.SecondaryStatusTransitions.at(-1)?.StatusMessage).toMatch(/MaxRuntimeInSeconds \(1 s\)/);
  });

  it('fails a job whose processes pass the instance type memory, saying so', async () => {
    await t.platform.metadata.instanceTypes.create({
      name: 'ml.tiny.test',
      vcpus: 1,
      memoryMiB: 128,
      pricePerHour: 0,
    });
    const res = await create(
      spec('js-hog', 'hog.mjs', {
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.tiny.test', VolumeSizeInGB: 1 },
        },
      }),
    );
    expect(res.statusCode).toBe(201);
    const job = await waitFor('js-hog', ended);
    expect(job.ProcessingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(
      /^MemoryLimitExceeded: the job's processes used \d+ MiB, over the memory of ml\.tiny\.test: 128 MiB/,
    );
    expect(job.Failure).toMatchObject({ code: 'RESOURCE_EXHAUSTED', retryable: false });
  });

  it('restarts a job whose worker vanished once the visibility timeout passes, and runs it to completion once', async () => {
    // A worker that receives the message, claims the job and dies: no heartbeat, no delete.
    const worker = t.platform.jobs.worker()!;
    await worker.close();
    const res = await create(
      spec('js-crash', 'prep.mjs', {
        AppSpecification: {
          ImageUri: 'node:20',
          ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/prep.mjs'],
          ContainerArguments: ['/opt/ml/processing/input/data', '/opt/ml/processing/output/result'],
        },
        ProcessingOutputConfig: {
          Outputs: [
            { OutputName: 'result', S3Output: { S3Uri: 's3://work/out/crash', S3UploadMode: 'EndOfJob' } },
          ],
        },
      }),
    );
    expect(res.statusCode).toBe(201);
    const [message] = await t.platform.jobQueue.receive(jobQueueName('processing'), {
      visibilityTimeoutMs: 1000,
    });
    expect(message).toBeDefined();
    const { jobId } = JSON.parse(message!.body) as { jobId: string };
    expect(await t.platform.metadata.jobs.claim(jobId, 'doomed-worker', 1000)).toBeDefined();
    // While the doomed worker's claim is live, nobody else may take the job.
    expect(await t.platform.metadata.jobs.claim(jobId, 'other-worker', 1000)).toBeUndefined();

    const restarted = await t.platform.jobs.startWorker();
    expect(restarted).not.toBe(worker);
    const job = await waitFor('js-crash', ended);
    expect(job.ProcessingJobStatus).toBe('Completed');
    expect(job.Attempts).toBe(2);
    expect(job.SecondaryStatusTransitions.map((s) => s.Status)).toEqual([
      'Pending',
      'Restarting',
      'Starting',
      'Downloading',
      'Processing',
      'Uploading',
      'Completed',
    ]);
    expect((await logText('js-crash')).match(/job js-crash: 3 rows/g)).toHaveLength(1);
    expect(await t.platform.jobQueue.counts(jobQueueName('processing'))).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
  });

  it('refuses bad requests naming the field', async () => {
    const bad = async (body: CreateProcessingJobInput, field: RegExp, status = 400) => {
      const res = await create(body);
      expect(res.statusCode).toBe(status);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(field);
    };
    await bad(
      spec('v1', 'prep.mjs', {
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.nope.large', VolumeSizeInGB: 1 },
        },
      }),
      /ProcessingResources\.ClusterConfig\.InstanceType: "ml\.nope\.large" is not in the instance type catalog/,
    );
    await bad(
      spec('v2', 'prep.mjs', { AppSpecification: { ImageUri: 'my-image:1' } }),
      /AppSpecification\.ContainerEntrypoint: is required/,
    );
    await bad(
      spec('v3', 'prep.mjs', {
        ProcessingInputs: [
          {
            InputName: 'x',
            S3Input: { S3Uri: 's3://work/raw/', S3DataType: 'S3Prefix', S3InputMode: 'Pipe' },
          },
        ],
      }),
      /ProcessingInputs\.0\.S3Input\.S3InputMode: only File mode/,
    );
    await bad(spec('bad_name', 'prep.mjs'), /body\.ProcessingJobName/);
    await bad(spec('js-prep', 'prep.mjs'), /already exists/, 409);
    const viewer = await t.keyWithRole('viewer');
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs',
      headers: t.auth(viewer),
      payload: spec('v4', 'prep.mjs'),
    });
    expect(denied.statusCode).toBe(403);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/v1/processing-jobs/nope',
      headers: t.auth(),
    });
    expect(missing.statusCode).toBe(404);
  });
});
