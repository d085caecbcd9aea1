import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AssociateTrialComponentCommand,
  CreateExperimentCommand,
  CreateTrainingJobCommand,
  CreateTrialCommand,
  CreateTrialComponentCommand,
  DeleteExperimentCommand,
  DeleteTrialCommand,
  DeleteTrialComponentCommand,
  DescribeExperimentCommand,
  DescribeTrialCommand,
  DescribeTrialComponentCommand,
  DisassociateTrialComponentCommand,
  ListExperimentsCommand,
  ListTagsCommand,
  ListTrialComponentsCommand,
  ListTrialsCommand,
  type SageMakerClient,
  SageMakerServiceException,
  UpdateExperimentCommand,
  UpdateTrialComponentCommand,
} from '@aws-sdk/client-sagemaker';
import type { ExperimentSummary } from '@trainyard/contracts/experiments';
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

type Role = 'developer' | 'viewer';

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

/** A training job that joins an experiment; no worker runs here, so it stays queued (its status is not the point). */
function trainingJob(name: string, experiment: string, trial: string) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/trainyard',
    AlgorithmSpecification: {
      TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      TrainingInputMode: 'File',
    },
    HyperParameters: { objective: 'binary:logistic', num_round: '5', max_depth: '3' },
    InputDataConfig: [
      {
        ChannelName: 'train',
        ContentType: 'text/csv',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/exp/train/' } },
      },
    ],
    OutputDataConfig: { S3OutputPath: 's3://work/exp/models' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
    ExperimentConfig: { ExperimentName: experiment, TrialName: trial, TrialComponentDisplayName: 'training' },
  });
}

beforeAll(async () => {
  t = await openTestServer({}, { listen: true });
  for (const role of ['developer', 'viewer'] as const) {
    ({ client: sm[role], key: keys[role] } = await sageMakerClientOf(t, role, `sme-${role}`));
  }
});

afterAll(async () => {
  for (const client of Object.values(sm)) client.destroy();
  await t?.close();
});

describe('SageMaker door: Experiments with @aws-sdk/client-sagemaker', () => {
  it("runs the SageMaker Python SDK's flow: experiment, trial, component, a training job joining, then delete in order", async () => {
    const dev = sm.developer;
    const created = await dev.send(
      new CreateExperimentCommand({
        ExperimentName: 'Churn-Exp',
        Description: 'retention models',
        Tags: [{ Key: 'team', Value: 'retention' }],
      }),
    );
    expect(created.ExperimentArn).toBe(`${arnPrefix}:experiment/churn-exp`);
    const described = await sm.viewer.send(new DescribeExperimentCommand({ ExperimentName: 'Churn-Exp' }));
    expect(described).toMatchObject({
      ExperimentName: 'Churn-Exp',
      DisplayName: 'Churn-Exp',
      Description: 'retention models',
      CreatedBy: { UserProfileName: 'sme-developer' },
    });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect((await dev.send(new ListTagsCommand({ ResourceArn: created.ExperimentArn }))).Tags).toEqual([
      { Key: 'team', Value: 'retention' },
    ]);
    // A created experiment shows on the REST list with no run yet.
    const rest = await t.app.inject({ method: 'GET', url: '/api/v1/experiments', headers: t.auth() });
    expect(
      (rest.json().items as ExperimentSummary[]).find((e) => e.ExperimentName === 'Churn-Exp'),
    ).toMatchObject({ Runs: 0, Description: 'retention models' });

    const trial = await dev.send(
      new CreateTrialCommand({ TrialName: 'depth-3', ExperimentName: 'churn-exp' }),
    );
    expect(trial.TrialArn).toBe(`${arnPrefix}:experiment-trial/depth-3`);
    expect(await dev.send(new DescribeTrialCommand({ TrialName: 'depth-3' }))).toMatchObject({
      TrialName: 'depth-3',
      ExperimentName: 'Churn-Exp',
    });

    const started = new Date('2026-01-02T03:04:05.000Z');
    const component = await dev.send(
      new CreateTrialComponentCommand({
        TrialComponentName: 'prep-1',
        DisplayName: 'prepare-data',
        Status: { PrimaryStatus: 'InProgress' },
        StartTime: started,
        Parameters: { features: { StringValue: 'all' }, test_share: { NumberValue: 0.2 } },
        InputArtifacts: { raw: { Value: 's3://work/exp/raw.csv', MediaType: 'text/csv' } },
        MetadataProperties: { CommitId: 'abc123' },
      }),
    );
    expect(component.TrialComponentArn).toBe(`${arnPrefix}:experiment-trial-component/prep-1`);
    expect(
      await dev.send(
        new AssociateTrialComponentCommand({ TrialComponentName: 'prep-1', TrialName: 'depth-3' }),
      ),
    ).toMatchObject({ TrialComponentArn: component.TrialComponentArn, TrialArn: trial.TrialArn });

    await dev.send(trainingJob('exp-job', 'Churn-Exp', 'depth-3'));
    const inTrial = await sm.viewer.send(new ListTrialComponentsCommand({ TrialName: 'depth-3' }));
    expect(inTrial.TrialComponentSummaries?.map((c) => c.TrialComponentName).sort()).toEqual([
      'exp-job-aws-training-job',
      'prep-1',
    ]);
    const inExperiment = await sm.viewer.send(
      new ListTrialComponentsCommand({ ExperimentName: 'Churn-Exp' }),
    );
    expect(inExperiment.TrialComponentSummaries).toHaveLength(2);
    const bySource = await sm.viewer.send(
      new ListTrialComponentsCommand({ SourceArn: `${arnPrefix}:training-job/exp-job` }),
    );
    expect(bySource.TrialComponentSummaries?.map((c) => c.TrialComponentName)).toEqual([
      'exp-job-aws-training-job',
    ]);

    const prep = await sm.viewer.send(
      new DescribeTrialComponentCommand({ TrialComponentName: component.TrialComponentArn }),
    );
    expect(prep).toMatchObject({
      TrialComponentName: 'prep-1',
      DisplayName: 'prepare-data',
      Status: { PrimaryStatus: 'InProgress' },
      Parameters: { features: { StringValue: 'all' }, test_share: { NumberValue: 0.2 } },
      InputArtifacts: { raw: { Value: 's3://work/exp/raw.csv', MediaType: 'text/csv' } },
      MetadataProperties: { CommitId: 'abc123' },
    });
    expect(prep.StartTime?.toISOString()).toBe(started.toISOString());
    const jobComponent = await sm.viewer.send(
      new DescribeTrialComponentCommand({ TrialComponentName: 'exp-job-aws-training-job' }),
    );
    expect(jobComponent).toMatchObject({
      DisplayName: 'training',
      Source: { SourceArn: `${arnPrefix}:training-job/exp-job`, SourceType: 'SageMakerTrainingJob' },
      Parameters: { max_depth: { StringValue: '3' } },
    });
    expect(
      (
        await sm.viewer.send(new ListTrialsCommand({ TrialComponentName: 'exp-job-aws-training-job' }))
      ).TrialSummaries?.map((s) => s.TrialName),
    ).toEqual(['depth-3']);

    await dev.send(
      new UpdateTrialComponentCommand({
        TrialComponentName: 'prep-1',
        Status: { PrimaryStatus: 'Completed', Message: 'done' },
        EndTime: new Date('2026-01-02T03:14:05.000Z'),
        Parameters: { rows: { NumberValue: 400 } },
        ParametersToRemove: ['features'],
        OutputArtifacts: { train: { Value: 's3://work/exp/train/' } },
      }),
    );
    const updated = await dev.send(new DescribeTrialComponentCommand({ TrialComponentName: 'prep-1' }));
    expect(updated.Status).toEqual({ PrimaryStatus: 'Completed', Message: 'done' });
    expect(updated.Parameters).toEqual({ test_share: { NumberValue: 0.2 }, rows: { NumberValue: 400 } });
    expect(updated.OutputArtifacts).toEqual({ train: { Value: 's3://work/exp/train/' } });
    await dev.send(new UpdateExperimentCommand({ ExperimentName: 'Churn-Exp', DisplayName: 'Churn' }));
    expect((await dev.send(new ListExperimentsCommand({}))).ExperimentSummaries).toContainEqual(
      expect.objectContaining({ ExperimentName: 'Churn-Exp', DisplayName: 'Churn' }),
    );

    // Out of order: each refusal names what is still attached, as SageMaker refuses.
    expect(
      await awsError(dev.send(new DeleteExperimentCommand({ ExperimentName: 'Churn-Exp' }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('still has trials'),
    });
    expect(await awsError(dev.send(new DeleteTrialCommand({ TrialName: 'depth-3' })))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('still has trial components'),
    });
    expect(
      await awsError(dev.send(new DeleteTrialComponentCommand({ TrialComponentName: 'prep-1' }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('disassociate it first'),
    });
    expect(
      await awsError(
        dev.send(new DeleteTrialComponentCommand({ TrialComponentName: 'exp-job-aws-training-job' })),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining("training job's") });

    // In order: disassociate both, delete the component, the trial, the experiment.
    for (const name of ['prep-1', 'exp-job-aws-training-job'])
      await dev.send(
        new DisassociateTrialComponentCommand({ TrialComponentName: name, TrialName: 'depth-3' }),
      );
    expect(
      await awsError(
        dev.send(
          new DisassociateTrialComponentCommand({ TrialComponentName: 'prep-1', TrialName: 'depth-3' }),
        ),
      ),
    ).toMatchObject({ name: 'ResourceNotFound' });
    await dev.send(new DeleteTrialComponentCommand({ TrialComponentName: 'prep-1' }));
    await dev.send(new DeleteTrialCommand({ TrialName: 'depth-3' }));
    expect((await dev.send(new DeleteExperimentCommand({ ExperimentName: 'Churn-Exp' }))).ExperimentArn).toBe(
      created.ExperimentArn,
    );
    expect(
      await awsError(dev.send(new DescribeExperimentCommand({ ExperimentName: 'Churn-Exp' }))),
    ).toMatchObject({
      name: 'ResourceNotFound',
      status: 400,
    });
    expect(
      await awsError(dev.send(new ListTagsCommand({ ResourceArn: created.ExperimentArn }))),
    ).toMatchObject({
      name: 'ValidationException',
    });
    // The job's own component stays while the job does.
    expect(
      (await dev.send(new DescribeTrialComponentCommand({ TrialComponentName: 'exp-job-aws-training-job' })))
        .TrialComponentName,
    ).toBe('exp-job-aws-training-job');
  });

  it('refuses duplicates, missing names and resources, and a viewer creating', async () => {
    const dev = sm.developer;
    await dev.send(new CreateExperimentCommand({ ExperimentName: 'dup-exp' }));
    expect(
      await awsError(dev.send(new CreateExperimentCommand({ ExperimentName: 'DUP-exp' }))),
    ).toMatchObject({
      name: 'ResourceInUse',
      status: 400,
    });
    await dev.send(new CreateTrialCommand({ TrialName: 'dup-trial', ExperimentName: 'dup-exp' }));
    expect(
      await awsError(dev.send(new CreateTrialCommand({ TrialName: 'dup-trial', ExperimentName: 'dup-exp' }))),
    ).toMatchObject({ name: 'ResourceInUse' });
    await dev.send(new CreateTrialComponentCommand({ TrialComponentName: 'dup-c' }));
    expect(
      await awsError(dev.send(new CreateTrialComponentCommand({ TrialComponentName: 'dup-c' }))),
    ).toMatchObject({
      name: 'ResourceInUse',
    });
    expect(
      await awsError(
        dev.send(new CreateTrialCommand({ TrialName: 'orphan', ExperimentName: 'no-such-exp' })),
      ),
    ).toMatchObject({ name: 'ResourceNotFound', message: expect.stringContaining('no-such-exp') });
    expect(
      await awsError(
        dev.send(
          new AssociateTrialComponentCommand({ TrialComponentName: 'no-such-c', TrialName: 'dup-trial' }),
        ),
      ),
    ).toMatchObject({ name: 'ResourceNotFound' });
    expect(await awsError(dev.send(new DescribeTrialCommand({ TrialName: 'no-such-trial' })))).toMatchObject({
      name: 'ResourceNotFound',
    });
    // The JS SDK sends what it is given: the door checks required members and patterns.
    expect(await awsError(dev.send(new CreateExperimentCommand({} as never)))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('experimentName'),
    });
    expect(
      await awsError(dev.send(new CreateExperimentCommand({ ExperimentName: 'bad name!' }))),
    ).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('experimentName'),
    });
    expect(
      await awsError(
        dev.send(
          new CreateTrialComponentCommand({
            TrialComponentName: 'two-values',
            Parameters: { x: { StringValue: 'a', NumberValue: 1 } },
          }),
        ),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining("'parameters.x'") });
    expect(
      await awsError(dev.send(new CreateTrialComponentCommand({ TrialComponentName: 'x-aws-training-job' }))),
    ).toMatchObject({ name: 'ValidationException' });
    // A job naming an existing trial of another experiment is refused before it is stored.
    expect(await awsError(dev.send(trainingJob('cross-job', 'other-exp', 'dup-trial')))).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('belongs to experiment'),
    });
    for (const command of [
      new CreateExperimentCommand({ ExperimentName: 'viewer-exp' }),
      new CreateTrialCommand({ TrialName: 'viewer-trial', ExperimentName: 'dup-exp' }),
      new CreateTrialComponentCommand({ TrialComponentName: 'viewer-c' }),
      new DeleteExperimentCommand({ ExperimentName: 'dup-exp' }),
    ])
      expect(await awsError(sm.viewer.send(command as never))).toMatchObject({
        name: 'AccessDeniedException',
      });
    expect(
      (await sm.viewer.send(new ListTrialsCommand({ ExperimentName: 'dup-exp' }))).TrialSummaries?.map(
        (s) => s.TrialName,
      ),
    ).toEqual(['dup-trial']);
  });

  it.skipIf(!hasBoto3)(
    'serves boto3: create experiment, trial and component, associate, list, then delete in order',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'trainyard-smexp-'));
      const script = `
import json, os, boto3
from botocore.exceptions import ClientError
sm = boto3.client('sagemaker', endpoint_url=os.environ['ENDPOINT'])
exp = sm.create_experiment(ExperimentName='boto-exp', Description='from boto3')['ExperimentArn']
sm.create_trial(TrialName='boto-trial', ExperimentName='boto-exp')
sm.create_trial_component(TrialComponentName='boto-run', Status={'PrimaryStatus': 'InProgress'},
                          Parameters={'lr': {'NumberValue': 0.1}, 'opt': {'StringValue': 'adam'}})
sm.associate_trial_component(TrialComponentName='boto-run', TrialName='boto-trial')
listed = [c['TrialComponentName'] for c in sm.list_trial_components(ExperimentName='boto-exp')['TrialComponentSummaries']]
run = sm.describe_trial_component(TrialComponentName='boto-run')
codes = []
try:
    sm.create_experiment(ExperimentName='boto-exp')
except ClientError as e:
    codes.append(e.response['Error']['Code'])
try:
    sm.delete_experiment(ExperimentName='boto-exp')
except ClientError as e:
    codes.append(e.response['Error']['Code'])
sm.disassociate_trial_component(TrialComponentName='boto-run', TrialName='boto-trial')
sm.delete_trial_component(TrialComponentName='boto-run')
sm.delete_trial(TrialName='boto-trial')
sm.delete_experiment(ExperimentName='boto-exp')
try:
    sm.describe_experiment(ExperimentName='boto-exp')
except ClientError as e:
    codes.append(e.response['Error']['Code'])
print(json.dumps({'arn': exp, 'listed': listed, 'params': run['Parameters'],
                  'created': type(run['CreationTime']).__name__, 'codes': codes}))
`;
      try {
        const { stdout } = await run(python, ['-c', script], {
          cwd: work,
          env: awsToolEnv(work, keys.developer, { ENDPOINT: t.baseUrl }),
        });
        expect(JSON.parse(stdout)).toEqual({
          arn: `${arnPrefix}:experiment/boto-exp`,
          listed: ['boto-run'],
          params: { lr: { NumberValue: 0.1 }, opt: { StringValue: 'adam' } },
          created: 'datetime',
          codes: ['ResourceInUse', 'ValidationException', 'ResourceNotFound'],
        });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
