import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsToolEnv } from '../../testing/aws-tools.js';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const run = promisify(execFile);
const awsCli = '/usr/bin/aws';
const python = '/usr/bin/python3';

const hasAwsCli = requireDependency(
  'the aws CLI v2 (/usr/bin/aws)',
  () => existsSync(awsCli),
  'apt-get install awscli',
);
const hasBoto3 = requireDependency(
  'boto3 for /usr/bin/python3',
  () => canImportPython('boto3', python),
  'apt-get install python3-boto3',
);

function job(name: string) {
  return {
    ProcessingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 1 },
    },
    AppSpecification: {
      ImageUri: 'node:20',
      ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/count.mjs'],
    },
    ProcessingInputs: [
      {
        InputName: 'code',
        S3Input: {
          S3Uri: 's3://work/code/count.mjs',
          LocalPath: '/opt/ml/processing/input/code',
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
        },
      },
    ],
    ProcessingOutputConfig: {
      Outputs: [
        {
          OutputName: 'result',
          S3Output: {
            S3Uri: `s3://work/out/${name}`,
            LocalPath: '/opt/ml/processing/output',
            S3UploadMode: 'EndOfJob',
          },
        },
      ],
    },
  };
}

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

function trainingJob(name: string, prefix: string) {
  return {
    TrainingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
    AlgorithmSpecification: {
      TrainingImage: '382416733822.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      TrainingInputMode: 'File',
    },
    HyperParameters: { objective: 'binary:logistic', num_round: '10', max_depth: '2' },
    InputDataConfig: [
      {
        ChannelName: 'train',
        ContentType: 'text/csv',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://work/${prefix}/train/` } },
      },
    ],
    OutputDataConfig: { S3OutputPath: `s3://work/${prefix}/models` },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
  };
}

describe('SageMaker door with the aws CLI v2 and boto3', () => {
  let t: TestServer & { baseUrl: string };
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    await t.platform.jobs.startWorker();
    await t.platform.blobs.put(
      { bucket: 'work', key: 'code/count.mjs' },
      `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.TRAINYARD_OPT_ML + '/processing/output/done.txt', 'done\\n');
`,
    );
    work = mkdtempSync(join(tmpdir(), 'trainyard-smcli-'));
    const key = await t.platform.keys.create('sm-cli', 'developer');
    env = awsToolEnv(work, key, { ENDPOINT: t.baseUrl });
  });
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const aws = async (...args: string[]) =>
    JSON.parse(
      (
        await run(awsCli, ['sagemaker', ...args, '--endpoint-url', t.baseUrl, '--output', 'json'], {
          env,
          cwd: work,
        })
      ).stdout || '{}',
    );

  it.skipIf(!hasAwsCli)(
    'runs create, describe, wait, list and the errors with aws sagemaker',
    async () => {
      writeFileSync(join(work, 'cli-job.json'), JSON.stringify(job('cli-job')));
      const created = await aws('create-processing-job', '--cli-input-json', 'file://cli-job.json');
      expect(created.ProcessingJobArn).toBe(
        'arn:aws:sagemaker:us-east-1:000000000000:processing-job/cli-job',
      );
      // The CLI's waiter sleeps 60 s between polls: poll first, then let the waiter confirm.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const described = await aws('describe-processing-job', '--processing-job-name', 'cli-job');
        if (described.ProcessingJobStatus !== 'InProgress') break;
        if (Date.now() > deadline) throw new Error('cli-job did not finish');
        await new Promise((r) => setTimeout(r, 300));
      }
      await aws('wait', 'processing-job-completed-or-stopped', '--processing-job-name', 'cli-job');
      const described = await aws('describe-processing-job', '--processing-job-name', 'cli-job');
      expect(described.ProcessingJobStatus).toBe('Completed');
      // The CLI prints epoch-second timestamps as ISO text: it parsed them.
      expect(described.CreationTime).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(
        await text((await t.platform.blobs.get({ bucket: 'work', key: 'out/cli-job/done.txt' })).body),
      ).toBe('done\n');
      // --endpoint-url works as well as AWS_ENDPOINT_URL_SAGEMAKER.
      const listed = await aws(
        'list-processing-jobs',
        '--endpoint-url',
        t.baseUrl,
        '--name-contains',
        'cli',
        '--status-equals',
        'Completed',
      );
      expect(
        listed.ProcessingJobSummaries.map((s: { ProcessingJobName: string }) => s.ProcessingJobName),
      ).toEqual(['cli-job']);
      const missing = await aws('describe-processing-job', '--processing-job-name', 'nope').catch(
        (error: { stderr: string; code: number }) => error,
      );
      expect(missing.code).toBe(254);
      expect(missing.stderr).toMatch(/ValidationException.*Could not find/);
    },
    120_000,
  );

  it.skipIf(!hasAwsCli)(
    'trains XGBoost with aws s3 cp, aws sagemaker create-training-job and wait',
    async () => {
      writeFileSync(join(work, 'train.csv'), labelFirstCsv(200));
      writeFileSync(join(work, 'cli-xgb.json'), JSON.stringify(trainingJob('cli-xgb', 'cli-xgb')));
      const s3 = (...args: string[]) =>
        run(awsCli, ['s3', ...args, '--endpoint-url', t.baseUrl], { env, cwd: work });
      await s3('cp', 'train.csv', 's3://work/cli-xgb/train/train.csv');
      const created = await aws('create-training-job', '--cli-input-json', 'file://cli-xgb.json');
      expect(created.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:training-job/cli-xgb');
      // The CLI's waiter sleeps 120 s between polls: poll first, then let the waiter confirm.
      const deadline = Date.now() + 90_000;
      while (
        (await aws('describe-training-job', '--training-job-name', 'cli-xgb')).TrainingJobStatus ===
        'InProgress'
      ) {
        if (Date.now() > deadline) throw new Error('cli-xgb did not finish');
        await new Promise((r) => setTimeout(r, 500));
      }
      await aws('wait', 'training-job-completed-or-stopped', '--training-job-name', 'cli-xgb');
      const job = await aws('describe-training-job', '--training-job-name', 'cli-xgb');
      expect(job.TrainingJobStatus).toBe('Completed');
      expect(job.ModelArtifacts.S3ModelArtifacts).toBe(
        's3://work/cli-xgb/models/cli-xgb/output/model.tar.gz',
      );
      await s3('cp', job.ModelArtifacts.S3ModelArtifacts, 'model.tar.gz');
      expect(readFileSync(join(work, 'model.tar.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    },
    150_000,
  );

  it.skipIf(!hasBoto3)(
    'trains XGBoost with boto3 upload_file, create_training_job and its waiter',
    async () => {
      writeFileSync(join(work, 'train.csv'), labelFirstCsv(200));
      const script = `
import json, os, sys, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
sm = boto3.client('sagemaker', endpoint_url=os.environ['ENDPOINT'])
spec = json.loads(sys.argv[1])
s3.upload_file('train.csv', 'work', 'boto-xgb/train/train.csv')
sm.create_training_job(**spec)
sm.get_waiter('training_job_completed_or_stopped').wait(TrainingJobName=spec['TrainingJobName'], WaiterConfig={'Delay': 1, 'MaxAttempts': 120})
job = sm.describe_training_job(TrainingJobName=spec['TrainingJobName'])
uri = job['ModelArtifacts']['S3ModelArtifacts']
s3.download_file('work', uri[len('s3://work/'):], 'boto-model.tar.gz')
print(json.dumps({'status': job['TrainingJobStatus'], 'secondary': [t['Status'] for t in job['SecondaryStatusTransitions']], 'uri': uri}))
`;
      const { stdout } = await run(
        python,
        ['-c', script, JSON.stringify(trainingJob('boto-xgb', 'boto-xgb'))],
        {
          env,
          cwd: work,
        },
      );
      const result = JSON.parse(stdout);
      expect(result.status).toBe('Completed');
      expect(result.secondary[0]).toBe('Starting');
      expect(result.secondary.at(-1)).toBe('Completed');
      expect(result.uri).toBe('s3://work/boto-xgb/models/boto-xgb/output/model.tar.gz');
      expect(readFileSync(join(work, 'boto-model.tar.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    },
    150_000,
  );

  it.skipIf(!hasBoto3)(
    'serves boto3: create, describe, the list paginator and error codes',
    async () => {
      const script = `
import json, os, sys, time, boto3
from botocore.exceptions import ClientError
sm = boto3.client('sagemaker', endpoint_url=os.environ['ENDPOINT'])
spec = json.loads(sys.argv[1])
sm.create_processing_job(**spec)
for _ in range(200):
    job = sm.describe_processing_job(ProcessingJobName=spec['ProcessingJobName'])
    if job['ProcessingJobStatus'] != 'InProgress':
        break
    time.sleep(0.3)
names = [s['ProcessingJobName'] for page in sm.get_paginator('list_processing_jobs').paginate(PaginationConfig={'PageSize': 1}) for s in page['ProcessingJobSummaries']]
codes = []
try:
    sm.create_processing_job(**spec)
except ClientError as e:
    codes.append(e.response['Error']['Code'])
try:
    sm.describe_processing_job(ProcessingJobName='a' * 64)
except ClientError as e:
    codes.append(e.response['Error']['Code'] + ': ' + e.response['Error']['Message'])
print(json.dumps({'status': job['ProcessingJobStatus'], 'created': type(job['CreationTime']).__name__, 'names': names, 'codes': codes}))
`;
      const { stdout } = await run(python, ['-c', script, JSON.stringify(job('boto-job'))], {
        env,
        cwd: work,
      });
      const result = JSON.parse(stdout);
      expect(result.status).toBe('Completed');
      expect(result.created).toBe('datetime');
      expect(result.names).toContain('boto-job');
      expect(result.codes[0]).toBe('ResourceInUse');
      expect(result.codes[1]).toMatch(
        /^ValidationException: 2 validation errors detected: .*'processingJobName'.*length less than or equal to 63/,
      );
    },
    120_000,
  );
});
