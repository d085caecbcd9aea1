import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestServer } from '../testing/platform-fixture.js';
import { builtMain, requireBuild } from '../testing/server-process.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe.skipIf(!requireBuild())(
  'training job: worker crash during GBDT training (needs the build: npx tsc -b)',
  () => {
    it('completes on a restarted worker as attempt 2, resumed from its last checkpoint, with exactly one model artifact', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-training-crash-'));
      const t = await openTestServer({
        dataDir,
        workerConcurrency: 0,
        jobVisibilityTimeoutSeconds: 1,
        jobStopGraceSeconds: 1,
      });
      try {
        const lines: string[] = [];
        let s = 17;
        for (let i = 0; i < 20_000; i++) {
          const x = Array.from({ length: 12 }, () => {
            s = (s * 1103515245 + 12345) % 2147483648;
            return Math.round((s / 2147483648) * 1000) / 100;
          });
          lines.push([x[0]! * 2 - x[1]! + Math.sin(x[2]!) * 3 + x[3]! * x[4]! * 0.1, ...x].join(','));
        }
        await t.platform.blobs.put({ bucket: 'work', key: 'crash/train.csv' }, `${lines.join('\n')}\n`);
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
        const exited = new Promise((resolve) =>
          worker.once('exit', (code, signal) => resolve(signal ?? code)),
        );

        await t.platform.jobs.trainingJobs.create({
          TrainingJobName: 'crash-xgb',
          AlgorithmSpecification: { AlgorithmName: 'xgboost', TrainingInputMode: 'File' },
          HyperParameters: {
            // Long enough that training outlasts the first checkpoint sync (every 2 s) by seconds.
            num_round: '1000',
            max_depth: '6',
            eta: '0.05',
            checkpoint_frequency: '5',
            nthread: '1',
          },
          InputDataConfig: [
            {
              ChannelName: 'train',
              ContentType: 'text/csv',
              CompressionType: 'None',
              RecordWrapperType: 'None',
              DataSource: {
                S3DataSource: {
                  S3DataType: 'S3Prefix',
                  S3Uri: 's3://work/crash/train.csv',
                  S3DataDistributionType: 'FullyReplicated',
                },
              },
            },
          ],
          OutputDataConfig: { S3OutputPath: 's3://work/models', CompressionType: 'GZIP' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
          StoppingCondition: { MaxRuntimeInSeconds: 600 },
          CheckpointConfig: { S3Uri: 's3://work/checkpoints/crash-xgb/', LocalPath: '/opt/ml/checkpoints' },
        });

        // Kill the worker once a checkpoint has reached the blob store, while training goes on.
        const deadline = Date.now() + 60_000;
        for (;;) {
          if (Date.now() > deadline) throw new Error(`no checkpoint was synced:\n${output}`);
          const page = await t.platform.blobs.list('work', { prefix: 'checkpoints/crash-xgb/' });
          if (page.items.some((i) => /xgboost-checkpoint\.\d+$/.test(i.key))) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const before = await t.platform.jobs.trainingJobs.describe('crash-xgb');
        expect(before.SecondaryStatus).toBe('Training');
        worker.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');

        await t.platform.jobs.startWorker();
        let job: TrainingJob;
        for (;;) {
          job = await t.platform.jobs.trainingJobs.describe('crash-xgb');
          if (['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus)) break;
          if (Date.now() > deadline + 60_000) throw new Error(`job still ${job.SecondaryStatus}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const log = (await t.platform.jobs.trainingJobs.logs('crash-xgb', 0, 100_000)).events.map(
          (e) => e.message,
        );
        expect(job.FailureReason, log.join('\n')).toBeUndefined();
        expect(job).toMatchObject({ TrainingJobStatus: 'Completed', Attempts: 2 });
        expect(job.SecondaryStatusTransitions.map((x) => x.Status)).toContain('Restarting');
        const resumed = log.find((l) => l.includes('resuming from checkpoint'));
        expect(resumed).toMatch(/xgboost-checkpoint\.[1-9]\d*/);
        // Attempt 2 started after the checkpoint, not from round 0.
        const rounds = log.filter((l) => /^\[\d+\]\t/.test(l)).map((l) => Number(/^\[(\d+)\]/.exec(l)![1]));
        expect(rounds.at(-1)).toBe(999);
        expect(rounds.filter((r) => r === 999)).toHaveLength(1);
        const artifacts = await t.platform.blobs.list('work', { prefix: 'models/crash-xgb/' });
        expect(artifacts.items.map((i) => i.key)).toEqual(['models/crash-xgb/output/model.tar.gz']);
      } finally {
        await t.close();
      }
    }, 180_000);
  },
);
