import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateHyperParameterTuningJobCommand,
  DescribeHyperParameterTuningJobCommand,
  ListHyperParameterTuningJobsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  type SageMakerClient,
  SageMakerServiceException,
  StopHyperParameterTuningJobCommand,
} from '@aws-sdk/client-sagemaker';
import type { CreateTuningJobInput, TuningJob, TuningTrial } from '@trainyard/contracts/tuning-jobs';
import {
  hyperbandCutoffs,
  hyperbandRungs,
  type IntermediatePoint,
  judgeTrial,
  medianReference,
  parseStoppingReference,
  type StoppingReference,
  type StopVerdict,
  stopReason,
} from '@trainyard/core/tuning/tuning-strategies';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { sageMakerClientOf } from '../testing/sagemaker-clients.js';
import { requireBuild } from '../testing/server-process.js';

// Trials are training jobs: script mode runs Node scripts, the GBDT test the built entry script.
const built = requireBuild();

let t: TestServer & { baseUrl: string };
let hook: Server;
/** Webhook deliveries of the `trainyard.tuning-job.*` topics, in arrival order. */
const hooked: {
  type: string;
  resource: { name: string };
  detail: { state: string; previousState?: string };
}[] = [];

/** The states a tuning job's state-change events carried, in order. */
const statesOf = (name: string) =>
  hooked
    .filter((e) => e.type === 'trainyard.tuning-job.state-change' && e.resource.name === name)
    .map((e) => (e.detail.previousState ? `${e.detail.previousState}>${e.detail.state}` : e.detail.state));

async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Cheap script-mode objectives: each prints its value the way a MetricDefinitions regex reads it. */
const scripts: Record<string, string> = {
  'branin.mjs': `
const a = process.argv.slice(2); const hp = {};
for (let i = 0; i < a.length; i += 2) hp[a[i].replace(/^--/, '')] = Number(a[i + 1]);
const { x1, x2 } = hp; const b = 5.1 / (4 * Math.PI ** 2), c = 5 / Math.PI;
const f = (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
if (hp.epochs) for (let e = 1; e <= hp.epochs; e++) { console.log('objective=' + (f + 20 / e) + ';'); await new Promise((r) => setTimeout(r, 60)); }
else console.log('objective=' + f + ';');
`,
  'hartmann.mjs': `
const a = process.argv.slice(2); const hp = {};
for (let i = 0; i < a.length; i += 2) hp[a[i].replace(/^--/, '')] = Number(a[i + 1]);
const A = [[10,3,17,3.5,1.7,8],[0.05,10,17,0.1,8,14],[3,3.5,1.7,10,17,8],[17,8,0.05,10,0.1,14]];
const P = [[1312,1696,5569,124,8283,5886],[2329,4135,8307,3736,1004,9991],[2348,1451,3522,2883,3047,6650],[4047,8828,8732,5743,1091,381]];
const al = [1, 1.2, 3, 3.2]; let s = 0;
for (let i = 0; i < 4; i++) { let e = 0; for (let j = 0; j < 6; j++) e += A[i][j] * (hp['x' + j] - P[i][j] * 1e-4) ** 2; s += al[i] * Math.exp(-e); }
if (hp.epochs) for (let e = 1; e <= hp.epochs; e++) { console.log('objective=' + (-s + 1 / e) + ';'); await new Promise((r) => setTimeout(r, 60)); }
else console.log('objective=' + (-s) + ';');
`,
  // A learning curve: loss falls toward 'level' over epochs; a high level is a clearly bad trial.
  'curve.mjs': `
const a = process.argv.slice(2); const hp = {};
for (let i = 0; i < a.length; i += 2) hp[a[i].replace(/^--/, '')] = a[i + 1];
const level = Number(hp.level); const epochs = Number(hp.epochs ?? 8);
for (let e = 1; e <= epochs; e++) {
  console.log('epoch=' + e + ' loss=' + (level + 5 / e) + ';');
  await new Promise((r) => setTimeout(r, Number((level >= 10 ? hp.badPause : undefined) ?? hp.pause ?? 40)));
}
`,
};

const definition = (program: string, extra: Record<string, string> = {}) => ({
  AlgorithmSpecification: {
    TrainingImage: 'trainyard/node-script:1',
    MetricDefinitions: [
      { Name: 'objective', Regex: 'objective=([-0-9.e]+);' },
      { Name: 'loss', Regex: 'loss=([-0-9.e]+);' },
    ],
  },
  StaticHyperParameters: { sagemaker_program: program, ...extra },
  InputDataConfig: [
    {
      ChannelName: 'code',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: 's3://work/tuning-code/' } },
    },
  ],
  OutputDataConfig: { S3OutputPath: 's3://work/tuning-out' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
  StoppingCondition: { MaxRuntimeInSeconds: 120 },
});

const braninRanges = {
  ContinuousParameterRanges: [
    { Name: 'x1', MinValue: '-5', MaxValue: '10' },
    { Name: 'x2', MinValue: '0', MaxValue: '15' },
  ],
};

function tuning(
  name: string,
  strategy: 'Bayesian' | 'Random' | 'Grid' | 'Hyperband',
  extra: Partial<CreateTuningJobInput['HyperParameterTuningJobConfig']> = {},
  program = 'branin.mjs',
): CreateTuningJobInput {
  return {
    HyperParameterTuningJobName: name,
    HyperParameterTuningJobConfig: {
      Strategy: strategy,
      HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'objective' },
      ResourceLimits: { MaxNumberOfTrainingJobs: 6, MaxParallelTrainingJobs: 3 },
      ParameterRanges: braninRanges,
      RandomSeed: 7,
      ...extra,
    },
    TrainingJobDefinition: definition(program),
  };
}

async function create(body: CreateTuningJobInput, key = t.adminKey) {
  return t.app.inject({ method: 'POST', url: '/api/v1/tuning-jobs', headers: t.auth(key), payload: body });
}

async function describeJob(name: string): Promise<TuningJob> {
  const r = await t.app.inject({ method: 'GET', url: `/api/v1/tuning-jobs/${name}`, headers: t.auth() });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}

async function trialsOf(name: string, query = ''): Promise<TuningTrial[]> {
  const r = await t.app.inject({
    method: 'GET',
    url: `/api/v1/tuning-jobs/${name}/trials${query}`,
    headers: t.auth(),
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}

async function waitEnded(name: string, timeoutMs = 60_000): Promise<TuningJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await describeJob(name);
    if (['Completed', 'Failed', 'Stopped'].includes(job.HyperParameterTuningJobStatus)) return job;
    if (Date.now() > deadline)
      throw new Error(
        `${name} still ${job.HyperParameterTuningJobStatus}: ${JSON.stringify(job.TrainingJobStatusCounters)}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
}

/** A SageMaker SDK client signed with a fresh key of `role`. */
async function client(role: 'developer' | 'viewer'): Promise<SageMakerClient> {
  return (await sageMakerClientOf(t, role)).client;
}

/** The built-in XGBoost on the small binary problem of `beforeAll` (train and validation channels). */
function gbdtDefinition(hps: Record<string, string>): CreateTuningJobInput['TrainingJobDefinition'] {
  const channel = (name: string) => ({
    ChannelName: name,
    ContentType: 'text/csv',
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: `s3://work/gbdt/${name}/` } },
  });
  return {
    AlgorithmSpecification: { AlgorithmName: 'xgboost' },
    StaticHyperParameters: { objective: 'binary:logistic', ...hps },
    InputDataConfig: [channel('train'), channel('validation')],
    OutputDataConfig: { S3OutputPath: 's3://work/gbdt-out' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
  };
}

beforeAll(async () => {
  t = await openTestServer(
    // The webhook receiver of the event tests listens on 127.0.0.1.
    { workerConcurrency: 4, jobStopGraceSeconds: 1, webhookAllowedNetworks: ['127.0.0.1'] },
    { listen: true },
  );
  await t.platform.blobs.createBucket('work');
  for (const [file, text] of Object.entries(scripts))
    await t.platform.blobs.put({ bucket: 'work', key: `tuning-code/${file}` }, text);
  // A small, noisy binary problem for the built-in XGBoost (label first, no header).
  let seed = 99;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const rows = (n: number) =>
    Array.from({ length: n }, () => {
      const x = Array.from({ length: 6 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
      const z = Math.sin(x[0]! * 1.5) + x[1]! * x[2]! - 0.5 * x[3]! ** 2 + (rnd() - 0.5) * 2;
      return [z > 0 ? 1 : 0, ...x].join(',');
    }).join('\n');
  await t.platform.blobs.put({ bucket: 'work', key: 'gbdt/train/part.csv' }, `${rows(600)}\n`);
  await t.platform.blobs.put({ bucket: 'work', key: 'gbdt/validation/part.csv' }, `${rows(400)}\n`);
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooked.push(JSON.parse(JSON.parse(Buffer.concat(chunks).toString()).message));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  for (const topic of ['trainyard.tuning-job.state-change', 'trainyard.tuning-job.progress']) {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/topics',
      headers: t.auth(),
      payload: { name: topic },
    });
    const sub = await t.app.inject({
      method: 'POST',
      url: `/api/v1/topics/${topic}/subscriptions`,
      headers: t.auth(),
      payload: {
        endpoint: { kind: 'http', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
      },
    });
    expect(sub.statusCode, sub.body).toBe(201);
  }
  await t.platform.jobs.startWorker();
  t.platform.jobs.startTuner();
}, 30_000);

afterAll(async () => {
  await t?.close();
  hook?.closeAllConnections();
  await new Promise((r) => hook?.close(r));
});

describe('tuning jobs: validation and access', () => {
  const refused = async (body: CreateTuningJobInput) => {
    const r = await create(body);
    expect(r.statusCode, r.body).toBe(400);
    return r.json().error as { code: string; field: string; message: string };
  };

  it('refuses bad ranges, an unknown metric and Grid over a continuous range, naming the field', async () => {
    const minMax = await refused(
      tuning('bad-1', 'Random', {
        ParameterRanges: { IntegerParameterRanges: [{ Name: 'depth', MinValue: '9', MaxValue: '2' }] },
      }),
    );
    expect(minMax.field).toBe(
      'HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges.0.MinValue',
    );
    expect(minMax.message).toContain('greater than MaxValue 2');
    const logZero = await refused(
      tuning('bad-2', 'Random', {
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'eta', MinValue: '0', MaxValue: '1', ScalingType: 'Logarithmic' },
          ],
        },
      }),
    );
    expect(logZero.field).toBe(
      'HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges.0.ScalingType',
    );
    const metric = await refused(
      tuning('bad-3', 'Random', {
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:rmse' },
      }),
    );
    expect(metric.field).toBe('HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName');
    expect(metric.message).toContain('validation:rmse');
    const grid = await refused(tuning('bad-4', 'Grid'));
    expect(grid.field).toBe('HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges');
    const reverse = await refused(
      tuning('bad-5', 'Random', {
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'm', MinValue: '0.5', MaxValue: '1', ScalingType: 'ReverseLogarithmic' },
          ],
        },
      }),
    );
    expect(reverse.field).toContain('ContinuousParameterRanges.0.ScalingType');
    const notNumber = await refused(
      tuning('bad-6', 'Random', {
        ParameterRanges: { ContinuousParameterRanges: [{ Name: 'x1', MinValue: 'abc', MaxValue: '1' }] },
      }),
    );
    expect(notNumber.field).toContain('ContinuousParameterRanges.0.MinValue');
    const budget = await refused(
      tuning('bad-7', 'Bayesian', { ResourceLimits: { MaxParallelTrainingJobs: 2 } }),
    );
    expect(budget.field).toBe('HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs');
    const staticTwice = await refused({
      ...tuning('bad-8', 'Random'),
      TrainingJobDefinition: definition('branin.mjs', { x1: '3' }),
    });
    expect(staticTwice.field).toContain('ContinuousParameterRanges.0.Name');
    const instance = await refused({
      ...tuning('bad-9', 'Random'),
      TrainingJobDefinition: {
        ...definition('branin.mjs'),
        ResourceConfig: { InstanceType: 'ml.nope', InstanceCount: 1, VolumeSizeInGB: 1 },
      },
    });
    expect(instance.field).toBe('TrainingJobDefinition.ResourceConfig.InstanceType');
    const hostileName = await create({ ...tuning('x', 'Random'), HyperParameterTuningJobName: '../../etc' });
    expect(hostileName.statusCode).toBe(400);
  });

  it('lets viewers read and developers write; invokers and viewers cannot create', async () => {
    const viewer = await t.keyWithRole('viewer');
    const invoker = await t.keyWithRole('invoker');
    const developer = await t.keyWithRole('developer');
    expect((await create(tuning('role-v', 'Random'), viewer)).statusCode).toBe(403);
    expect((await create(tuning('role-i', 'Random'), invoker)).statusCode).toBe(403);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/tuning-jobs', headers: t.auth(viewer) });
    expect(list.statusCode).toBe(200);
    const denied = await t.app.inject({
      method: 'GET',
      url: '/api/v1/tuning-jobs',
      headers: t.auth(invoker),
    });
    expect(denied.statusCode).toBe(403);
    const made = await create(
      tuning('role-d', 'Random', {
        ResourceLimits: { MaxNumberOfTrainingJobs: 1, MaxParallelTrainingJobs: 1 },
      }),
      developer,
    );
    expect(made.statusCode, made.body).toBe(201);
    expect((await create(tuning('role-d', 'Random'), developer)).statusCode).toBe(409);
    const stop = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tuning-jobs/role-d/stop',
      headers: t.auth(viewer),
    });
    expect(stop.statusCode).toBe(403);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/v1/tuning-jobs/nope',
      headers: t.auth(viewer),
    });
    expect(missing.statusCode).toBe(404);
    await waitEnded('role-d');
  });
});

describe.skipIf(!built)('tuning jobs: strategies on script-mode trials', () => {
  it('Random on Branin: children named <tuning>-NNN-<hash>, objective read from each, best reported', async () => {
    const r = await create(tuning('branin-rnd', 'Random'));
    expect(r.statusCode, r.body).toBe(201);
    const job = await waitEnded('branin-rnd');
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    expect(job.TrainingJobStatusCounters).toMatchObject({
      Completed: 6,
      InProgress: 0,
      NonRetryableError: 0,
    });
    const trials = await trialsOf('branin-rnd');
    expect(trials).toHaveLength(6);
    for (const trial of trials) {
      expect(trial.TrainingJobName).toMatch(/^branin-rnd-\d{3}-[0-9a-f]{8}$/);
      const expected = branin(Number(trial.TunedHyperParameters.x1), Number(trial.TunedHyperParameters.x2));
      expect(trial.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBeCloseTo(expected, 6);
    }
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${trials[0]!.TrainingJobName}`,
      headers: t.auth(),
    });
    expect(child.json().HyperParameters._tuning_objective_metric).toBe('objective');
    const best = Math.min(...trials.map((x) => x.FinalHyperParameterTuningJobObjectiveMetric!.Value));
    expect(job.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBe(best);
    const sorted = await trialsOf('branin-rnd', '?sortBy=FinalObjectiveMetricValue&order=Ascending');
    expect(sorted[0]!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBe(best);
  }, 60_000);

  it('Bayesian on Hartmann-6 and Branin completes its budget with distinct proposals', async () => {
    const hartmann = tuning(
      'hart-bo',
      'Bayesian',
      {
        ResourceLimits: { MaxNumberOfTrainingJobs: 8, MaxParallelTrainingJobs: 4 },
        ParameterRanges: {
          ContinuousParameterRanges: [0, 1, 2, 3, 4, 5].map((i) => ({
            Name: `x${i}`,
            MinValue: '0',
            MaxValue: '1',
          })),
        },
      },
      'hartmann.mjs',
    );
    expect((await create(hartmann)).statusCode).toBe(201);
    expect(
      (
        await create(
          tuning('branin-bo', 'Bayesian', {
            ResourceLimits: { MaxNumberOfTrainingJobs: 8, MaxParallelTrainingJobs: 4 },
          }),
        )
      ).statusCode,
    ).toBe(201);
    const [h, b] = await Promise.all([waitEnded('hart-bo'), waitEnded('branin-bo')]);
    for (const job of [h, b]) {
      expect(job.HyperParameterTuningJobStatus).toBe('Completed');
      expect(job.TrainingJobStatusCounters.Completed).toBe(8);
    }
    const values = (await trialsOf('hart-bo')).map((x) => JSON.stringify(x.TunedHyperParameters));
    expect(new Set(values).size).toBe(8);
    // 8 evaluations: far from the optimum (-3.32) is fine, but it must have found a basin.
    expect(h.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBeLessThan(-0.2);
    expect(b.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBeLessThan(30);
  }, 90_000);

  it('Random, Grid and Hyperband on Hartmann-6, Hyperband on Branin', async () => {
    const unit = [0, 1, 2, 3, 4, 5].map((i) => ({ Name: `x${i}`, MinValue: '0', MaxValue: '1' }));
    const hartmann = (name: string, strategy: 'Random' | 'Grid' | 'Hyperband', extra = {}) =>
      tuning(
        name,
        strategy,
        {
          ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 4 },
          ParameterRanges: { ContinuousParameterRanges: unit },
          ...extra,
        },
        'hartmann.mjs',
      );
    const hyperband = { StrategyConfig: { HyperbandStrategyConfig: { MinResource: 1, MaxResource: 6 } } };
    const grid = hartmann('hart-grid', 'Grid', {
      ParameterRanges: {
        CategoricalParameterRanges: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5'].map((Name, i) => ({
          Name,
          Values: i < 2 ? ['0.2', '0.4'] : ['0.3'],
        })),
      },
    });
    for (const body of [
      hartmann('hart-rnd', 'Random'),
      grid,
      hartmann('hart-hb', 'Hyperband', hyperband),
      tuning('branin-hb', 'Hyperband', {
        ...hyperband,
        ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 4 },
      }),
    ]) {
      const r = await create(body);
      expect(r.statusCode, r.body).toBe(201);
    }
    for (const name of ['hart-rnd', 'hart-grid', 'hart-hb', 'branin-hb']) {
      const job = await waitEnded(name, 90_000);
      expect(job.HyperParameterTuningJobStatus, name).toBe('Completed');
      const trials = await trialsOf(name);
      expect(trials, name).toHaveLength(4);
      const values = trials
        .map((x) => x.FinalHyperParameterTuningJobObjectiveMetric?.Value)
        .filter((v) => v !== undefined);
      expect(job.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBe(
        Math.min(...values),
      );
    }
    expect(
      (await trialsOf('hart-grid'))
        .map((x) => `${x.TunedHyperParameters.x0},${x.TunedHyperParameters.x1}`)
        .sort(),
    ).toEqual(['0.2,0.2', '0.2,0.4', '0.4,0.2', '0.4,0.4']);
    // Hyperband runs each trial with epochs = MaxResource and cuts the worst at its rungs.
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${(await trialsOf('hart-hb'))[0]!.TrainingJobName}`,
      headers: t.auth(),
    });
    expect(child.json().HyperParameters.epochs).toBe('6');
  }, 120_000);

  it('tunes the built-in XGBoost on validation AUC (Bayesian)', async () => {
    const body: CreateTuningJobInput = {
      HyperParameterTuningJobName: 'gbdt-auc',
      HyperParameterTuningJobConfig: {
        Strategy: 'Bayesian',
        HyperParameterTuningJobObjective: { Type: 'Maximize', MetricName: 'validation:auc' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'eta', MinValue: '0.02', MaxValue: '0.5', ScalingType: 'Logarithmic' },
          ],
          IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '1', MaxValue: '6' }],
        },
        RandomSeed: 1,
      },
      TrainingJobDefinition: gbdtDefinition({ num_round: '30' }),
    };
    const r = await create(body);
    expect(r.statusCode, r.body).toBe(201);
    const job = await waitEnded('gbdt-auc', 90_000);
    expect(job.HyperParameterTuningJobStatus, JSON.stringify(job)).toBe('Completed');
    const trials = await trialsOf('gbdt-auc');
    expect(trials).toHaveLength(4);
    for (const trial of trials) {
      const auc = trial.FinalHyperParameterTuningJobObjectiveMetric!.Value;
      expect(auc).toBeGreaterThan(0.5);
      expect(auc).toBeLessThanOrEqual(1);
    }
    expect(job.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value).toBeGreaterThan(0.7);
    // SageMaker's XGBoost scores the objective even when eval_metric is not given: the child says so.
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${job.BestTrainingJob!.TrainingJobName}`,
      headers: t.auth(),
    });
    expect(child.json().HyperParameters).toMatchObject({
      eval_metric: 'auc',
      _tuning_objective_metric: 'validation:auc',
    });
    // The objective is the last validation:auc the job reported.
    const metrics = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${job.BestTrainingJob!.TrainingJobName}/metrics`,
      headers: t.auth(),
    });
    expect(metrics.json().metrics['validation:auc'].at(-1).Value).toBe(
      job.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value,
    );
  }, 120_000);

  it('Grid runs every point of its grid exactly once', async () => {
    const body = tuning('grid-1', 'Grid', {
      ResourceLimits: { MaxParallelTrainingJobs: 3 },
      ParameterRanges: {
        CategoricalParameterRanges: [{ Name: 'x1', Values: ['-3', '3', '9'] }],
        IntegerParameterRanges: [{ Name: 'x2', MinValue: '2', MaxValue: '3' }],
      },
    });
    expect((await create(body)).statusCode).toBe(201);
    const job = await waitEnded('grid-1');
    expect(job.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs).toBeUndefined();
    const points = (await trialsOf('grid-1')).map(
      (x) => `${x.TunedHyperParameters.x1},${x.TunedHyperParameters.x2}`,
    );
    expect(points.sort()).toEqual(['-3,2', '-3,3', '3,2', '3,3', '9,2', '9,3']);
    expect(job.TrainingJobStatusCounters.Completed).toBe(6);
  }, 60_000);

  it('early stopping (Auto) stops a clearly bad trial by the median rule', async () => {
    const body: CreateTuningJobInput = {
      ...tuning('early-1', 'Grid', {
        ResourceLimits: { MaxParallelTrainingJobs: 1 },
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'loss' },
        TrainingJobEarlyStoppingType: 'Auto',
        ParameterRanges: {
          CategoricalParameterRanges: [{ Name: 'level', Values: ['1', '1.1', '1.2', '40'] }],
        },
      }),
      // The good trials run 10 quick epochs; the bad one would run 10 epochs of 1 s, so the tuner's
      // passes (every 500 ms) surely see it mid-run and the median rule stops it after its first ones.
      TrainingJobDefinition: definition('curve.mjs', { epochs: '10', pause: '60', badPause: '1000' }),
    };
    expect((await create(body)).statusCode).toBe(201);
    const started = Date.now();
    const job = await waitEnded('early-1', 60_000);
    const trials = await trialsOf('early-1');
    const bad = trials.find((x) => x.TunedHyperParameters.level === '40')!;
    expect(bad.TrainingJobStatus).toBe('Stopped');
    expect(bad.EarlyStopReason).toMatch(/median rule/);
    expect(trials.filter((x) => x.TrainingJobStatus === 'Completed')).toHaveLength(3);
    expect(job.BestTrainingJob!.TunedHyperParameters.level).toBe('1');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('Hyperband stops trials outside the top third at a rung', async () => {
    const body: CreateTuningJobInput = {
      ...tuning('hyper-1', 'Hyperband', {
        ResourceLimits: { MaxNumberOfTrainingJobs: 6, MaxParallelTrainingJobs: 6 },
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'loss' },
        StrategyConfig: { HyperbandStrategyConfig: { MinResource: 2, MaxResource: 12 } },
        ParameterRanges: { ContinuousParameterRanges: [{ Name: 'level', MinValue: '0', MaxValue: '10' }] },
      }),
      TrainingJobDefinition: definition('curve.mjs', { pause: '120' }),
    };
    expect((await create(body)).statusCode).toBe(201);
    const job = await waitEnded('hyper-1', 60_000);
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    const trials = await trialsOf('hyper-1');
    const stopped = trials.filter((x) => x.EarlyStopReason?.startsWith('Hyperband'));
    expect(stopped.length).toBeGreaterThan(0);
    // The trials that ran to the end include the best level.
    const bestLevel = Math.min(...trials.map((x) => Number(x.TunedHyperParameters.level)));
    const kept = trials
      .filter((x) => x.TrainingJobStatus === 'Completed')
      .map((x) => Number(x.TunedHyperParameters.level));
    expect(kept).toContain(bestLevel);
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${trials[0]!.TrainingJobName}`,
      headers: t.auth(),
    });
    expect(child.json().HyperParameters.epochs).toBe('12');
  }, 60_000);

  it('warm start reuses the parent trials and reports the overall best', async () => {
    await waitEnded('branin-rnd');
    const parent = await describeJob('branin-rnd');
    const body: CreateTuningJobInput = {
      ...tuning('branin-warm', 'Bayesian', {
        ResourceLimits: { MaxNumberOfTrainingJobs: 3, MaxParallelTrainingJobs: 3 },
      }),
      WarmStartConfig: {
        ParentHyperParameterTuningJobs: [{ HyperParameterTuningJobName: 'branin-rnd' }],
        WarmStartType: 'IdenticalDataAndAlgorithm',
      },
    };
    const r = await create(body);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().WarmStartObservations).toBe(6);
    const job = await waitEnded('branin-warm');
    expect(job.OverallBestTrainingJob).toBeDefined();
    const parentBest = parent.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value;
    expect(
      job.OverallBestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value,
    ).toBeLessThanOrEqual(parentBest);
    // With 6 observations already, the first proposals come from the model, not a fresh design.
    const warmTrials = await trialsOf('branin-warm');
    expect(
      Math.min(...warmTrials.map((x) => x.FinalHyperParameterTuningJobObjectiveMetric!.Value)),
    ).toBeLessThan(parent.BestTrainingJob!.FinalHyperParameterTuningJobObjectiveMetric!.Value + 5);
    const otherMetric = await create({
      ...tuning('warm-bad', 'Random'),
      HyperParameterTuningJobConfig: {
        ...body.HyperParameterTuningJobConfig,
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'loss' },
      },
      WarmStartConfig: body.WarmStartConfig,
    });
    expect(otherMetric.statusCode).toBe(400);
    expect(otherMetric.json().error.field).toBe(
      'WarmStartConfig.ParentHyperParameterTuningJobs.0.HyperParameterTuningJobName',
    );
  }, 60_000);

  it('completion criteria end the job early: target objective, best not improving', async () => {
    const target = tuning('target-1', 'Random', {
      ResourceLimits: { MaxNumberOfTrainingJobs: 8, MaxParallelTrainingJobs: 1 },
      TuningJobCompletionCriteria: { TargetObjectiveMetricValue: 1e6 },
    });
    const patience = tuning('patience-1', 'Grid', {
      ResourceLimits: { MaxParallelTrainingJobs: 1 },
      TuningJobCompletionCriteria: { BestObjectiveNotImproving: { MaxNumberOfTrainingJobsNotImproving: 3 } },
      // The optimum first, then worse points: three trials without improvement end it.
      ParameterRanges: {
        CategoricalParameterRanges: [
          { Name: 'x1', Values: ['3.14159', '0', '1', '2', '4', '5', '6', '7'] },
          { Name: 'x2', Values: ['2.275'] },
        ],
      },
    });
    for (const body of [target, patience]) expect((await create(body)).statusCode).toBe(201);
    const t1 = await waitEnded('target-1');
    expect(t1.HyperParameterTuningJobStatus).toBe('Completed');
    expect(t1.TuningJobCompletionDetails?.CompletionReason).toMatch(/TargetObjectiveMetricValue/);
    expect((await trialsOf('target-1')).length).toBeLessThan(8);
    const t2 = await waitEnded('patience-1');
    expect(t2.HyperParameterTuningJobStatus).toBe('Completed');
    expect(t2.TuningJobCompletionDetails?.CompletionReason).toMatch(/did not improve over 3/);
    expect(t2.BestTrainingJob!.TunedHyperParameters.x1).toBe('3.14159');
    expect((await trialsOf('patience-1')).length).toBe(4);
    expect(t2.TuningJobCompletionDetails?.NumberOfTrainingJobsObjectiveNotImproving).toBe(3);
  }, 90_000);

  it('CompleteOnConvergence ends the job with ConvergenceDetectedTime; its events arrive in order', async () => {
    // The optimum first, then 11 worse points: once 10 trials have ended the best has not moved
    // over the last 5 (the window), which is convergence.
    const body = tuning('converge-1', 'Grid', {
      ResourceLimits: { MaxParallelTrainingJobs: 2 },
      TuningJobCompletionCriteria: { ConvergenceDetected: { CompleteOnConvergence: 'Enabled' } },
      ParameterRanges: {
        CategoricalParameterRanges: [
          {
            Name: 'x1',
            Values: ['3.14159', '-5', '-4', '-3', '-2', '-1', '0', '1', '5', '6', '7', '8', '9', '10'],
          },
          { Name: 'x2', Values: ['2.275'] },
        ],
      },
    });
    expect((await create(body)).statusCode).toBe(201);
    const job = await waitEnded('converge-1');
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    expect(job.TuningJobCompletionDetails?.CompletionReason).toMatch(/^converged/);
    const detected = job.TuningJobCompletionDetails?.ConvergenceDetectedTime;
    expect(detected).toBeDefined();
    expect(Date.parse(String(detected))).toBeLessThanOrEqual(
      Date.parse(String(job.HyperParameterTuningEndTime)),
    );
    const trials = await trialsOf('converge-1');
    expect(trials.length).toBeGreaterThanOrEqual(10);
    expect(trials.length).toBeLessThan(14);
    expect(job.BestTrainingJob!.TunedHyperParameters.x1).toBe('3.14159');
    await eventually(() => expect(statesOf('converge-1')).toEqual(['InProgress', 'InProgress>Completed']));
    // Progress events carried the trials as the tuner recorded them, under the same status.
    const progress = hooked.filter(
      (e) => e.type === 'trainyard.tuning-job.progress' && e.resource.name === 'converge-1',
    ) as unknown as { detail: { state: string; trials: number; trialsEnded: number } }[];
    expect(progress.length).toBeGreaterThan(0);
    for (const e of progress) expect(e.detail.state).toBe('InProgress');
    // (the pass that records the last ends also completes the job, so that one is a state change)
    const ended = Math.max(...progress.map((e) => e.detail.trialsEnded));
    expect(ended).toBeGreaterThanOrEqual(1);
    expect(ended).toBeLessThan(trials.length);
  }, 90_000);

  it('stopping the tuning job stops its running trials', async () => {
    const body: CreateTuningJobInput = {
      ...tuning('stop-1', 'Random', {
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'loss' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 5, MaxParallelTrainingJobs: 2 },
        ParameterRanges: { ContinuousParameterRanges: [{ Name: 'level', MinValue: '0', MaxValue: '10' }] },
      }),
      TrainingJobDefinition: definition('curve.mjs', { epochs: '100', pause: '200' }),
    };
    expect((await create(body)).statusCode).toBe(201);
    const deadline = Date.now() + 20_000;
    while ((await describeJob('stop-1')).TrainingJobStatusCounters.InProgress < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const stop = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tuning-jobs/stop-1/stop',
      headers: t.auth(),
    });
    expect(stop.statusCode, stop.body).toBe(200);
    expect(['Stopping', 'Stopped']).toContain(stop.json().HyperParameterTuningJobStatus);
    const job = await waitEnded('stop-1', 30_000);
    expect(job.HyperParameterTuningJobStatus).toBe('Stopped');
    const trials = await trialsOf('stop-1');
    expect(trials).toHaveLength(2);
    for (const trial of trials) expect(trial.TrainingJobStatus).toBe('Stopped');
    // A webhook on trainyard.tuning-job.state-change got every change of status, in order.
    await eventually(() =>
      expect(statesOf('stop-1')).toEqual(['InProgress', 'InProgress>Stopping', 'Stopping>Stopped']),
    );
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tuning-jobs/stop-1/stop',
      headers: t.auth(),
    });
    expect(again.statusCode).toBe(412);
  }, 60_000);
});

describe.skipIf(!built)('tuning jobs: early stopping and Hyperband on built-in XGBoost trials', () => {
  // One trial at a time, so the history each trial is judged against is fixed: the outcome of every
  // trial follows from the curves of the trials before it, whatever the machine's speed.
  const curveOf = async (trainingJob: string, metric: string): Promise<IntermediatePoint[]> => {
    const r = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${trainingJob}/metrics`,
      headers: t.auth(),
    });
    expect(r.statusCode, r.body).toBe(200);
    const points: { Iteration?: number; Value: number }[] = r.json().metrics[metric] ?? [];
    return points.map((p, i) => ({ step: p.Iteration ?? i, value: p.Value }));
  };

  /**
   * Checks each trial against the reference its predecessors give: a trial the rule condemns at
   * some round stopped itself right after that round, with the rule's reason; the others completed.
   */
  async function expectJudgedAtTheStep(
    name: string,
    metric: string,
    referenceFor: (earlier: { trial: TuningTrial; curve: IntermediatePoint[] }[]) => StoppingReference,
  ): Promise<{ trial: TuningTrial; curve: IntermediatePoint[] }[]> {
    const trials = (await trialsOf(name)).sort((a, b) => a.TrialIndex - b.TrialIndex);
    const seen: { trial: TuningTrial; curve: IntermediatePoint[] }[] = [];
    for (const trial of trials) {
      const curve = await curveOf(trial.TrainingJobName, metric);
      expect(curve.length, trial.TrainingJobName).toBeGreaterThan(0);
      const reference = referenceFor(seen);
      let verdict: StopVerdict | undefined;
      for (let i = 1; i <= curve.length && !verdict; i++) verdict = judgeTrial(reference, curve.slice(0, i));
      if (verdict) {
        expect(trial.TrainingJobStatus, JSON.stringify(trial)).toBe('Stopped');
        expect(verdict.step).toBe(curve.at(-1)!.step);
        expect(trial.EarlyStopReason).toBe(stopReason(verdict));
      } else {
        expect(trial.TrainingJobStatus, JSON.stringify(trial)).toBe('Completed');
        expect(trial.EarlyStopReason).toBeUndefined();
      }
      seen.push({ trial, curve });
    }
    return seen;
  }

  it('early stopping (Auto) stops a clearly bad trial at the step the median rule names, model kept', async () => {
    // Grid order: three good learning rates complete, then eta 0.001 barely moves the logloss.
    const body: CreateTuningJobInput = {
      HyperParameterTuningJobName: 'gbdt-median',
      HyperParameterTuningJobConfig: {
        Strategy: 'Grid',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:logloss' },
        ResourceLimits: { MaxParallelTrainingJobs: 1 },
        TrainingJobEarlyStoppingType: 'Auto',
        ParameterRanges: {
          CategoricalParameterRanges: [{ Name: 'eta', Values: ['0.3', '0.25', '0.2', '0.001'] }],
        },
      },
      TrainingJobDefinition: gbdtDefinition({ num_round: '40', max_depth: '3' }),
    };
    const r = await create(body);
    expect(r.statusCode, r.body).toBe(201);
    const job = await waitEnded('gbdt-median', 90_000);
    expect(job.HyperParameterTuningJobStatus, JSON.stringify(job)).toBe('Completed');
    expect(job.TrainingJobStatusCounters).toMatchObject({ Completed: 3, Stopped: 1, InProgress: 0 });
    expect(job.ObjectiveStatusCounters).toMatchObject({ Succeeded: 4, Pending: 0, Failed: 0 });
    const seen = await expectJudgedAtTheStep('gbdt-median', 'validation:logloss', (earlier) => ({
      rule: 'median',
      direction: 'Minimize',
      medians: medianReference(
        earlier.filter((e) => e.trial.TrainingJobStatus === 'Completed').map((e) => e.curve),
      ),
    }));
    const bad = seen.find((e) => e.trial.TunedHyperParameters.eta === '0.001')!;
    expect(bad.trial.TrainingJobStatus).toBe('Stopped');
    expect(bad.trial.EarlyStopReason).toMatch(
      /^median rule: running average .* at step \d+ is worse than the median/,
    );
    expect(bad.curve.length).toBeLessThan(40);
    expect(job.BestTrainingJob!.TunedHyperParameters.eta).not.toBe('0.001');
    // The trial is an ordinary training job: given its reference at launch, Stopped with the
    // reason in its status transitions, its objective and the model of the rounds it ran.
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${bad.trial.TrainingJobName}`,
      headers: t.auth(),
    });
    const view = child.json();
    expect(view.TrainingJobStatus).toBe('Stopped');
    expect(view.SecondaryStatusTransitions.at(-1).StatusMessage).toBe(
      `Stopped early: ${bad.trial.EarlyStopReason}`,
    );
    expect(parseStoppingReference(view.HyperParameters._tuning_stop_rule)).toMatchObject({
      rule: 'median',
      direction: 'Minimize',
    });
    expect(
      view.FinalMetricDataList.find((m: { MetricName: string }) => m.MetricName === 'validation:logloss'),
    ).toBeDefined();
    const model = new URL(view.ModelArtifacts.S3ModelArtifacts);
    expect(
      (await t.platform.blobs.head({ bucket: model.host, key: model.pathname.slice(1) })).size,
    ).toBeGreaterThan(0);
    // The SageMaker door says why, to a viewer too.
    const viewer = await client('viewer');
    const listed = await viewer.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'gbdt-median' }),
    );
    const summary = listed.TrainingJobSummaries!.find(
      (x) => x.TrainingJobName === bad.trial.TrainingJobName,
    )!;
    expect(summary.TrainingJobStatus).toBe('Stopped');
    expect(summary.FailureReason).toBe(bad.trial.EarlyStopReason);
    const described = await viewer.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'gbdt-median' }),
    );
    expect(described.TrainingJobStatusCounters).toMatchObject({ Completed: 3, Stopped: 1 });
  }, 120_000);

  it('Hyperband stops trials outside the top third at a rung, at that rung', async () => {
    const body: CreateTuningJobInput = {
      HyperParameterTuningJobName: 'gbdt-hyperband',
      HyperParameterTuningJobConfig: {
        Strategy: 'Hyperband',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:logloss' },
        ResourceLimits: { MaxNumberOfTrainingJobs: 6, MaxParallelTrainingJobs: 1 },
        StrategyConfig: { HyperbandStrategyConfig: { MinResource: 3, MaxResource: 27 } },
        ParameterRanges: {
          ContinuousParameterRanges: [
            { Name: 'eta', MinValue: '0.001', MaxValue: '0.5', ScalingType: 'Logarithmic' },
          ],
        },
        RandomSeed: 3,
      },
      TrainingJobDefinition: gbdtDefinition({ max_depth: '3' }),
    };
    const r = await create(body);
    expect(r.statusCode, r.body).toBe(201);
    const job = await waitEnded('gbdt-hyperband', 90_000);
    expect(job.HyperParameterTuningJobStatus, JSON.stringify(job)).toBe('Completed');
    const rungs = hyperbandRungs(3, 27);
    const seen = await expectJudgedAtTheStep('gbdt-hyperband', 'validation:logloss', (earlier) => ({
      rule: 'hyperband',
      direction: 'Minimize',
      cutoffs: hyperbandCutoffs(
        'Minimize',
        rungs,
        earlier.map((e) => e.curve),
      ),
    }));
    const stopped = seen.filter((e) => e.trial.TrainingJobStatus === 'Stopped');
    expect(stopped.length).toBeGreaterThan(0);
    for (const e of stopped) {
      expect(e.trial.EarlyStopReason).toMatch(/^Hyperband: .* at rung (3|9) is outside the top third/);
      expect(e.curve.length).toBeLessThan(27);
    }
    expect(job.TrainingJobStatusCounters).toMatchObject({
      Completed: 6 - stopped.length,
      Stopped: stopped.length,
      InProgress: 0,
    });
    // Every trial runs up to MaxResource rounds unless a rung cuts it.
    const child = await t.app.inject({
      method: 'GET',
      url: `/api/v1/training-jobs/${seen[0]!.trial.TrainingJobName}`,
      headers: t.auth(),
    });
    expect(child.json().HyperParameters.num_round).toBe('27');
  }, 120_000);
});

describe.skipIf(!built)('tuning jobs: the SageMaker door', () => {
  const awsError = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (error) {
      if (error instanceof SageMakerServiceException) return { name: error.name, message: error.message };
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it('creates, describes, lists trials with objectives and stops through @aws-sdk/client-sagemaker', async () => {
    const sm = await client('developer');
    const viewer = await client('viewer');
    // The SDK's model requires RoleArn and TrainingInputMode, as AWS does.
    const native = tuning('sm-rnd', 'Random', {
      ResourceLimits: { MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2 },
    });
    const body = {
      ...native,
      TrainingJobDefinition: {
        ...native.TrainingJobDefinition,
        RoleArn: 'arn:aws:iam::000000000000:role/tuning',
        AlgorithmSpecification: {
          ...native.TrainingJobDefinition.AlgorithmSpecification,
          TrainingInputMode: 'File',
        },
      },
    };
    const created = await sm.send(new CreateHyperParameterTuningJobCommand(body as never));
    expect(created.HyperParameterTuningJobArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:hyper-parameter-tuning-job/sm-rnd',
    );
    expect(await awsError(sm.send(new CreateHyperParameterTuningJobCommand(body as never)))).toMatchObject({
      name: 'ResourceInUse',
    });
    expect(
      await awsError(
        viewer.send(
          new CreateHyperParameterTuningJobCommand({ ...body, HyperParameterTuningJobName: 'sm-v' } as never),
        ),
      ),
    ).toMatchObject({
      name: 'AccessDeniedException',
    });
    const bad = await awsError(
      sm.send(
        new CreateHyperParameterTuningJobCommand({
          ...body,
          HyperParameterTuningJobName: 'sm-bad',
          HyperParameterTuningJobConfig: {
            ...body.HyperParameterTuningJobConfig,
            ParameterRanges: { ContinuousParameterRanges: [{ Name: 'x1', MinValue: '5', MaxValue: '1' }] },
          },
        } as never),
      ),
    );
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toContain('ContinuousParameterRanges.0.MinValue');
    let described = await viewer.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'sm-rnd' }),
    );
    const deadline = Date.now() + 60_000;
    while (described.HyperParameterTuningJobStatus === 'InProgress' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      described = await viewer.send(
        new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'sm-rnd' }),
      );
    }
    expect(described.HyperParameterTuningJobStatus).toBe('Completed');
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(described.TrainingJobStatusCounters).toMatchObject({ Completed: 4 });
    expect(described.BestTrainingJob?.FinalHyperParameterTuningJobObjectiveMetric?.MetricName).toBe(
      'objective',
    );
    const first = await viewer.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'sm-rnd',
        SortBy: 'FinalObjectiveMetricValue',
        SortOrder: 'Ascending',
        MaxResults: 3,
      }),
    );
    expect(first.TrainingJobSummaries).toHaveLength(3);
    expect(first.TrainingJobSummaries![0]!.TrainingJobName).toBe(described.BestTrainingJob!.TrainingJobName);
    const rest = await viewer.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: 'sm-rnd',
        SortBy: 'FinalObjectiveMetricValue',
        SortOrder: 'Ascending',
        NextToken: first.NextToken!,
      }),
    );
    expect(rest.TrainingJobSummaries).toHaveLength(1);
    const listed = await viewer.send(new ListHyperParameterTuningJobsCommand({ NameContains: 'sm-rnd' }));
    expect(listed.HyperParameterTuningJobSummaries?.map((s) => s.HyperParameterTuningJobName)).toEqual([
      'sm-rnd',
    ]);
    expect(
      await awsError(
        sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'sm-rnd' })),
      ),
    ).toMatchObject({
      name: 'ValidationException',
    });
    expect(
      await awsError(
        viewer.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: 'nope' })),
      ),
    ).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Could not find') });
  }, 60_000);
});
