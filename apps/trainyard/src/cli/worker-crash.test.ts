import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import type { ProcessingJob } from '@trainyard/contracts/processing-jobs';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestServer } from '../testing/platform-fixture.js';
import { builtMain, requireBuild } from '../testing/server-process.js';

const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe.skipIf(!requireBuild())('trainyard worker crash (needs the build: npx tsc -b)', () => {
  it('restarts the job of a SIGKILLed worker process on another worker after the visibility timeout', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-worker-crash-'));
    const t = await openTestServer({
      dataDir,
      workerConcurrency: 0,
      jobVisibilityTimeoutSeconds: 1,
      jobStopGraceSeconds: 1,
    });
    try {
      await t.platform.blobs.put(
        { bucket: 'work', key: 'code/slow.mjs' },
        // Attempts are told apart by a random token: inside the job sandbox (its own PID
        // namespace) every attempt's process id is the same small number.
        `import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
const id = randomInt(1, 2 ** 40);
console.log('started ' + id);
await new Promise((r) => setTimeout(r, 1500));
writeFileSync(process.env.PROCESSING_OUTPUT_RESULT + '/done.txt', 'finished by ' + id);
console.log('finished ' + id);
`,
      );
      const worker = spawn(process.execPath, [builtMain, 'worker', '--data-dir', dataDir], {
        env: {
          PATH: process.env.PATH ?? '',
          TRAINYARD_JOB_VISIBILITY_TIMEOUT_SECONDS: '1',
          TRAINYARD_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(worker);
      let output = '';
      worker.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      worker.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise((resolve) => worker.once('exit', (code, signal) => resolve(signal ?? code)));

      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/processing-jobs',
        headers: t.auth(),
        payload: {
          ProcessingJobName: 'crash-1',
          ProcessingResources: {
            ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
          },
          AppSpecification: {
            ImageUri: 'node:20',
            ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/slow.mjs'],
          },
          ProcessingInputs: [
            { InputName: 'code', S3Input: { S3Uri: 's3://work/code/slow.mjs', S3DataType: 'S3Prefix' } },
          ],
          ProcessingOutputConfig: {
            Outputs: [
              { OutputName: 'result', S3Output: { S3Uri: 's3://work/out/crash/', S3UploadMode: 'EndOfJob' } },
            ],
          },
        },
      });
      expect(created.statusCode, created.body).toBe(201);

      const logs = async () => {
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/v1/processing-jobs/crash-1/logs',
          headers: t.auth(),
        });
        return (res.json() as { events: { message: string }[] }).events.map((e) => e.message);
      };
      const deadline = Date.now() + 20_000;
      let firstId = 0;
      while (!firstId) {
        if (Date.now() > deadline) throw new Error(`the worker process never started the job:\n${output}`);
        firstId = Number((await logs()).find((l) => l.startsWith('started '))?.split(' ')[1] ?? 0);
        await new Promise((r) => setTimeout(r, 50));
      }
      worker.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      await t.platform.jobs.startWorker();
      let job: ProcessingJob;
      for (;;) {
        const res = await t.app.inject({
          method: 'GET',
          url: '/api/v1/processing-jobs/crash-1',
          headers: t.auth(),
        });
        job = res.json() as ProcessingJob;
        if (['Completed', 'Failed', 'Stopped'].includes(job.ProcessingJobStatus)) break;
        if (Date.now() > deadline) throw new Error(`job still ${job.SecondaryStatus}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(job.FailureReason).toBeUndefined();
      expect(job).toMatchObject({ ProcessingJobStatus: 'Completed', Attempts: 2 });
      expect(job.SecondaryStatusTransitions.map((s) => s.Status)).toContain('Restarting');
      // The dead worker's orphaned job process was ended before the restart, so it never finished.
      const lines = await logs();
      expect(lines.filter((l) => l.startsWith('finished '))).toHaveLength(1);
      expect(lines).not.toContain(`finished ${firstId}`);
      const body = await text(
        (await t.platform.blobs.get({ bucket: 'work', key: 'out/crash/done.txt' })).body,
      );
      expect(body).not.toBe(`finished by ${firstId}`);
    } finally {
      await t.close();
    }
  });
});
