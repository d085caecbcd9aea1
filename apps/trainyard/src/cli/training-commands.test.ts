import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };
const cli = (args: string[]) => runCli(args, { baseUrl: t.baseUrl, key: t.adminKey });

describe.skipIf(!requireBuild())('trainyard training-jobs CLI (needs the build: npx tsc -b)', () => {
  beforeAll(async () => {
    t = await openTestServer({ jobStopGraceSeconds: 1, jobVisibilityTimeoutSeconds: 2 }, { listen: true });
    await t.platform.jobs.startWorker();
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      const x = (i * 37) % 100;
      const y = (i * 53) % 100;
      lines.push(`${1.5 * x - 0.5 * y + ((i * 7) % 5)},${x},${y}`);
    }
    await t.platform.blobs.put(
      { bucket: 'work', key: 'reg/train.csv' },
      `${lines.slice(0, 300).join('\n')}\n`,
    );
    await t.platform.blobs.put(
      { bucket: 'work', key: 'reg/validation.csv' },
      `${lines.slice(300).join('\n')}\n`,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a built-in job from a spec, shows progress while it runs, then prints the evaluation tables, metrics and logs', async () => {
    const spec = join(t.dataDir, 'train.json');
    writeFileSync(
      spec,
      JSON.stringify({
        TrainingJobName: 'cli-xgb',
        AlgorithmSpecification: { AlgorithmName: 'xgboost' },
        HyperParameters: { num_round: '20', max_depth: '3' },
        InputDataConfig: [
          {
            ChannelName: 'train',
            ContentType: 'text/csv',
            DataSource: { S3DataSource: { S3Uri: 's3://work/reg/train.csv' } },
          },
          {
            ChannelName: 'validation',
            ContentType: 'text/csv',
            DataSource: { S3DataSource: { S3Uri: 's3://work/reg/validation.csv' } },
          },
        ],
        OutputDataConfig: { S3OutputPath: 's3://work/out/' },
        ResourceConfig: { InstanceType: 'ml.m5.large' },
      }),
    );
    const created = await cli(['training-jobs', 'create', '--spec', spec, '--wait']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/InProgress\s+(Pending|Starting|Downloading|Training|Uploading)/);
    expect(created.stderr).toMatch(/Completed\s+Completed\s+\d+\.\ds/);
    expect(created.stdout).toContain('EVALUATION (validation, 100 rows)');
    expect(created.stdout).toMatch(/^RMSE\s+\d+\.\d{4}$/m);
    expect(created.stdout).toMatch(/validation:rmse/);

    const metrics = await cli(['training-jobs', 'metrics', 'cli-xgb', '--metric', 'train:rmse']);
    expect(metrics.stdout.trim().split('\n')).toHaveLength(21);
    const logs = await cli(['training-jobs', 'logs', 'cli-xgb', '-f']);
    expect(logs.stdout).toMatch(/^\[19\]\ttrain-rmse:[0-9.]+\tvalidation-rmse:[0-9.]+$/m);
    const list = await cli(['training-jobs', 'list', '--status', 'Completed']);
    expect(list.stdout).toMatch(/^cli-xgb\s+Completed\s+Completed/m);
    const sorted = await cli(['training-jobs', 'list', '--sort-by', 'Name', '--ascending', '--json']);
    const names = (JSON.parse(sorted.stdout) as { TrainingJobName: string }[]).map((j) => j.TrainingJobName);
    expect(names).toEqual([...names].sort());
    const future = await cli([
      'training-jobs',
      'list',
      '--created-after',
      new Date(Date.now() + 60_000).toISOString(),
    ]);
    expect(future.stdout).not.toContain('cli-xgb');
    const bad = await cli(['training-jobs', 'list', '--created-after', 'yesterday']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/createdAfter/);
  }, 60_000);
});
