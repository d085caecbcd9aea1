import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AddTagsCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  type CreateModelPackageCommandInput,
  CreateModelPackageGroupCommand,
  DeleteModelPackageCommand,
  DeleteModelPackageGroupCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  ListTagsCommand,
  type SageMakerClient,
  SageMakerServiceException,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsToolEnv } from '../../testing/aws-tools.js';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';
import { sageMakerClientOf } from '../../testing/sagemaker-clients.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const hasBoto3 = requireDependency(
  'boto3 for /usr/bin/python3',
  () => canImportPython('boto3', python),
  'apt-get install python3-boto3',
);

type Role = 'admin' | 'developer' | 'viewer' | 'invoker';

let t: TestServer & { baseUrl: string };
const keys = {} as Record<Role, { id: string; secret: string }>;
const sm = {} as Record<Role, SageMakerClient>;
const arnPrefix = 'arn:aws:sagemaker:us-east-1:000000000000';

async function awsError(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SageMakerServiceException)
      return { name: error.name, status: error.$metadata.httpStatusCode ?? 0, message: error.message };
    throw error;
  }
  throw new Error('expected the call to fail');
}

function packageInput(group: string): CreateModelPackageCommandInput {
  return {
    ModelPackageGroupName: group,
    ModelPackageDescription: 'xgboost churn',
    InferenceSpecification: {
      Containers: [
        {
          Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
          ModelDataUrl: 's3://work/models/churn/output/model.tar.gz',
          Environment: { SAGEMAKER_PROGRAM: 'inference.py' },
        },
      ],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelMetrics: {
      ModelQuality: {
        Statistics: { ContentType: 'application/json', S3Uri: 's3://work/eval/statistics.json' },
      },
    },
    CustomerMetadataProperties: { team: 'retention' },
  };
}

beforeAll(async () => {
  t = await openTestServer({}, { listen: true });
  for (const role of ['admin', 'developer', 'viewer', 'invoker'] as const) {
    ({ client: sm[role], key: keys[role] } = await sageMakerClientOf(t, role, `smr-${role}`));
  }
});

afterAll(async () => {
  for (const client of Object.values(sm)) client.destroy();
  await t?.close();
});

describe('SageMaker door: model registry with @aws-sdk/client-sagemaker', () => {
  it('creates, describes and lists groups; refuses a viewer, a duplicate and a missing group', async () => {
    const created = await sm.developer.send(
      new CreateModelPackageGroupCommand({
        ModelPackageGroupName: 'Churn-Models',
        ModelPackageGroupDescription: 'retention',
        Tags: [{ Key: 'team', Value: 'retention' }],
      }),
    );
    expect(created.ModelPackageGroupArn).toBe(`${arnPrefix}:model-package-group/churn-models`);
    for (const name of ['Churn-Models', created.ModelPackageGroupArn as string]) {
      const group = await sm.viewer.send(
        new DescribeModelPackageGroupCommand({ ModelPackageGroupName: name }),
      );
      expect(group).toMatchObject({
        ModelPackageGroupName: 'Churn-Models',
        ModelPackageGroupStatus: 'Completed',
        ModelPackageGroupDescription: 'retention',
        CreatedBy: { UserProfileName: 'smr-developer' },
      });
      expect(group.CreationTime).toBeInstanceOf(Date);
    }
    await sm.admin.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' }));
    // Tags on a group's ARN through the door's tag operations.
    const fraudArn = `${arnPrefix}:model-package-group/fraud`;
    await sm.developer.send(
      new AddTagsCommand({ ResourceArn: fraudArn, Tags: [{ Key: 'stage', Value: 'dev' }] }),
    );
    expect((await sm.viewer.send(new ListTagsCommand({ ResourceArn: fraudArn }))).Tags).toEqual([
      { Key: 'stage', Value: 'dev' },
    ]);
    expect(
      await awsError(
        sm.developer.send(
          new AddTagsCommand({
            ResourceArn: `${arnPrefix}:model-package/fraud/99`,
            Tags: [{ Key: 'stage', Value: 'dev' }],
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException' });

    expect(
      await awsError(
        sm.viewer.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'viewer-made' })),
      ),
    ).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(
      await awsError(
        sm.invoker.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' })),
      ),
    ).toMatchObject({ name: 'AccessDeniedException' });
    expect(
      await awsError(
        sm.developer.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' })),
      ),
    ).toMatchObject({ name: 'ResourceInUse', status: 400 });
    expect(
      await awsError(sm.viewer.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'nope' }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: 'Could not find model package group with name nope',
    });

    const byName = await sm.viewer.send(new ListModelPackageGroupsCommand({ SortBy: 'Name' }));
    expect(byName.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual([
      'Churn-Models',
      'fraud',
    ]);
    const newest = await sm.viewer.send(
      new ListModelPackageGroupsCommand({ SortBy: 'CreationTime', SortOrder: 'Descending', MaxResults: 1 }),
    );
    expect(newest.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual(['fraud']);
    expect(newest.NextToken).toBeDefined();
    const rest = await sm.viewer.send(
      new ListModelPackageGroupsCommand({
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 1,
        NextToken: newest.NextToken,
      }),
    );
    expect(rest.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual(['Churn-Models']);
    const contains = await sm.viewer.send(new ListModelPackageGroupsCommand({ NameContains: 'CHURN' }));
    expect(contains.ModelPackageGroupSummaryList).toHaveLength(1);
  });

  it('versions packages, approves with who and why, and lists newest first', async () => {
    const first = await sm.developer.send(new CreateModelPackageCommand(packageInput('Churn-Models')));
    const second = await sm.developer.send(
      new CreateModelPackageCommand({ ...packageInput(`${arnPrefix}:model-package-group/churn-models`) }),
    );
    expect(first.ModelPackageArn).toBe(`${arnPrefix}:model-package/churn-models/1`);
    expect(second.ModelPackageArn).toBe(`${arnPrefix}:model-package/churn-models/2`);

    const described = await sm.viewer.send(
      new DescribeModelPackageCommand({ ModelPackageName: first.ModelPackageArn }),
    );
    expect(described).toMatchObject({
      ModelPackageName: 'Churn-Models',
      ModelPackageGroupName: 'Churn-Models',
      ModelPackageVersion: 1,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: 'PendingManualApproval',
      CreatedBy: { UserProfileName: 'smr-developer' },
      InferenceSpecification: packageInput('x').InferenceSpecification,
      ModelMetrics: packageInput('x').ModelMetrics,
      CustomerMetadataProperties: { team: 'retention' },
      ModelPackageStatusDetails: { ValidationStatuses: [] },
    });

    expect(
      await awsError(
        sm.viewer.send(
          new UpdateModelPackageCommand({
            ModelPackageArn: first.ModelPackageArn,
            ModelApprovalStatus: 'Approved',
          }),
        ),
      ),
    ).toMatchObject({ name: 'AccessDeniedException' });
    await sm.admin.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: first.ModelPackageArn,
        ModelApprovalStatus: 'Approved',
        ApprovalDescription: 'AUC 0.91 on the holdout',
        CustomerMetadataPropertiesToRemove: ['team'],
        CustomerMetadataProperties: { ticket: 'ML-42' },
      }),
    );
    const approved = await sm.viewer.send(
      new DescribeModelPackageCommand({ ModelPackageName: 'Churn-Models/1' }),
    );
    expect(approved).toMatchObject({
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'AUC 0.91 on the holdout',
      LastModifiedBy: { UserProfileName: 'smr-admin' },
      CustomerMetadataProperties: { ticket: 'ML-42' },
    });
    expect(approved.LastModifiedTime).toBeInstanceOf(Date);
    // The native view keeps every decision.
    const native = await t.platform.endpoints.registry.describePackage('churn-models', 1);
    expect(native.ApprovalHistory.map((e) => [e.ModelApprovalStatus, e.By.KeyName])).toEqual([
      ['PendingManualApproval', 'smr-developer'],
      ['Approved', 'smr-admin'],
    ]);

    const latest = await sm.viewer.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: 'Churn-Models',
        SortOrder: 'Descending',
        MaxResults: 1,
      }),
    );
    expect(latest.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([2]);
    const next = await sm.viewer.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: 'Churn-Models',
        SortOrder: 'Descending',
        MaxResults: 1,
        NextToken: latest.NextToken,
      }),
    );
    expect(next.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([1]);
    const approvedOnly = await sm.viewer.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: 'Churn-Models',
        ModelApprovalStatus: 'Approved',
      }),
    );
    expect(approvedOnly.ModelPackageSummaryList).toMatchObject([
      { ModelPackageArn: first.ModelPackageArn, ModelApprovalStatus: 'Approved', ModelPackageVersion: 1 },
    ]);
    // Without a group SageMaker lists unversioned packages, of which there are none here.
    expect((await sm.viewer.send(new ListModelPackagesCommand({}))).ModelPackageSummaryList).toEqual([]);
    const both = await sm.viewer.send(new ListModelPackagesCommand({ ModelPackageType: 'Both' }));
    expect(both.ModelPackageSummaryList).toHaveLength(2);

    // SageMaker's CreateModel with PrimaryContainer.ModelPackageName deploys an approved package only.
    await sm.developer.send(
      new CreateModelCommand({
        ModelName: 'churn-from-registry',
        PrimaryContainer: { ModelPackageName: first.ModelPackageArn },
        ExecutionRoleArn: 'arn:aws:iam::000000000000:role/trainyard',
      }),
    );
    const model = await sm.viewer.send(new DescribeModelCommand({ ModelName: 'churn-from-registry' }));
    expect(model.PrimaryContainer).toMatchObject({
      ModelDataUrl: 's3://work/models/churn/output/model.tar.gz',
    });
    const pending = await awsError(
      sm.developer.send(
        new CreateModelCommand({
          ModelName: 'churn-two',
          Containers: [{ ModelPackageName: second.ModelPackageArn }],
          ExecutionRoleArn: 'arn:aws:iam::000000000000:role/trainyard',
        }),
      ),
    );
    expect(pending).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(pending.message).toMatch(/PendingManualApproval/);
  });

  it('answers a missing package with ValidationException "Could not find …" and keeps a non-empty group', async () => {
    for (const name of ['Churn-Models/9', `${arnPrefix}:model-package/nope/1`, 'unversioned']) {
      expect(
        await awsError(sm.viewer.send(new DescribeModelPackageCommand({ ModelPackageName: name }))),
      ).toEqual({
        name: 'ValidationException',
        status: 400,
        message: `Could not find model package with name ${name}`,
      });
    }
    expect(
      await awsError(
        sm.developer.send(
          new UpdateModelPackageCommand({
            ModelPackageArn: `${arnPrefix}:model-package/churn-models/9`,
            ModelApprovalStatus: 'Approved',
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Could not find') });
    expect(
      await awsError(sm.developer.send(new CreateModelPackageCommand(packageInput('no-such-group')))),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('no-such-group') });
    expect(
      await awsError(
        sm.developer.send(
          new CreateModelPackageCommand({ ...packageInput('fraud'), ModelPackageName: 'loose' }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('ModelPackageName') });

    await sm.developer.send(new CreateModelPackageCommand(packageInput('fraud')));
    expect(
      await awsError(
        sm.developer.send(new DeleteModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' })),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('still holds') });
    await sm.developer.send(
      new DeleteModelPackageCommand({ ModelPackageName: `${arnPrefix}:model-package/fraud/1` }),
    );
    await sm.developer.send(new DeleteModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' }));
    expect(
      await awsError(
        sm.viewer.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'fraud' })),
      ),
    ).toMatchObject({ name: 'ValidationException' });
  });

  it.skipIf(!hasBoto3)(
    'serves boto3: group, package, approval, the list paginator and error codes',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'trainyard-smreg-'));
      const script = `
import json, os, boto3
from botocore.exceptions import ClientError
sm = boto3.client('sagemaker', endpoint_url=os.environ['ENDPOINT'])
sm.create_model_package_group(ModelPackageGroupName='boto-group', ModelPackageGroupDescription='from boto3')
arns = []
for i in range(3):
    arns.append(sm.create_model_package(
        ModelPackageGroupName='boto-group',
        InferenceSpecification={'Containers': [{'Image': 'trainyard/model-server', 'ModelDataUrl': 's3://work/m%d/model.tar.gz' % i}],
                                'SupportedContentTypes': ['text/csv'], 'SupportedResponseMIMETypes': ['text/csv']},
        ModelApprovalStatus='PendingManualApproval')['ModelPackageArn'])
sm.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus='Rejected', ApprovalDescription='drift on Mondays')
pkg = sm.describe_model_package(ModelPackageName=arns[1])
versions = [p['ModelPackageVersion'] for page in sm.get_paginator('list_model_packages').paginate(
    ModelPackageGroupName='boto-group', PaginationConfig={'PageSize': 1}) for p in page['ModelPackageSummaryList']]
codes = []
try:
    sm.describe_model_package(ModelPackageName='boto-group/77')
except ClientError as e:
    codes.append(e.response['Error']['Code'] + ': ' + e.response['Error']['Message'])
try:
    sm.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus='Maybe')
except ClientError as e:
    codes.append(e.response['Error']['Code'] + ': ' + e.response['Error']['Message'])
except Exception as e:
    codes.append(type(e).__name__)
print(json.dumps({'arns': arns, 'status': pkg['ModelApprovalStatus'], 'why': pkg['ApprovalDescription'],
                  'by': pkg['LastModifiedBy'], 'created': type(pkg['CreationTime']).__name__,
                  'versions': versions, 'codes': codes}))
`;
      try {
        const { stdout } = await run(python, ['-c', script], {
          cwd: work,
          env: awsToolEnv(work, keys.developer, { ENDPOINT: t.baseUrl }),
        });
        const result = JSON.parse(stdout);
        expect(result.arns).toEqual([1, 2, 3].map((v) => `${arnPrefix}:model-package/boto-group/${v}`));
        expect(result).toMatchObject({
          status: 'Rejected',
          why: 'drift on Mondays',
          by: { UserProfileName: 'smr-developer' },
          created: 'datetime',
          versions: [1, 2, 3],
        });
        expect(result.codes[0]).toBe(
          'ValidationException: Could not find model package with name boto-group/77',
        );
        // botocore does not check enums on the client: the door does, naming the member.
        expect(result.codes[1]).toMatch(
          /^ValidationException: 1 validation error detected: .*'modelApprovalStatus'/,
        );
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
