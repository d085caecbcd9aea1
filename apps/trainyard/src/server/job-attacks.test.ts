import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { installBubblewrap } from '@trainyard/runtime/jobs/job-sandbox';
import { requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

// Isolation needs bubblewrap, or root (the unprivileged job user); without either jobs run as the
// server's user, which is what these tests must show does not happen.
const isolated = requireDependency(
  'bubblewrap (or running as root)',
  () => existsSync('/usr/bin/bwrap') || process.getuid?.() === 0,
  installBubblewrap,
);

/** A job script written by an attacker: it goes for the server's files and leaves symlinks as outputs. */
const hostile = `
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const optMl = process.env.TRAINYARD_OPT_ML;
// The working folder is <data>/jobs/processing/<job>: the data folder is three levels up.
const data = dirname(dirname(dirname(optMl)));
const tryIt = (f) => { try { return String(f()).slice(0, 200); } catch (e) { return 'refused: ' + e.code; } };
console.log('PROBE ' + JSON.stringify({
  masterKey: tryIt(() => readFileSync(join(data, 'master.key'), 'utf8')),
  database: tryIt(() => readFileSync(join(data, 'trainyard.db')).length),
  listing: tryIt(() => readdirSync(data).join(',')),
  blobs: tryIt(() => readdirSync(join(data, 'blobs')).join(',')),
  environ: tryIt(() => readFileSync('/proc/1/environ', 'utf8')),
  ownEnv: Object.entries(process.env).map(([k, v]) => k + '=' + v).join('\\n'),
}));
const out = process.env.PROCESSING_OUTPUT_OUT;
writeFileSync(join(out, 'ok.txt'), 'an honest output');
symlinkSync(join(data, 'master.key'), join(out, 'leak-key'));
symlinkSync('/etc/shadow', join(out, 'leak-shadow'));
symlinkSync(data, join(out, 'leak-dir'));
`;

describe.skipIf(!isolated)('attacks from inside a job', () => {
  let t: TestServer;
  let masterKey: string;

  // Secrets in the server's environment (an S3 blob store's credentials, say) never reach a job.
  const serverSecret = `server-secret-${Math.random().toString(36).slice(2)}`;
  const saved = process.env.AWS_SECRET_ACCESS_KEY;

  beforeAll(async () => {
    process.env.AWS_SECRET_ACCESS_KEY = serverSecret;
    t = await openTestServer({ workerConcurrency: 1, jobStopGraceSeconds: 1 });
    await t.platform.jobs.startWorker();
    masterKey = readFileSync(join(t.dataDir, 'master.key'), 'utf8').trim();
    await t.platform.blobs.put({ bucket: 'work', key: 'code/hostile.mjs' }, hostile);
  });
  afterAll(async () => {
    await t?.close();
    if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = saved;
  });

  async function runJob(name: string): Promise<{ job: ProcessingJob; log: string }> {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/processing-jobs',
      headers: t.auth(await t.keyWithRole('developer')),
      payload: {
        ProcessingJobName: name,
        ProcessingResources: {
          ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
        },
        AppSpecification: {
          ImageUri: 'node:20',
          ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/hostile.mjs'],
        },
        ProcessingInputs: [
          { InputName: 'code', S3Input: { S3Uri: 's3://work/code/hostile.mjs', S3DataType: 'S3Prefix' } },
        ],
        ProcessingOutputConfig: {
          Outputs: [
            { OutputName: 'out', S3Output: { S3Uri: `s3://loot/${name}/`, S3UploadMode: 'EndOfJob' } },
          ],
        },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = (
        await t.app.inject({ url: `/api/v1/processing-jobs/${name}`, headers: t.auth() })
      ).json() as ProcessingJob;
      if (['Completed', 'Failed', 'Stopped'].includes(job.ProcessingJobStatus)) {
        const log = (
          await t.app.inject({ url: `/api/v1/processing-jobs/${name}/logs?limit=1000`, headers: t.auth() })
        ).json() as { events: { message: string }[] };
        return { job, log: log.events.map((e) => e.message).join('\n') };
      }
      if (Date.now() > deadline) throw new Error(`job ${name} did not end: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('cannot read the data folder, the master key, the database or the server environment', async () => {
    const { job, log } = await runJob('hostile-read');
    expect(job.ProcessingJobStatus, log).toBe('Completed');
    const probe = JSON.parse(/PROBE (.*)/.exec(log)?.[1] ?? '{}');
    expect(probe.masterKey).toMatch(/^refused: E(NOENT|ACCES)$/);
    expect(probe.database).toMatch(/^refused: E(NOENT|ACCES)$/);
    expect(probe.blobs).toMatch(/^refused: E(NOENT|ACCES)$/);
    expect(probe.listing).not.toContain('master.key');
    expect(log).not.toContain(masterKey);
    expect(probe.ownEnv).toContain('PROCESSING_OUTPUT_OUT=');
    expect(log).not.toContain(serverSecret);
    expect(log).toMatch(/isolation (bubblewrap|unprivileged-user)/);
    // /readyz says the same to an operator.
    const ready = (await t.app.inject({ url: '/readyz' })).json();
    expect(ready.jobIsolation.mode).toMatch(/^(bubblewrap|unprivileged-user)$/);
    expect(ready.jobIsolation.summary).toMatch(/^job isolation: /);
  });

  it('uploads only regular files from its output: symlinks out of the folder are not followed', async () => {
    const { job, log } = await runJob('hostile-links');
    expect(job.ProcessingJobStatus, log).toBe('Completed');
    const listed = await t.platform.blobs.list('loot', { prefix: 'hostile-links/' });
    expect(listed.items.map((i) => i.key)).toEqual(['hostile-links/ok.txt']);
    expect(readFileSync(join(t.dataDir, 'master.key'), 'utf8').trim()).toBe(masterKey);
  });
});
