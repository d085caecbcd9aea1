import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeEntryPoint } from '../entry-points.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

type Role = 'admin' | 'developer' | 'viewer' | 'invoker';

let t: TestServer & { baseUrl: string };
const clients = {} as Record<Role, TrainyardClient>;
let job: TrainingJob;

/** Label first, 4 features. */
function rows(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 4 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
    return [x[0]! * 1.5 - x[1]! + (rnd() - 0.5) > 0 ? 1 : 0, ...x];
  });
}

async function refusal(promise: Promise<unknown>): Promise<TrainyardError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TrainyardError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const spec = (image = 'trainyard/model-server') => ({
  Containers: [{ Image: image, ModelDataUrl: 's3://work/models/m/output/model.tar.gz' }],
});

beforeAll(async () => {
  if (!runtimeEntryPoint('model-server') || !runtimeEntryPoint('builtin-algorithm'))
    throw new Error('the runtime entry scripts are not built: run "npx tsc -b" first');
  t = await openTestServer({ workerConcurrency: 1 }, { listen: true });
  await t.platform.jobs.startWorker();
  t.platform.endpoints.startReconciler();
  for (const role of ['admin', 'developer', 'viewer', 'invoker'] as const) {
    const key = await t.platform.keys.create(`reg-${role}`, role);
    clients[role] = new TrainyardClient({ endpoint: t.baseUrl, key: key.secret });
  }
  // A dataset version -> a training job: the start of every lineage below.
  await t.platform.blobs.createBucket('work');
  const csv = `label,a,b,c,d\n${rows(300, 7)
    .map((r) => r.join(','))
    .join('\n')}\n`;
  await t.platform.blobs.put({ bucket: 'work', key: 'raw/reg.csv' }, csv);
  await t.platform.datasets.createVersionFromUri('reg-data', 's3://work/raw/reg.csv', {
    ingest: { format: 'csv', target: 'label' },
  });
  await clients.developer.call('createTrainingJob', {
    body: {
      TrainingJobName: 'reg-xgb',
      AlgorithmSpecification: { AlgorithmName: 'xgboost' },
      HyperParameters: { objective: 'binary:logistic', num_round: '10', max_depth: '3' },
      OutputDataConfig: { S3OutputPath: 's3://work/models' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      InputDataConfig: [
        { ChannelName: 'train', DataSource: { DatasetSource: { DatasetName: 'reg-data' } } },
        { ChannelName: 'validation', DataSource: { DatasetSource: { DatasetName: 'reg-data', Version: 1 } } },
      ],
    },
  });
  const deadline = Date.now() + 90_000;
  do {
    job = await clients.viewer.call('describeTrainingJob', { params: { name: 'reg-xgb' } });
    if (['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus)) break;
    await new Promise((r) => setTimeout(r, 150));
  } while (Date.now() < deadline);
  expect(job.TrainingJobStatus, job.FailureReason).toBe('Completed');
  await clients.developer.call('createModelPackageGroup', {
    body: { ModelPackageGroupName: 'Churn', ModelPackageGroupDescription: 'churn models' },
  });
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('model registry', () => {
  it('lets viewers read, developers and admins write; invokers see nothing', async () => {
    const group = await clients.viewer.call('describeModelPackageGroup', { params: { group: 'churn' } });
    expect(group).toMatchObject({
      ModelPackageGroupName: 'Churn',
      ModelPackageGroupArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package-group/churn',
      ModelPackageGroupStatus: 'Completed',
      CreatedBy: { KeyName: 'reg-developer' },
    });
    for (const role of ['viewer', 'invoker'] as const) {
      const refused = await refusal(
        clients[role].call('createModelPackage', {
          body: { ModelPackageGroupName: 'Churn', InferenceSpecification: spec() },
        }),
      );
      expect(refused.code).toBe('PERMISSION_DENIED');
    }
    expect((await refusal(clients.invoker.call('listModelPackageGroups'))).code).toBe('PERMISSION_DENIED');
    expect(
      (
        await refusal(
          clients.viewer.call('createModelPackageGroup', { body: { ModelPackageGroupName: 'viewer-group' } }),
        )
      ).code,
    ).toBe('PERMISSION_DENIED');
    const taken = await refusal(
      clients.admin.call('createModelPackageGroup', { body: { ModelPackageGroupName: 'CHURN' } }),
    );
    expect(taken.code).toBe('ALREADY_EXISTS');
  });

  it('numbers concurrent creates 1..n without a gap or a duplicate', async () => {
    await clients.admin.call('createModelPackageGroup', { body: { ModelPackageGroupName: 'race' } });
    const made = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        clients[i % 2 ? 'admin' : 'developer'].call('createModelPackage', {
          body: { ModelPackageGroupName: 'race', InferenceSpecification: spec() },
        }),
      ),
    );
    expect(made.map((p) => p.ModelPackageVersion).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    const listed = [];
    for await (const p of clients.viewer.listAll('listModelPackages', { query: { group: 'race', limit: 5 } }))
      listed.push(p.ModelPackageVersion);
    expect(listed).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const newest = await clients.viewer.call('listModelPackages', {
      query: { group: 'race', limit: 1, sortOrder: 'Descending' },
    });
    expect(newest.items[0]?.ModelPackageVersion).toBe(24);
    expect(
      (await clients.viewer.call('describeModelPackageGroup', { params: { group: 'race' } })).LatestVersion,
    ).toBe(24);
    // A retried create with the same ClientToken returns the first one's version.
    const first = await clients.developer.call('createModelPackage', {
      body: { ModelPackageGroupName: 'race', InferenceSpecification: spec(), ClientToken: 'retry-1' },
    });
    const again = await clients.developer.call('createModelPackage', {
      body: { ModelPackageGroupName: 'race', InferenceSpecification: spec(), ClientToken: 'retry-1' },
    });
    expect(again.ModelPackageVersion).toBe(first.ModelPackageVersion);
  });

  it('registers a training job: its image and model.tar.gz, metrics, evaluation and datasets', async () => {
    const pkg = await clients.developer.call('createModelPackage', {
      body: {
        ModelPackageGroupName: 'churn',
        SourceTrainingJobName: 'reg-xgb',
        ModelPackageDescription: 'v1',
      },
    });
    expect(pkg).toMatchObject({
      ModelPackageName: 'Churn',
      ModelPackageGroupName: 'Churn',
      ModelPackageVersion: 1,
      ModelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/1',
      ModelApprovalStatus: 'PendingManualApproval',
      CreatedBy: { KeyName: 'reg-developer' },
      InferenceSpecification: {
        Containers: [{ Image: 'trainyard/model-server', ModelDataUrl: job.ModelArtifacts.S3ModelArtifacts }],
      },
      SourceTrainingJob: {
        TrainingJobName: 'reg-xgb',
        TrainingJobArn: job.TrainingJobArn,
        // The unpinned channel resolves to the version that was latest when the job read it.
        Datasets: [
          { ChannelName: 'train', DatasetName: 'reg-data', Version: 1 },
          { ChannelName: 'validation', DatasetName: 'reg-data', Version: 1 },
        ],
      },
    });
    expect(pkg.FinalMetricDataList?.length).toBeGreaterThan(0);
    expect(pkg.FinalMetricDataList).toEqual(job.FinalMetricDataList);
    expect(job.EvaluationReport).toBeDefined();
    expect(pkg.EvaluationReport).toEqual(job.EvaluationReport);
    // The same figures as SageMaker's ModelMetrics document, in the platform's read-only bucket.
    const statistics = pkg.ModelMetrics?.ModelQuality?.Statistics;
    expect(statistics).toMatchObject({ ContentType: 'application/json' });
    expect(statistics?.S3Uri).toMatch(
      /^s3:\/\/trainyard\/registry\/model-quality\/reg-xgb\/[0-9a-f-]+\.json$/,
    );
    const stored = await t.platform.blobs.get({
      bucket: 'trainyard',
      key: statistics!.S3Uri.slice('s3://trainyard/'.length),
    });
    const chunks: Buffer[] = [];
    for await (const chunk of stored.body) chunks.push(chunk as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({
      TrainingJobName: 'reg-xgb',
      FinalMetricDataList: job.FinalMetricDataList,
      EvaluationReport: job.EvaluationReport,
    });

    const notDone = await refusal(
      clients.developer.call('createModelPackage', {
        body: { ModelPackageGroupName: 'churn', SourceTrainingJobName: 'no-such-job' },
      }),
    );
    expect(notDone.code).toBe('INVALID_ARGUMENT');
    expect(notDone.message).toContain('no-such-job');
  });

  it('deploys only Approved packages unless the flag says so, and never a Rejected one', async () => {
    const create = (body: Record<string, unknown>) =>
      clients.developer.call('createModel', { body: body as never });
    const pending = await refusal(create({ ModelName: 'churn-pending', modelPackageName: 'churn/1' }));
    expect(pending.code).toBe('FAILED_PRECONDITION');
    expect(pending.message).toContain('PendingManualApproval');
    expect(pending.message).toContain('allowUnapprovedModelPackage');

    const flagged = await create({
      ModelName: 'churn-pending',
      modelPackageName: 'churn/1',
      allowUnapprovedModelPackage: true,
    });
    expect(flagged).toMatchObject({
      ModelPackageName: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/1',
      PrimaryContainer: {
        Image: 'trainyard/model-server',
        ModelDataUrl: job.ModelArtifacts.S3ModelArtifacts,
      },
    });

    // Viewers cannot decide; a developer rejects with a reason.
    const viewerDecides = await refusal(
      clients.viewer.call('updateModelPackage', {
        params: { group: 'churn', version: 1 },
        body: { ModelApprovalStatus: 'Approved' },
      }),
    );
    expect(viewerDecides.code).toBe('PERMISSION_DENIED');
    await clients.developer.call('updateModelPackage', {
      params: { group: 'churn', version: 1 },
      body: { ModelApprovalStatus: 'Rejected', ApprovalDescription: 'AUC below the bar' },
    });
    const rejected = await refusal(
      create({ ModelName: 'churn-rejected', modelPackageName: 'churn/1', allowUnapprovedModelPackage: true }),
    );
    expect(rejected.code).toBe('FAILED_PRECONDITION');
    expect(rejected.message).toContain('Rejected');
    expect(rejected.message).toContain('AUC below the bar');

    const approved = await clients.admin.call('updateModelPackage', {
      params: { group: 'churn', version: 1 },
      body: { ModelApprovalStatus: 'Approved', ApprovalDescription: 'second look: fine for the pilot' },
    });
    expect(
      approved.ApprovalHistory.map((e) => [e.ModelApprovalStatus, e.By.KeyName, e.ApprovalDescription]),
    ).toEqual([
      ['PendingManualApproval', 'reg-developer', undefined],
      ['Rejected', 'reg-developer', 'AUC below the bar'],
      ['Approved', 'reg-admin', 'second look: fine for the pilot'],
    ]);
    expect(approved.LastModifiedBy.KeyName).toBe('reg-admin');
    expect(Date.parse(approved.LastModifiedTime)).toBeGreaterThanOrEqual(Date.parse(approved.CreationTime));

    const model = await create({ ModelName: 'churn-v1', modelPackageName: approved.ModelPackageArn });
    expect(model.PrimaryContainer.ModelDataUrl).toBe(job.ModelArtifacts.S3ModelArtifacts);
    await clients.developer.call('createEndpointConfig', {
      body: {
        EndpointConfigName: 'churn-v1',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: 'churn-v1',
            InstanceType: 'ml.m5.large',
            InitialInstanceCount: 1,
          },
        ],
      },
    });
    await clients.developer.call('createEndpoint', {
      body: { EndpointName: 'churn', EndpointConfigName: 'churn-v1' },
    });
    let status = 'Creating';
    for (let i = 0; i < 300 && status === 'Creating'; i++) {
      const e = await clients.viewer.call('describeEndpoint', { params: { name: 'churn' } });
      status = e.EndpointStatus;
      if (status === 'Creating') await new Promise((r) => setTimeout(r, 100));
      else expect(status, e.FailureReason).toBe('InService');
    }
    const answer = await clients.invoker.invokeEndpoint('churn', '1.5,-1,0.2,0.3\n-1.5,1,0,0\n', {
      contentType: 'text/csv',
    });
    const scores = answer.body.trim().split('\n').map(Number);
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeGreaterThan(scores[1]!);
  }, 60_000);

  it('answers lineage both ways: dataset version -> job -> package -> model -> endpoint', async () => {
    const down = await clients.viewer.call('lineage', {
      query: { kind: 'dataset', name: 'reg-data', version: 1 },
    });
    const ids = down.nodes.map((n) => n.id).sort();
    expect(ids).toEqual(
      [
        'dataset:reg-data@1',
        'training-job:reg-xgb',
        'model-package:Churn/1',
        'model:churn-pending',
        'model:churn-v1',
        'endpoint:churn',
      ].sort(),
    );
    expect(down.edges).toContainEqual({ from: 'model-package:Churn/1', to: 'model:churn-v1' });
    expect(down.edges).toContainEqual({ from: 'model:churn-v1', to: 'endpoint:churn' });

    const up = await clients.viewer.call('lineage', { query: { kind: 'endpoint', name: 'churn' } });
    expect(up.nodes.map((n) => n.id).sort()).toEqual(
      [
        'dataset:reg-data@1',
        'training-job:reg-xgb',
        'model-package:Churn/1',
        'model:churn-v1',
        'endpoint:churn',
      ].sort(),
    );
    expect(up.nodes.find((n) => n.kind === 'model-package')?.status).toBe('Approved');

    const fromPackage = await clients.viewer.call('lineage', {
      query: {
        kind: 'model-package',
        name: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/1',
      },
    });
    expect(fromPackage.start).toBe('model-package:Churn/1');
    expect(fromPackage.nodes.map((n) => n.id)).toContain('endpoint:churn');
    // The race group's packages share nothing with this endpoint.
    expect(fromPackage.nodes.some((n) => n.name === 'race')).toBe(false);

    const missing = await refusal(
      clients.viewer.call('lineage', { query: { kind: 'endpoint', name: 'nope' } }),
    );
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('refuses hostile and wrong input with a 4xx naming the field', async () => {
    // Thunks: each call starts only when its turn comes (no rejection waits unhandled).
    const cases: [() => Promise<unknown>, string, string][] = [
      [
        () =>
          clients.developer.call('createModel', {
            body: { ModelName: 'x1', modelPackageName: 'churn/../1' } as never,
          }),
        'INVALID_ARGUMENT',
        'modelPackageName',
      ],
      [
        () =>
          clients.developer.call('createModel', {
            body: {
              ModelName: 'x2',
              modelPackageName: 'churn/1',
              PrimaryContainer: { Image: 'trainyard/model-server', ModelDataUrl: 's3://a/b.tar.gz' },
            } as never,
          }),
        'INVALID_ARGUMENT',
        'PrimaryContainer',
      ],
      [
        () =>
          clients.developer.call('createModel', {
            body: { ModelName: 'x3', modelPackageName: 'churn/99' } as never,
          }),
        'INVALID_ARGUMENT',
        'modelPackageName',
      ],
      [
        () =>
          clients.developer.call('createModelPackage', {
            body: { ModelPackageGroupName: 'no-group', InferenceSpecification: spec() },
          }),
        'INVALID_ARGUMENT',
        'ModelPackageGroupName',
      ],
      [
        () =>
          clients.developer.call('createModelPackage', { body: { ModelPackageGroupName: 'churn' } as never }),
        'INVALID_ARGUMENT',
        'InferenceSpecification',
      ],
      [
        () =>
          clients.developer.call('createModelPackageGroup', {
            body: { ModelPackageGroupName: "x'; drop table model_packages; --" },
          }),
        'INVALID_ARGUMENT',
        'ModelPackageGroupName',
      ],
      [
        () =>
          clients.developer.call('updateModelPackage', {
            params: { group: 'churn', version: 1 },
            body: { ModelApprovalStatus: 'Maybe' } as never,
          }),
        'INVALID_ARGUMENT',
        'ModelApprovalStatus',
      ],
      [
        () => clients.viewer.call('describeModelPackage', { params: { group: 'churn', version: 0 } }),
        'INVALID_ARGUMENT',
        'version',
      ],
      [
        () => clients.viewer.call('listModelPackageGroups', { query: { nameContains: '%' } }),
        'INVALID_ARGUMENT',
        'nameContains',
      ],
    ];
    for (const [call, code, field] of cases) {
      const refused = await refusal(call());
      expect(refused.code, refused.message).toBe(code);
      expect(`${refused.details.field ?? ''} ${refused.message}`).toContain(field);
    }
    const missing = await refusal(
      clients.viewer.call('describeModelPackage', { params: { group: 'churn', version: 7 } }),
    );
    expect(missing.code).toBe('NOT_FOUND');
  });

  it('keeps a group while it holds packages; versions are not reused after a delete', async () => {
    await clients.developer.call('createModelPackageGroup', {
      body: { ModelPackageGroupName: 'short-lived' },
    });
    await clients.developer.call('createModelPackage', {
      body: { ModelPackageGroupName: 'short-lived', InferenceSpecification: spec() },
    });
    const held = await refusal(
      clients.developer.call('deleteModelPackageGroup', { params: { group: 'short-lived' } }),
    );
    expect(held.code).toBe('FAILED_PRECONDITION');
    await clients.developer.call('deleteModelPackage', { params: { group: 'short-lived', version: 1 } });
    const next = await clients.developer.call('createModelPackage', {
      body: { ModelPackageGroupName: 'short-lived', InferenceSpecification: spec() },
    });
    expect(next.ModelPackageVersion).toBe(2);
    await clients.developer.call('deleteModelPackage', { params: { group: 'short-lived', version: 2 } });
    await clients.developer.call('deleteModelPackageGroup', { params: { group: 'short-lived' } });
    const gone = await refusal(
      clients.viewer.call('describeModelPackageGroup', { params: { group: 'short-lived' } }),
    );
    expect(gone.code).toBe('NOT_FOUND');
  });
});

describe('model registry across a restart', () => {
  it('keeps versions, approvals and their history; numbering continues', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-registry-restart-'));
    try {
      const first = await openTestServer({ dataDir });
      const secret = await first.keyWithRole('developer');
      const post = (s: TestServer, url: string, payload: unknown) =>
        s.app.inject({ method: 'POST', url, headers: s.auth(secret), payload });
      expect(
        (await post(first, '/api/v1/model-package-groups', { ModelPackageGroupName: 'kept' })).statusCode,
      ).toBe(201);
      const body = { ModelPackageGroupName: 'kept', InferenceSpecification: spec() };
      expect((await post(first, '/api/v1/model-packages', body)).json().ModelPackageVersion).toBe(1);
      await post(first, '/api/v1/model-packages/kept/1/update', {
        ModelApprovalStatus: 'Approved',
        ApprovalDescription: 'before the restart',
      });
      await first.close();

      const second = await openTestServer({ dataDir });
      try {
        const kept = await second.app.inject({
          url: '/api/v1/model-packages/kept/1',
          headers: second.auth(secret),
        });
        expect(kept.json()).toMatchObject({
          ModelApprovalStatus: 'Approved',
          ApprovalDescription: 'before the restart',
          ApprovalHistory: [
            { ModelApprovalStatus: 'PendingManualApproval' },
            { ModelApprovalStatus: 'Approved' },
          ],
        });
        expect((await post(second, '/api/v1/model-packages', body)).json().ModelPackageVersion).toBe(2);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
