import type { ExperimentRuns } from '@trainyard/contracts/experiments';
import type { CreateTrainingJobInput, TrainingJob } from '@trainyard/contracts/training-jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild } from '../testing/server-process.js';

let t: TestServer;

const job = (name: string, depth: string, experiment?: string): CreateTrainingJobInput => ({
  TrainingJobName: name,
  AlgorithmSpecification: { AlgorithmName: 'xgboost' },
  HyperParameters: { objective: 'binary:logistic', num_round: '15', max_depth: depth, eval_metric: 'auc' },
  InputDataConfig: [
    {
      ChannelName: 'train',
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3Uri: 's3://work/exp/train.csv' } },
    },
    {
      ChannelName: 'validation',
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3Uri: 's3://work/exp/validation.csv' } },
    },
  ],
  OutputDataConfig: { S3OutputPath: 's3://work/models' },
  ResourceConfig: { InstanceType: 'ml.t3.medium' },
  ...(experiment ? { ExperimentConfig: { ExperimentName: experiment, RunName: `depth-${depth}` } } : {}),
});

describe.skipIf(!requireBuild())('experiments (needs the build: npx tsc -b)', () => {
  beforeAll(async () => {
    t = await openTestServer({ workerConcurrency: 2 });
    await t.platform.jobs.startWorker();
    const rows = (n: number, seed: number) => {
      let s = seed;
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const x = Array.from({ length: 4 }, () => {
          s = (s * 1103515245 + 12345) % 2147483648;
          return Math.round((s / 2147483648) * 100) / 10;
        });
        out.push([x[0]! * x[1]! + x[2]! > 30 ? 1 : 0, ...x].join(','));
      }
      return `${out.join('\n')}\n`;
    };
    await t.platform.blobs.put({ bucket: 'work', key: 'exp/train.csv' }, rows(400, 1));
    await t.platform.blobs.put({ bucket: 'work', key: 'exp/validation.csv' }, rows(200, 2));
    for (const [name, depth, experiment] of [
      ['churn-d1', '1', 'churn'],
      ['churn-d3', '3', 'churn'],
      ['churn-d5', '5', 'churn'],
      ['other-1', '2', 'other'],
      ['loose-1', '2', undefined],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/training-jobs',
        headers: t.auth(),
        payload: job(name, depth, experiment),
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const deadline = Date.now() + 90_000;
    for (const name of ['churn-d1', 'churn-d3', 'churn-d5', 'other-1', 'loose-1']) {
      for (;;) {
        const described = (
          await t.app.inject({ method: 'GET', url: `/api/v1/training-jobs/${name}`, headers: t.auth() })
        ).json() as TrainingJob;
        if (described.TrainingJobStatus === 'Completed') break;
        if (described.TrainingJobStatus === 'Failed') throw new Error(`${name}: ${described.FailureReason}`);
        if (Date.now() > deadline) throw new Error(`${name} still ${described.SecondaryStatus}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('groups training jobs by ExperimentConfig and compares runs by a final metric, with curves as chart data', async () => {
    const list = (
      await t.app.inject({ method: 'GET', url: '/api/v1/experiments', headers: t.auth() })
    ).json();
    expect(
      list.items.map((e: { ExperimentName: string; Runs: number }) => [e.ExperimentName, e.Runs]).sort(),
    ).toEqual([
      ['churn', 3],
      ['other', 1],
    ]);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/experiments/churn/runs?sortBy=validation:auc&order=desc&curves=true',
      headers: t.auth(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const runs = res.json() as ExperimentRuns;
    expect(runs.Runs.map((r) => r.RunName).sort()).toEqual(['depth-1', 'depth-3', 'depth-5']);
    expect(runs.VaryingParameters).toEqual(['max_depth']);
    expect(runs.MetricNames).toEqual(['train:auc', 'validation:auc']);
    const aucs = runs.Runs.map((r) => r.FinalMetrics['validation:auc']!);
    expect(aucs).toEqual([...aucs].sort((a, b) => b - a));
    for (const run of runs.Runs) {
      const described = (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/training-jobs/${run.TrainingJobName}`,
          headers: t.auth(),
        })
      ).json() as TrainingJob;
      expect(run.FinalMetrics['validation:auc']).toBe(
        described.FinalMetricDataList!.find((m) => m.MetricName === 'validation:auc')!.Value,
      );
      expect(run.MetricCurves!['validation:auc']!.map((p) => p.Iteration)).toEqual([...Array(15).keys()]);
      expect(run.ModelArtifacts).toBe(`s3://work/models/${run.TrainingJobName}/output/model.tar.gz`);
    }
    const ascending = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/experiments/churn/runs?sortBy=validation:auc&order=asc',
        headers: t.auth(),
      })
    ).json() as ExperimentRuns;
    expect(ascending.Runs.map((r) => r.RunName)).toEqual(runs.Runs.map((r) => r.RunName).reverse());
    expect(ascending.Runs[0]!.MetricCurves).toBeUndefined();
  });
});

describe('experiments created before any run (REST)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await openTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('creates, lists with 0 runs, describes and deletes; refuses a duplicate, a viewer, a bad name and a delete while a job runs in it', async () => {
    const developer = s.auth(await s.keyWithRole('developer'));
    const viewer = s.auth(await s.keyWithRole('viewer'));
    const create = (name: string, headers: { authorization: string }) =>
      s.app.inject({
        method: 'POST',
        url: '/api/v1/experiments',
        headers,
        payload: { ExperimentName: name, Description: 'churn models', Tags: [{ Key: 'team', Value: 'r' }] },
      });
    const created = await create('Churn-Rest', developer);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      ExperimentName: 'Churn-Rest',
      DisplayName: 'Churn-Rest',
      Description: 'churn models',
      CreatedBy: { KeyName: expect.any(String) },
    });
    expect((await create('churn-rest', developer)).json().error.code).toBe('ALREADY_EXISTS');
    const refused = await create('viewer-exp', viewer);
    expect(refused.statusCode).toBe(403);
    const bad = await create('bad name', developer);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('body.ExperimentName');

    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/experiments', headers: viewer })).json();
    expect(list.items).toEqual([
      expect.objectContaining({ ExperimentName: 'Churn-Rest', Runs: 0, Description: 'churn models' }),
    ]);
    expect(list.items[0].LastRunTime).toBeUndefined();
    const runs = await s.app.inject({
      method: 'GET',
      url: '/api/v1/experiments/Churn-Rest/runs',
      headers: viewer,
    });
    expect(runs.json().Runs).toEqual([]);

    // A training job joins it: its run is a trial, so the experiment cannot be deleted.
    const joined = await s.app.inject({
      method: 'POST',
      url: '/api/v1/training-jobs',
      headers: developer,
      payload: { ...job('rest-run', '2'), ExperimentConfig: { ExperimentName: 'churn-rest', RunName: 'r1' } },
    });
    expect(joined.statusCode, joined.body).toBe(201);
    const listed = (
      await s.app.inject({ method: 'GET', url: '/api/v1/experiments', headers: viewer })
    ).json();
    expect(listed.items[0]).toMatchObject({ ExperimentName: 'Churn-Rest', Runs: 1 });
    const busy = await s.app.inject({
      method: 'DELETE',
      url: '/api/v1/experiments/Churn-Rest',
      headers: developer,
    });
    expect(busy.statusCode).toBe(412);
    expect(busy.json().error.message).toContain('"r1"');
    // Deleting the job takes its trial component out of the trial; the trial itself stays.
    await s.app.inject({ method: 'POST', url: '/api/v1/training-jobs/rest-run/stop', headers: developer });
    const jobDeleted = await s.app.inject({
      method: 'DELETE',
      url: '/api/v1/training-jobs/rest-run',
      headers: developer,
    });
    expect(jobDeleted.statusCode, jobDeleted.body).toBe(200);
    // A new job of the same name, without ExperimentConfig, is in no trial.
    const reused = await s.app.inject({
      method: 'POST',
      url: '/api/v1/training-jobs',
      headers: developer,
      payload: job('rest-run', '2'),
    });
    expect(reused.statusCode, reused.body).toBe(201);
    expect(await s.platform.jobs.experiments.links({ trial: 'r1' })).toEqual([]);
    expect((await s.platform.jobs.experiments.describeTrial('r1')).ExperimentName).toBe('Churn-Rest');

    expect((await create('empty-exp', developer)).statusCode).toBe(201);
    const deleted = await s.app.inject({
      method: 'DELETE',
      url: '/api/v1/experiments/empty-exp',
      headers: developer,
    });
    expect(deleted.json()).toEqual({ deleted: true });
    const gone = await s.app.inject({ method: 'GET', url: '/api/v1/experiments/empty-exp', headers: viewer });
    expect(gone.statusCode).toBe(404);
  });
});
