import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TrainyardError } from '@trainyard/contracts/errors';
import { requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsToolEnv } from '../../testing/aws-tools.js';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const run = promisify(execFile);
const awsCli = '/usr/bin/aws';

const hasAwsCli = requireDependency(
  'the aws CLI v2 (/usr/bin/aws)',
  () => existsSync(awsCli),
  'apt-get install awscli',
);

/** Label-first CSV rows of a separable binary problem (SageMaker's XGBoost CSV layout). */
function labelFirstCsv(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = ((i * 37) % 100) / 50 - 1;
    const b = ((i * 61) % 100) / 50 - 1;
    lines.push(`${a - b > 0 ? 1 : 0},${a},${b}`);
  }
  return `${lines.join('\n')}\n`;
}

const image = '382416733822.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1';
const role = 'arn:aws:iam::000000000000:role/trainyard';

/**
 * The whole SageMaker workflow driven by Debian's aws CLI v2 alone: aws s3 cp, create-training-job
 * and its waiter, create-model, create-endpoint-config, create-endpoint and the endpoint-in-service
 * waiter, sagemaker-runtime invoke-endpoint, the model archive back through aws s3 cp, then
 * delete-endpoint and the endpoint-deleted waiter. One workflow per file bounds its time.
 */
describe('SageMaker endpoints with the aws CLI v2', () => {
  let t: TestServer & { baseUrl: string };
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    await t.platform.jobs.startWorker();
    t.platform.endpoints.startReconciler();
    await t.platform.blobs.createBucket('work');
    work = mkdtempSync(join(tmpdir(), 'trainyard-smcli-endpoint-'));
    const key = await t.platform.keys.create('sm-cli-endpoint', 'developer');
    env = awsToolEnv(work, key);
  });
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const cli = async (service: string, ...args: string[]) =>
    JSON.parse(
      (
        await run(awsCli, [service, ...args, '--endpoint-url', t.baseUrl, '--output', 'json'], {
          env,
          cwd: work,
        })
      ).stdout || '{}',
    );
  const sm = (...args: string[]) => cli('sagemaker', ...args);
  /**
   * Waits in-process for `done`: the CLI's waiters sleep 30-120 s between polls and each CLI call
   * costs a Python start, so the test polls the platform and lets the CLI's waiter confirm.
   */
  const until = async (done: () => Promise<boolean>) => {
    const deadline = Date.now() + 90_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('not done in time');
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const endpointStatus = () =>
    t.platform.endpoints.service.describeEndpoint('cli-ep').then(
      (e) => e.EndpointStatus as string,
      (error: unknown) => {
        if (TrainyardError.is(error, 'NOT_FOUND')) return 'gone';
        throw error;
      },
    );

  it.skipIf(!hasAwsCli)(
    'trains, deploys, invokes and deletes an XGBoost endpoint with aws sagemaker and its wait commands',
    async () => {
      writeFileSync(join(work, 'train.csv'), labelFirstCsv(200));
      await run(
        awsCli,
        ['s3', 'cp', 'train.csv', 's3://work/cli-ep/train/train.csv', '--endpoint-url', t.baseUrl],
        {
          env,
          cwd: work,
        },
      );
      writeFileSync(
        join(work, 'job.json'),
        JSON.stringify({
          TrainingJobName: 'cli-ep',
          RoleArn: role,
          AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File' },
          HyperParameters: { objective: 'binary:logistic', num_round: '10', max_depth: '2' },
          InputDataConfig: [
            {
              ChannelName: 'train',
              ContentType: 'text/csv',
              DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/cli-ep/train/' } },
            },
          ],
          OutputDataConfig: { S3OutputPath: 's3://work/cli-ep/models' },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
          StoppingCondition: { MaxRuntimeInSeconds: 600 },
        }),
      );
      await sm('create-training-job', '--cli-input-json', 'file://job.json');
      await until(
        async () =>
          (await t.platform.jobs.trainingJobs.describe('cli-ep')).TrainingJobStatus !== 'InProgress',
      );
      await sm('wait', 'training-job-completed-or-stopped', '--training-job-name', 'cli-ep');
      const job = await sm('describe-training-job', '--training-job-name', 'cli-ep');
      expect(job.TrainingJobStatus, job.FailureReason).toBe('Completed');
      const artifact = job.ModelArtifacts.S3ModelArtifacts as string;

      const model = await sm(
        'create-model',
        '--model-name',
        'cli-ep',
        '--execution-role-arn',
        role,
        '--primary-container',
        JSON.stringify({ Image: image, ModelDataUrl: artifact }),
        '--tags',
        'Key=team,Value=cli',
      );
      expect(model.ModelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/cli-ep');
      await sm(
        'create-endpoint-config',
        '--endpoint-config-name',
        'cli-ep',
        '--production-variants',
        'VariantName=AllTraffic,ModelName=cli-ep,InstanceType=ml.m5.large,InitialInstanceCount=1',
      );
      await sm('create-endpoint', '--endpoint-name', 'cli-ep', '--endpoint-config-name', 'cli-ep');
      await until(async () => (await endpointStatus()) !== 'Creating');
      await sm('wait', 'endpoint-in-service', '--endpoint-name', 'cli-ep');
      const endpoint = await sm('describe-endpoint', '--endpoint-name', 'cli-ep');
      expect(endpoint.EndpointStatus).toBe('InService');
      expect(endpoint.ProductionVariants[0]).toMatchObject({
        VariantName: 'AllTraffic',
        CurrentInstanceCount: 1,
      });
      expect((await sm('list-tags', '--resource-arn', model.ModelArn)).Tags).toEqual([
        { Key: 'team', Value: 'cli' },
      ]);

      writeFileSync(join(work, 'rows.csv'), '0.5,-0.5\n-0.5,0.5\n');
      const invoked = await cli(
        'sagemaker-runtime',
        'invoke-endpoint',
        '--endpoint-name',
        'cli-ep',
        '--content-type',
        'text/csv',
        '--body',
        'fileb://rows.csv',
        'scores.csv',
      );
      expect(invoked.InvokedProductionVariant).toBe('AllTraffic');
      const scores = readFileSync(join(work, 'scores.csv'), 'utf8').trim().split('\n').map(Number);
      expect(scores).toHaveLength(2);
      expect(scores[0]).toBeGreaterThan(0.5);
      expect(scores[1]).toBeLessThan(0.5);

      await run(awsCli, ['s3', 'cp', artifact, 'model.tar.gz', '--endpoint-url', t.baseUrl], {
        env,
        cwd: work,
      });
      expect(readFileSync(join(work, 'model.tar.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

      await sm('delete-endpoint', '--endpoint-name', 'cli-ep');
      await until(async () => (await endpointStatus()) === 'gone');
      await sm('wait', 'endpoint-deleted', '--endpoint-name', 'cli-ep');
      // The endpoint-deleted waiter succeeds on DescribeEndpoint's ValidationException "Could not find endpoint …".
      expect(await endpointStatus()).toBe('gone');
    },
    180_000,
  );
});
