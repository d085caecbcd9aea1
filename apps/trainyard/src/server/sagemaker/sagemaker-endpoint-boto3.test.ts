import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsToolEnv } from '../../testing/aws-tools.js';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';

const hasBoto3 = requireDependency(
  'boto3 for /usr/bin/python3',
  () => canImportPython('boto3', python),
  'apt-get install python3-boto3',
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

/**
 * The whole workflow in one boto3 script (Debian's /usr/bin/python3): upload_file, the training
 * job and its waiter, model, endpoint config, endpoint and the endpoint_in_service waiter,
 * invoke_endpoint through the sagemaker-runtime client, download_file of model.tar.gz,
 * delete_endpoint and the endpoint_deleted waiter, plus the error codes boto3 users catch.
 */
const script = `
import json, os, sys, boto3
from botocore.exceptions import ClientError
endpoint = os.environ['ENDPOINT']
s3 = boto3.client('s3', endpoint_url=endpoint)
sm = boto3.client('sagemaker', endpoint_url=endpoint)
rt = boto3.client('sagemaker-runtime', endpoint_url=endpoint)
viewer = boto3.client('sagemaker', endpoint_url=endpoint, aws_access_key_id=os.environ['VIEWER_ID'], aws_secret_access_key=os.environ['VIEWER_SECRET'])
image = '246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1'
role = 'arn:aws:iam::000000000000:role/trainyard'
fast = {'Delay': 1, 'MaxAttempts': 120}
out = {'codes': {}}

def code(name, call):
    try:
        call()
        out['codes'][name] = 'no error'
    except ClientError as e:
        out['codes'][name] = e.response['Error']['Code'] + ': ' + e.response['Error']['Message']

s3.upload_file('train.csv', 'work', 'boto-ep/train/train.csv')
sm.create_training_job(
    TrainingJobName='boto-ep', RoleArn=role,
    AlgorithmSpecification={'TrainingImage': image, 'TrainingInputMode': 'File'},
    HyperParameters={'objective': 'binary:logistic', 'num_round': '10', 'max_depth': '2'},
    InputDataConfig=[{'ChannelName': 'train', 'ContentType': 'text/csv',
        'DataSource': {'S3DataSource': {'S3DataType': 'S3Prefix', 'S3Uri': 's3://work/boto-ep/train/'}}}],
    OutputDataConfig={'S3OutputPath': 's3://work/boto-ep/models'},
    ResourceConfig={'InstanceType': 'ml.m5.large', 'InstanceCount': 1, 'VolumeSizeInGB': 1},
    StoppingCondition={'MaxRuntimeInSeconds': 600})
sm.get_waiter('training_job_completed_or_stopped').wait(TrainingJobName='boto-ep', WaiterConfig=fast)
artifact = sm.describe_training_job(TrainingJobName='boto-ep')['ModelArtifacts']['S3ModelArtifacts']
out['modelArn'] = sm.create_model(ModelName='boto-ep', ExecutionRoleArn=role,
    Containers=[{'Image': image, 'ModelDataUrl': artifact}])['ModelArn']
sm.create_endpoint_config(EndpointConfigName='boto-ep', ProductionVariants=[
    {'VariantName': 'Blue', 'ModelName': 'boto-ep', 'InstanceType': 'ml.m5.large', 'InitialInstanceCount': 1, 'InitialVariantWeight': 1}])
sm.create_endpoint(EndpointName='boto-ep', EndpointConfigName='boto-ep', Tags=[{'Key': 'owner', 'Value': 'boto'}])
sm.get_waiter('endpoint_in_service').wait(EndpointName='boto-ep', WaiterConfig=fast)
described = sm.describe_endpoint(EndpointName='boto-ep')
out['status'] = described['EndpointStatus']
out['variants'] = described['ProductionVariants']
out['created'] = type(described['CreationTime']).__name__
out['tags'] = sm.list_tags(ResourceArn=described['EndpointArn'])['Tags']
out['listed'] = [e['EndpointName'] for page in sm.get_paginator('list_endpoints').paginate(NameContains='boto') for e in page['Endpoints']]
answer = rt.invoke_endpoint(EndpointName='boto-ep', ContentType='text/csv', Accept='text/csv', Body=b'0.5,-0.5\\n-0.5,0.5\\n', CustomAttributes='trace=1')
out['variant'] = answer['InvokedProductionVariant']
out['scores'] = [float(x) for x in answer['Body'].read().decode().split()]
s3.download_file('work', artifact[len('s3://work/'):], 'boto-model.tar.gz')

code('duplicate', lambda: sm.create_endpoint(EndpointName='boto-ep', EndpointConfigName='boto-ep'))
code('missing', lambda: sm.describe_model(ModelName='nope'))
code('viewer', lambda: viewer.create_endpoint_config(EndpointConfigName='boto-viewer', ProductionVariants=[
    {'VariantName': 'Blue', 'ModelName': 'boto-ep', 'InstanceType': 'ml.m5.large', 'InitialInstanceCount': 1}]))
code('model-error', lambda: rt.invoke_endpoint(EndpointName='boto-ep', ContentType='text/csv', Body=b'x,y\\n'))
code('in-use', lambda: sm.delete_endpoint_config(EndpointConfigName='boto-ep'))

sm.delete_endpoint(EndpointName='boto-ep')
sm.get_waiter('endpoint_deleted').wait(EndpointName='boto-ep', WaiterConfig=fast)
code('deleted', lambda: sm.describe_endpoint(EndpointName='boto-ep'))
sm.delete_endpoint_config(EndpointConfigName='boto-ep')
sm.delete_model(ModelName='boto-ep')
out['models'] = sm.list_models()['Models']
print(json.dumps(out))
`;

describe('SageMaker endpoints with boto3', () => {
  let t: TestServer & { baseUrl: string };
  let work: string;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    await t.platform.jobs.startWorker();
    t.platform.endpoints.startReconciler();
    await t.platform.blobs.createBucket('work');
    work = mkdtempSync(join(tmpdir(), 'trainyard-boto-endpoint-'));
  });
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(!hasBoto3)(
    'trains, deploys, invokes and deletes an XGBoost endpoint with boto3 and its waiters',
    async () => {
      const developer = await t.platform.keys.create('boto-developer', 'developer');
      const viewer = await t.platform.keys.create('boto-viewer', 'viewer');
      writeFileSync(join(work, 'train.csv'), labelFirstCsv(200));
      const { stdout } = await run(python, ['-c', script], {
        cwd: work,
        env: awsToolEnv(work, developer, {
          ENDPOINT: t.baseUrl,
          VIEWER_ID: viewer.id,
          VIEWER_SECRET: viewer.secret,
        }),
      });
      const out = JSON.parse(stdout);
      expect(out.modelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/boto-ep');
      expect(out.status).toBe('InService');
      expect(out.created).toBe('datetime');
      expect(out.variants).toEqual([
        {
          VariantName: 'Blue',
          CurrentWeight: 1,
          DesiredWeight: 1,
          CurrentInstanceCount: 1,
          DesiredInstanceCount: 1,
        },
      ]);
      expect(out.tags).toEqual([{ Key: 'owner', Value: 'boto' }]);
      expect(out.listed).toEqual(['boto-ep']);
      expect(out.variant).toBe('Blue');
      expect(out.scores).toHaveLength(2);
      expect(out.scores[0]).toBeGreaterThan(0.5);
      expect(out.scores[1]).toBeLessThan(0.5);
      expect(readFileSync(join(work, 'boto-model.tar.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(out.codes.duplicate).toBe(
        'ValidationException: Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/boto-ep".',
      );
      expect(out.codes.missing).toBe(
        'ValidationException: Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/nope".',
      );
      expect(out.codes.viewer).toMatch(/^AccessDeniedException: .*"viewer"/);
      expect(out.codes['model-error']).toMatch(/^ModelError: Received client error \(400\) from model/);
      expect(out.codes['in-use']).toMatch(/^ValidationException: .*used by endpoint "boto-ep"/);
      expect(out.codes.deleted).toMatch(/^ValidationException: Could not find endpoint/);
      expect(out.models).toEqual([]);
    },
    180_000,
  );
});
