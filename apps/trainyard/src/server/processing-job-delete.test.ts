import type { CreateProcessingJobInput, ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

let t: TestServer;

beforeAll(async () => {
  t = await openTestServer({ workerConcurrency: 1, jobStopGraceSeconds: 1 });
  await t.platform.jobs.startWorker();
  await t.platform.blobs.put({ bucket: 'work', key: 'code/hello.mjs' }, "console.log('hello');\n");
  await t.platform.blobs.put({ bucket: 'work', key: 'code/wait.mjs' }, 'setInterval(() => {}, 1000);\n');
});
afterAll(async () => {
  await t?.close();
});

const spec = (name: string, script: string): CreateProcessingJobInput => ({
  ProcessingJobName: name,
  ProcessingResources: {
    ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
  },
  AppSpecification: {
    ImageUri: 'node:20',
    ContainerEntrypoint: ['node', `/opt/ml/processing/input/code/${script}`],
  },
  ProcessingInputs: [
    { InputName: 'code', S3Input: { S3Uri: `s3://work/code/${script}`, S3DataType: 'S3Prefix' } },
  ],
});
const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({
    method,
    url: `/api/v1/processing-jobs${url}`,
    headers: t.auth(),
    ...(payload ? { payload } : {}),
  });

async function until(name: string, statuses: string[]): Promise<ProcessingJob> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = (await api('GET', `/${name}`)).json() as ProcessingJob;
    if (statuses.includes(job.ProcessingJobStatus)) return job;
    if (Date.now() > deadline) throw new Error(`${name} is still ${job.ProcessingJobStatus}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deleting processing jobs', () => {
  it('deletes a finished job and its log, refuses a running one, and frees the name', async () => {
    expect((await api('POST', '', spec('hello', 'hello.mjs'))).statusCode).toBe(201);
    await until('hello', ['Completed']);
    expect((await api('DELETE', '/hello')).json()).toEqual({ ok: true });
    expect((await api('GET', '/hello')).statusCode).toBe(404);
    expect((await api('GET', '/hello/logs')).statusCode).toBe(404);

    expect((await api('POST', '', spec('waiting', 'wait.mjs'))).statusCode).toBe(201);
    await until('waiting', ['InProgress']);
    const refused = await api('DELETE', '/waiting');
    expect(refused.statusCode).toBe(412);
    expect(refused.json().error.message).toMatch(
      /^processing job "waiting" is InProgress; stop it and wait until it has ended before deleting it$/,
    );
    await api('POST', '/waiting/stop');
    await until('waiting', ['Stopped']);
    expect((await api('DELETE', '/waiting')).statusCode).toBe(200);

    expect((await api('POST', '', spec('hello', 'hello.mjs'))).statusCode).toBe(201);
    await until('hello', ['Completed']);
  }, 90_000);
});
