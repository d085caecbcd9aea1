import type { ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { freshPostgresSchema } from '@trainyard/testing/postgres-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

describe('processing jobs on PostgreSQL metadata', () => {
  let t: TestServer;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const schema = await freshPostgresSchema();
    drop = schema.drop;
    t = await openTestServer({
      metadata: schema.url,
      jobStopGraceSeconds: 1,
      jobVisibilityTimeoutSeconds: 2,
    });
    await t.platform.jobs.startWorker();
  });
  afterAll(async () => {
    await t.close();
    await drop();
  });

  it('queues, runs, stops and logs jobs with the same code as on SQLite', async () => {
    await t.platform.blobs.put(
      { bucket: 'work', key: 'code/echo.mjs' },
      `console.log('args ' + process.argv.slice(2).join(' '));
if (process.argv[2] === 'wait') setInterval(() => {}, 1000);
`,
    );
    const body = (name: string, args: string[]) => ({
      ProcessingJobName: name,
      ProcessingResources: {
        ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
      },
      AppSpecification: {
        ImageUri: 'node:20',
        ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/echo.mjs'],
        ContainerArguments: args,
      },
      ProcessingInputs: [
        { InputName: 'code', S3Input: { S3Uri: 's3://work/code/echo.mjs', S3DataType: 'S3Prefix' } },
      ],
    });
    const describeJob = async (name: string) =>
      (
        await t.app.inject({ url: `/api/v1/processing-jobs/${name}`, headers: t.auth() })
      ).json() as ProcessingJob;
    const waitEnded = async (name: string) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const job = await describeJob(name);
        if (['Completed', 'Failed', 'Stopped'].includes(job.ProcessingJobStatus)) return job;
        if (Date.now() > deadline) throw new Error(`${name} still ${job.SecondaryStatus}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (const [name, args] of [
      ['pg-done', ['hello', 'pg']],
      ['pg-stop', ['wait']],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/processing-jobs',
        headers: t.auth(),
        payload: body(name, [...args]),
      });
      expect(res.statusCode).toBe(201);
    }
    expect(await waitEnded('pg-done')).toMatchObject({ ProcessingJobStatus: 'Completed', Attempts: 1 });
    const logs = await t.app.inject({ url: '/api/v1/processing-jobs/pg-done/logs', headers: t.auth() });
    expect(logs.json().events.map((e: { message: string }) => e.message)).toContain('args hello pg');

    while ((await describeJob('pg-stop')).SecondaryStatus !== 'Processing')
      await new Promise((r) => setTimeout(r, 50));
    await t.app.inject({ method: 'POST', url: '/api/v1/processing-jobs/pg-stop/stop', headers: t.auth() });
    expect(await waitEnded('pg-stop')).toMatchObject({
      ProcessingJobStatus: 'Stopped',
      SecondaryStatus: 'Stopped',
    });
  });
});
