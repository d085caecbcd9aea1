import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };
const cli = (args: string[]) => runCli(args, { baseUrl: t.baseUrl, key: t.adminKey });

describe.skipIf(!requireBuild())('trainyard tuning-jobs CLI (needs the build: npx tsc -b)', () => {
  beforeAll(async () => {
    t = await openTestServer({ workerConcurrency: 2 }, { listen: true });
    await t.platform.blobs.createBucket('work');
    await t.platform.blobs.put(
      { bucket: 'work', key: 'code/quad.mjs' },
      `const a = process.argv.slice(2); const hp = {};
for (let i = 0; i < a.length; i += 2) hp[a[i].replace(/^--/, '')] = Number(a[i + 1]);
console.log('objective=' + ((hp.x - 1) ** 2) + ';');
`,
    );
    await t.platform.jobs.startWorker();
    t.platform.jobs.startTuner();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a tuning job with live progress, then shows it, its trials and the list', async () => {
    const spec = join(t.dataDir, 'hpo.json');
    writeFileSync(
      spec,
      JSON.stringify({
        HyperParameterTuningJobName: 'cli-hpo',
        HyperParameterTuningJobConfig: {
          Strategy: 'Random',
          HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'objective' },
          ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 2 },
          ParameterRanges: { ContinuousParameterRanges: [{ Name: 'x', MinValue: '-5', MaxValue: '5' }] },
        },
        TrainingJobDefinition: {
          AlgorithmSpecification: {
            TrainingImage: 'trainyard/node-script:1',
            MetricDefinitions: [{ Name: 'objective', Regex: 'objective=([-0-9.e]+);' }],
          },
          StaticHyperParameters: { sagemaker_program: 'quad.mjs' },
          InputDataConfig: [
            { ChannelName: 'code', DataSource: { S3DataSource: { S3Uri: 's3://work/code/' } } },
          ],
          OutputDataConfig: { S3OutputPath: 's3://work/out' },
          ResourceConfig: { InstanceType: 'ml.m5.large' },
        },
      }),
    );
    const created = await cli(['tuning-jobs', 'create', '--spec', spec, '--wait']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/InProgress\s+trials \d\/3 done/);
    expect(created.stderr).toMatch(
      /Completed\s+trials 3\/3 done\s+0 running\s+0 stopped\s+0 failed\s+best objective=[0-9.e-]+ \(cli-hpo-\d{3}-[0-9a-f]{8}\)/,
    );
    expect(created.stdout).toContain('BEST TRAINING JOB');

    const trials = await cli(['tuning-jobs', 'trials', 'cli-hpo', '--sort-by', 'FinalObjectiveMetricValue']);
    expect(trials.code, trials.stderr).toBe(0);
    expect(trials.stdout).toMatch(/TRIAL\s+TRAININGJOBNAME\s+STATUS\s+X\s+OBJECTIVE\s+BEST SO FAR/);
    expect(trials.stdout.split('\n').filter((line) => line.includes('cli-hpo-'))).toHaveLength(3);

    const described = await cli(['tuning-jobs', 'describe', 'cli-hpo', '--json']);
    const job = JSON.parse(described.stdout);
    expect(job.TrainingJobStatusCounters.Completed).toBe(3);

    const list = await cli(['tuning-jobs', 'list']);
    expect(list.stdout).toMatch(/cli-hpo\s+Completed\s+Random\s+3\s+0\s+3/);

    const stop = await cli(['tuning-jobs', 'stop', 'cli-hpo']);
    expect(stop.code).not.toBe(0);
    expect(stop.stderr).toContain('already ended');

    const help = await cli(['tuning-jobs', 'create', '--help']);
    expect(help.stdout).toContain('--wait');
  }, 120_000);
});
