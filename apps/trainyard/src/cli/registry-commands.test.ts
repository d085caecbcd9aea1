import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };
let developer: string;
let viewer: string;
const cli = (args: string[], key = developer) => runCli(args, { baseUrl: t.baseUrl, key });

describe.skipIf(!requireBuild())('trainyard model registry CLI (needs the build: npx tsc -b)', () => {
  beforeAll(async () => {
    t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
    await t.platform.jobs.startWorker();
    developer = await t.keyWithRole('developer');
    viewer = await t.keyWithRole('viewer');
    const lines = Array.from({ length: 200 }, (_, i) => {
      const x = (i * 37) % 100;
      const y = (i * 53) % 100;
      return `${x > y ? 1 : 0},${x},${y}`;
    });
    await t.platform.blobs.put({ bucket: 'work', key: 'cli/train.csv' }, `${lines.join('\n')}\n`);
    await t.platform.jobs.trainingJobs.create({
      TrainingJobName: 'cli-reg',
      AlgorithmSpecification: { AlgorithmName: 'xgboost', TrainingInputMode: 'File' },
      HyperParameters: { objective: 'binary:logistic', num_round: '5' },
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          CompressionType: 'None',
          RecordWrapperType: 'None',
          DataSource: {
            S3DataSource: {
              S3Uri: 's3://work/cli/train.csv',
              S3DataType: 'S3Prefix',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        },
      ],
      OutputDataConfig: { S3OutputPath: 's3://work/out/', CompressionType: 'GZIP' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 300 },
    });
    for (let i = 0; i < 600; i++) {
      const job = await t.platform.jobs.trainingJobs.describe('cli-reg');
      if (job.TrainingJobStatus === 'Completed') break;
      if (job.TrainingJobStatus !== 'InProgress')
        throw new Error(`cli-reg ${job.TrainingJobStatus}: ${job.FailureReason}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);
  afterAll(async () => {
    await t?.close();
  });

  it('registers a training job, approves and rejects with reasons, deploys and shows lineage', async () => {
    expect((await cli(['model-package-groups', 'create', 'cli-churn', '--description', 'cli'])).code).toBe(0);
    const created = await cli([
      'model-packages',
      'create',
      '--group',
      'cli-churn',
      '--from-training-job',
      'cli-reg',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Package\s+cli-churn\/1/);
    expect(created.stdout).toMatch(/ModelApprovalStatus\s+PendingManualApproval/);
    expect(created.stdout).toMatch(/SourceTrainingJob\s+cli-reg/);
    expect(created.stdout).toMatch(/FinalMetrics\s+train:/);

    const blocked = await cli(['models', 'create', '--name', 'cli-m1', '--model-package', 'cli-churn/1']);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain('PendingManualApproval');
    const viewerApproves = await cli(['model-packages', 'approve', 'cli-churn/1'], viewer);
    expect(viewerApproves.code).not.toBe(0);
    expect(viewerApproves.stderr).toContain('PERMISSION_DENIED');
    const noReason = await cli(['model-packages', 'reject', 'cli-churn/1']);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain('--reason');
    const rejected = await cli(['model-packages', 'reject', 'cli-churn/1', '--reason', 'too slow']);
    expect(rejected.stdout).toMatch(/ModelApprovalStatus\s+Rejected/);
    const approved = await cli([
      'model-packages',
      'approve',
      'arn:aws:sagemaker:us-east-1:000000000000:model-package/cli-churn/1',
      '--reason',
      'fixed',
    ]);
    expect(approved.stdout).toMatch(/ApprovalDescription\s+fixed/);
    expect((await cli(['models', 'create', '--name', 'cli-m2', '--model-package', 'cli-churn/1'])).code).toBe(
      0,
    );

    const listed = await cli(['model-packages', 'list', '--group', 'cli-churn', '--json'], viewer);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { ModelPackageVersion: 1, ModelApprovalStatus: 'Approved' },
    ]);
    const described = await cli(['model-packages', 'describe', 'cli-churn/1', '--lineage'], viewer);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/approval history:/);
    expect(described.stdout).toMatch(/Rejected\s+\S+\s+too slow/);
    expect(described.stdout).toContain('training-job:cli-reg  ->  model-package:cli-churn/1 (Approved)');
    expect(described.stdout).toContain('model-package:cli-churn/1 (Approved)  ->  model:cli-m2');

    const lineage = await cli(['lineage', 'model', 'cli-m2', '--json'], viewer);
    expect(
      JSON.parse(lineage.stdout)
        .nodes.map((n: { id: string }) => n.id)
        .sort(),
    ).toEqual(['training-job:cli-reg', 'model-package:cli-churn/1', 'model:cli-m2'].sort());
  }, 180_000);
});
