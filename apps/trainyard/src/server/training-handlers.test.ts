import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CreateTrainingJobInput, TrainingJob } from '@trainyard/contracts/training-jobs';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { importXgboostModel } from '@trainyard/ml/formats/xgboost-json';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countGpus } from '../gpu-count.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild } from '../testing/server-process.js';

// The built-in algorithms run as the built entry script; the checks compare with python3-xgboost and scikit-learn.
const built = requireBuild();
/** SageMaker-style scikit-learn entry point; endpoint-containers.test.ts serves what it trains. */
const sklearnTrainPy = readFileSync(new URL('../../fixtures/sklearn/train.py', import.meta.url), 'utf8');

const hasPython = requireDependency(
  'xgboost, scikit-learn, pandas and joblib for /usr/bin/python3',
  () => canImportPython('xgboost, sklearn, pandas, joblib'),
  'apt-get install python3-xgboost python3-sklearn python3-pandas python3-joblib',
);

/** Runs Debian's python3; a missing package fails the test naming what to install. */
function python(script: string, args: string[] = []): string {
  const run = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (run.status !== 0) {
    const missing = /No module named '([\w.]+)'/.exec(run.stderr)?.[1];
    if (missing)
      throw new Error(
        `this test needs python3-${missing.split('.')[0]} (apt-get install python3-xgboost python3-sklearn)`,
      );
    throw new Error(run.stderr);
  }
  return run.stdout;
}

let t: TestServer & { baseUrl: string };
let hook: Server;
/** Webhook deliveries of `trainyard.training-job.state-change`, in arrival order. */
const hooked: { resource: { name: string }; detail: { state: string; previousState?: string } }[] = [];
let client: TrainyardClient;
let s3: S3Client;
const scratch = mkdtempSync(join(tmpdir(), 'training-test-'));

/** Deterministic binary-classification rows, label first. */
function rows(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const x = Array.from({ length: 5 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
    const z = x[0]! * 1.5 - x[1]! + 0.5 * x[2]! * x[3]! + (rnd() - 0.5) * 1.5;
    return [z > 0 ? 1 : 0, ...x];
  });
}

const put = (key: string, body: string | Buffer) =>
  s3.send(new PutObjectCommand({ Bucket: 'work', Key: key, Body: body }));

async function waitFor(name: string, statuses = ['Completed', 'Failed', 'Stopped']): Promise<TrainingJob> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = await client.call('describeTrainingJob', { params: { name } });
    if (statuses.includes(job.TrainingJobStatus)) return job;
    if (Date.now() > deadline)
      throw new Error(`${name} still ${job.TrainingJobStatus}/${job.SecondaryStatus}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function logText(name: string): Promise<string> {
  const page = await client.call('getTrainingJobLogs', { params: { name }, query: { limit: 10_000 } });
  return page.events.map((e) => e.message).join('\n');
}

function sourceDir(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(scratch, 'src-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const archive = join(dir, '..', `${Math.random().toString(36).slice(2)}.tar.gz`);
  execFileSync('tar', ['-czf', archive, '-C', dir, ...Object.keys(files)]);
  return readFileSync(archive);
}

const base = (name: string): CreateTrainingJobInput => ({
  TrainingJobName: name,
  AlgorithmSpecification: {
    TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
  },
  OutputDataConfig: { S3OutputPath: 's3://work/models' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
  StoppingCondition: { MaxRuntimeInSeconds: 600 },
  InputDataConfig: [
    {
      ChannelName: 'train',
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/data/train/' } },
    },
    {
      ChannelName: 'validation',
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/data/validation/' } },
    },
  ],
});

const scriptJob = (
  name: string,
  program: string,
  submit: string,
  extra: Partial<CreateTrainingJobInput> = {},
): CreateTrainingJobInput => ({
  ...base(name),
  AlgorithmSpecification: {
    TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
  },
  HyperParameters: {
    sagemaker_program: JSON.stringify(program),
    sagemaker_submit_directory: JSON.stringify(submit),
  },
  InputDataConfig: [base(name).InputDataConfig![0]!],
  ...extra,
});

beforeAll(async () => {
  t = await openTestServer(
    {
      workerConcurrency: 2,
      jobStopGraceSeconds: 1,
      jobVisibilityTimeoutSeconds: 2,
      // The webhook receiver of these tests listens on 127.0.0.1.
      webhookAllowedNetworks: ['127.0.0.1'],
    },
    { listen: true },
  );
  await t.platform.jobs.startWorker();
  client = new TrainyardClient({ endpoint: t.baseUrl, key: t.adminKey });
  const key = await t.platform.keys.create('training-s3', 'developer');
  s3 = new S3Client({
    endpoint: t.baseUrl,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'work' }));
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooked.push(JSON.parse(JSON.parse(Buffer.concat(chunks).toString()).message));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const topic = 'trainyard.training-job.state-change';
  await t.app.inject({ method: 'POST', url: '/api/v1/topics', headers: t.auth(), payload: { name: topic } });
  const sub = await t.app.inject({
    method: 'POST',
    url: `/api/v1/topics/${topic}/subscriptions`,
    headers: t.auth(),
    payload: {
      endpoint: { kind: 'http', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
    },
  });
  expect(sub.statusCode, sub.body).toBe(201);
  const csv = (r: number[][]) => `${r.map((row) => row.join(',')).join('\n')}\n`;
  await put('data/train/part-1.csv', csv(rows(800, 7)));
  await put('data/validation/part-1.csv', csv(rows(300, 11)));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await t?.close();
  hook?.closeAllConnections();
  await new Promise((r) => hook?.close(r));
  rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(!built || !hasPython)('training jobs: built-in XGBoost', () => {
  it('trains from CSV to Completed; model.tar.gz holds an xgboost-model python3-xgboost predicts the same with; the evaluation report equals scikit-learn', async () => {
    const created = await client.call('createTrainingJob', {
      body: {
        ...base('xgb-1'),
        HyperParameters: {
          objective: 'binary:logistic',
          num_round: '40',
          max_depth: '3',
          eta: '0.3',
          eval_metric: 'rmse,auc',
          early_stopping_rounds: '5',
        },
      },
    });
    expect(created.TrainingJobStatus).toBe('InProgress');
    expect(created.ModelArtifacts.S3ModelArtifacts).toBe('s3://work/models/xgb-1/output/model.tar.gz');
    const job = await waitFor('xgb-1');
    expect(job.FailureReason).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.SecondaryStatusTransitions.map((s) => s.Status)).toEqual([
      'Pending',
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    expect(job.SecondaryStatusTransitions.every((s) => s.StartTime && s.EndTime)).toBe(true);
    const finals = Object.fromEntries((job.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value]));
    expect(Object.keys(finals).sort()).toEqual([
      'train:auc',
      'train:rmse',
      'validation:auc',
      'validation:rmse',
    ]);
    expect(finals['validation:auc']).toBeGreaterThan(0.8);
    expect(job.BillableTimeInSeconds).toBeGreaterThanOrEqual(0);
    expect(job.EstimatedCostUsd).toBeGreaterThanOrEqual(0);
    const log = await logText('xgb-1');
    expect(log).toMatch(
      /^\[0\]\ttrain-rmse:[0-9.]+\ttrain-auc:[0-9.]+\tvalidation-rmse:[0-9.]+\tvalidation-auc:[0-9.]+$/m,
    );
    const series = await client.call('getTrainingJobMetrics', { params: { name: 'xgb-1' } });
    expect(series.metrics['validation:auc']!.map((p) => p.Iteration)).toEqual(
      series.metrics['validation:auc']!.map((_, i) => i),
    );

    const object = await s3.send(
      new GetObjectCommand({ Bucket: 'work', Key: 'models/xgb-1/output/model.tar.gz' }),
    );
    const dir = mkdtempSync(join(scratch, 'model-'));
    writeFileSync(join(dir, 'model.tar.gz'), await object.Body!.transformToByteArray());
    expect(execFileSync('tar', ['-tzf', join(dir, 'model.tar.gz')], { encoding: 'utf8' }).trim()).toBe(
      'xgboost-model',
    );
    execFileSync('tar', ['-xzf', join(dir, 'model.tar.gz'), '-C', dir]);

    const validation = rows(300, 11);
    writeFileSync(join(dir, 'validation.json'), JSON.stringify(validation));
    const theirs = JSON.parse(
      python(
        `
import json, sys, numpy as np, xgboost as xgb
from sklearn import metrics
rows = np.array(json.load(open(sys.argv[1])), dtype=np.float32)
y, x = rows[:, 0], rows[:, 1:]
b = xgb.Booster(); b.load_model(sys.argv[2])
p = b.predict(xgb.DMatrix(x))
label = (p >= 0.5).astype(int)
prec, rec, f1, support = metrics.precision_recall_fscore_support(y, label)
print(json.dumps({"pred": p.tolist(), "auc": metrics.roc_auc_score(y, p), "ap": metrics.average_precision_score(y, p),
  "accuracy": metrics.accuracy_score(y, label), "cm": metrics.confusion_matrix(y, label).tolist(),
  "precision": prec.tolist(), "recall": rec.tolist(), "f1": f1.tolist()}))
`,
        [join(dir, 'validation.json'), join(dir, 'xgboost-model')],
      ),
    );
    const x = DenseMatrix.fromRows(validation.map((r) => r.slice(1)));
    const ours = importXgboostModel(readFileSync(join(dir, 'xgboost-model'))).predict(x);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs.pred[i]));
    expect(worst).toBeLessThan(1e-5);

    const report = job.EvaluationReport!;
    expect(report.type).toBe('classification');
    if (report.type !== 'classification') return;
    expect(report.channel).toBe('validation');
    expect(report.confusionMatrix).toEqual(theirs.cm);
    expect(report.accuracy).toBeCloseTo(theirs.accuracy, 10);
    expect(report.roc!.auc).toBeCloseTo(theirs.auc, 6);
    expect(report.pr!.averagePrecision).toBeCloseTo(theirs.ap, 6);
    report.perClass.forEach((c, i) => {
      expect(c.precision).toBeCloseTo(theirs.precision[i], 10);
      expect(c.recall).toBeCloseTo(theirs.recall[i], 10);
      expect(c.f1).toBeCloseTo(theirs.f1[i], 10);
    });
    const [[tn, fp], [fn, tp]] = theirs.cm as number[][];
    expect(report.perClass[1]!.falsePositiveRate).toBeCloseTo(fp! / (fp! + tn!), 10);
    expect(report.perClass[1]!.falseNegativeRate).toBeCloseTo(fn! / (fn! + tp!), 10);
    expect(report.calibration!.reduce((a, b) => a + b.count, 0)).toBe(300);
  }, 60_000);

  it('streams the log as server-sent events: status, log lines with ids, end; Last-Event-ID resumes', async () => {
    const parse = (body: string) =>
      body
        .trim()
        .split('\n\n')
        .map((block) => {
          const lines = Object.fromEntries(
            block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
          );
          return { event: lines.event, id: lines.id, data: JSON.parse(lines.data ?? 'null') };
        });
    const all = await t.app.inject({
      method: 'GET',
      url: '/api/v1/training-jobs/xgb-1/logs/stream',
      headers: t.auth(),
    });
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-type']).toContain('text/event-stream');
    const events = parse(all.body);
    expect(events[0]).toMatchObject({ event: 'status', data: { TrainingJobStatus: 'Completed' } });
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { TrainingJobStatus: 'Completed' } });
    const logs = events.filter((e) => e.event === 'log');
    expect(logs.map((e) => Number(e.id))).toEqual(logs.map((_, i) => i + 1));
    expect(logs.some((e) => /^\[0\]\ttrain-rmse/.test(e.data.message))).toBe(true);
    const resumed = parse(
      (
        await t.app.inject({
          method: 'GET',
          url: '/api/v1/training-jobs/xgb-1/logs/stream',
          headers: { ...t.auth(), 'last-event-id': String(logs.length - 2) },
        })
      ).body,
    ).filter((e) => e.event === 'log');
    expect(resumed.map((e) => e.id)).toEqual(logs.slice(-2).map((e) => e.id));
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/v1/training-jobs/nope/logs/stream',
      headers: t.auth(),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('trains from a dataset version (Parquet, label = its target column) with a LIBSVM validation channel', async () => {
    const header = 'f1,f2,label,f3,f4,f5';
    const train = rows(400, 3).map((r) => [r[1], r[2], r[0], r[3], r[4], r[5]].join(','));
    await put('raw/dataset.csv', `${header}\n${train.join('\n')}\n`);
    await t.platform.datasets.createVersionFromUri('xgb-train', 's3://work/raw/dataset.csv', {
      ingest: { format: 'csv', target: 'label' },
    });
    const libsvm = rows(100, 5).map(
      (r) =>
        `${r[0]} ${r
          .slice(1)
          .map((v, j) => `${j}:${v}`)
          .join(' ')}`,
    );
    await put('data/libsvm/validation.libsvm', `${libsvm.join('\n')}\n`);
    await client.call('createTrainingJob', {
      body: {
        ...base('xgb-ds'),
        AlgorithmSpecification: { AlgorithmName: 'xgboost' },
        HyperParameters: { objective: 'binary:logistic', num_round: '20', eval_metric: 'auc' },
        InputDataConfig: [
          { ChannelName: 'train', DataSource: { DatasetSource: { DatasetName: 'xgb-train' } } },
          {
            ChannelName: 'validation',
            ContentType: 'text/libsvm',
            DataSource: { S3DataSource: { S3Uri: 's3://work/data/libsvm/' } },
          },
        ],
      },
    });
    const job = await waitFor('xgb-ds');
    const log = await logText('xgb-ds');
    expect(job.FailureReason, log).toBeUndefined();
    expect(log).toContain('label column "label"');
    expect(log).toContain('channel train: 400 rows x 5 features');
    expect(log).toContain('channel validation: 100 rows x 5 features');
    expect(job.FinalMetricDataList?.find((m) => m.MetricName === 'validation:auc')?.Value).toBeGreaterThan(
      0.8,
    );
  }, 60_000);

  it('refuses a missing channel, an unknown hyperparameter and an unknown instance type, naming the field', async () => {
    const refused = async (body: CreateTrainingJobInput) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/training-jobs',
        headers: t.auth(),
        payload: body,
      });
      expect(response.statusCode).toBe(400);
      return response.json() as { error: { code: string; message: string; field?: string } };
    };
    const noTrain = await refused({
      ...base('bad-1'),
      HyperParameters: { num_round: '5' },
      InputDataConfig: [base('bad-1').InputDataConfig![1]!],
    });
    expect(noTrain.error.message).toMatch(/InputDataConfig.*"train" channel/);
    const unknown = await refused({ ...base('bad-2'), HyperParameters: { num_round: '5', max_dept: '3' } });
    expect(unknown.error.field).toBe('HyperParameters.max_dept');
    // A tuner's stop reference is checked like any value the platform reads itself.
    const rule = await refused({
      ...base('bad-rule'),
      HyperParameters: { num_round: '5', _tuning_stop_rule: '{"rule":"median","direction":"Sideways"}' },
    });
    expect(rule.error.field).toBe('HyperParameters._tuning_stop_rule');
    expect(rule.error.message).toMatch(/direction must be Minimize or Maximize/);
    const type = await refused({
      ...base('bad-3'),
      HyperParameters: { num_round: '5' },
      ResourceConfig: { InstanceType: 'ml.q9.huge', InstanceCount: 1, VolumeSizeInGB: 1 },
    });
    expect(type.error.field).toBe('ResourceConfig.InstanceType');
    expect(type.error.message).toContain('ml.q9.huge');
    // A type with more GPUs than this host has: refused, saying so.
    const gpuType = await t.app.inject({
      method: 'POST',
      url: '/api/v1/instance-types',
      headers: t.auth(),
      payload: {
        name: 'ml.g4dn.xlarge',
        vcpus: 4,
        memoryMiB: 16384,
        gpus: countGpus() + 1,
        pricePerHour: 0.736,
      },
    });
    expect(gpuType.statusCode, gpuType.body).toBe(201);
    const gpu = await t.app.inject({
      method: 'POST',
      url: '/api/v1/training-jobs',
      headers: t.auth(),
      payload: {
        ...base('bad-4'),
        HyperParameters: { num_round: '5' },
        ResourceConfig: { InstanceType: 'ml.g4dn.xlarge', InstanceCount: 1, VolumeSizeInGB: 1 },
      },
    });
    expect(gpu.statusCode).toBe(412);
    expect(gpu.json().error).toMatchObject({
      code: 'FAILED_PRECONDITION',
      field: 'ResourceConfig.InstanceType',
    });
    expect(gpu.json().error.message).toContain(
      `has ${countGpus() + 1} GPU(s); the workers here have ${countGpus()}`,
    );
  });
});

describe.skipIf(!hasPython)('training jobs: script mode', () => {
  it('runs a SageMaker scikit-learn train.py from sourcedir.tar.gz with argparse hyperparameters and SM_* env', async () => {
    await put(
      'code/sklearn/sourcedir.tar.gz',
      sourceDir({
        'train.py': sklearnTrainPy,
        'requirements.txt': 'pandas>=1.0\nscikit-learn\n',
      }),
    );
    await client.call('createTrainingJob', {
      body: scriptJob('sk-1', 'train.py', 's3://work/code/sklearn/sourcedir.tar.gz', {
        HyperParameters: {
          sagemaker_program: '"train.py"',
          sagemaker_submit_directory: '"s3://work/code/sklearn/sourcedir.tar.gz"',
          C: '0.5',
          'max-iter': '200',
        },
        AlgorithmSpecification: {
          TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
          MetricDefinitions: [{ Name: 'train:accuracy', Regex: 'train accuracy=([0-9.]+);' }],
        },
      }),
    });
    const job = await waitFor('sk-1');
    const log = await logText('sk-1');
    expect(job.FailureReason, log).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(log).toContain('hosts ["algo-1"] current algo-1 cpus 2');
    expect(log).toContain('hps {"C":"0.5","max-iter":"200"}');
    expect(job.FinalMetricDataList?.find((m) => m.MetricName === 'train:accuracy')?.Value).toBeGreaterThan(
      0.7,
    );
    const object = await s3.send(
      new GetObjectCommand({ Bucket: 'work', Key: 'models/sk-1/output/model.tar.gz' }),
    );
    const dir = mkdtempSync(join(scratch, 'sk-'));
    writeFileSync(join(dir, 'model.tar.gz'), await object.Body!.transformToByteArray());
    expect(execFileSync('tar', ['-tzf', join(dir, 'model.tar.gz')], { encoding: 'utf8' }).trim()).toBe(
      'model.joblib',
    );
  }, 60_000);

  it('runs a TypeScript entry point on Node, one process per instance with its own resourceconfig.json', async () => {
    await put(
      'code/ts/sourcedir.tar.gz',
      sourceDir({
        'train.ts': `
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epochs } from './helper.ts';
const config = JSON.parse(readFileSync(join(process.env.SM_INPUT_CONFIG_DIR!, 'resourceconfig.json'), 'utf8')) as { current_host: string; hosts: string[] };
const args: string[] = process.argv.slice(2);
console.log(\`host \${config.current_host} of \${config.hosts.join(',')} args \${args.join(' ')} epochs \${epochs()}\`);
writeFileSync(join(process.env.SM_MODEL_DIR!, 'model.txt'), config.current_host);
writeFileSync(join(process.env.SM_MODEL_DIR!, \`part-\${config.current_host}.txt\`), config.current_host);
`,
        'helper.ts': 'export const epochs = (): number => 3;\n',
      }),
    );
    await client.call('createTrainingJob', {
      body: scriptJob('ts-1', 'train.ts', 's3://work/code/ts/sourcedir.tar.gz', {
        HyperParameters: {
          sagemaker_program: 'train.ts',
          sagemaker_submit_directory: 's3://work/code/ts/sourcedir.tar.gz',
          lr: '0.1',
        },
        ResourceConfig: { InstanceType: 'ml.t3.medium', InstanceCount: 2, VolumeSizeInGB: 1 },
      }),
    });
    const job = await waitFor('ts-1');
    const log = await logText('ts-1');
    expect(job.FailureReason, log).toBeUndefined();
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(log).toContain('host algo-1 of algo-1,algo-2 args --lr 0.1 epochs 3');
    expect(log).toContain('host algo-2 of algo-1,algo-2 args --lr 0.1 epochs 3');
    expect(job.BillableTimeInSeconds! % 2).toBe(0);
    // Every instance's model folder in one archive, as SageMaker aggregates them; on the clash
    // (both wrote model.txt) algo-1's copy is kept and the log says so.
    const object = await s3.send(
      new GetObjectCommand({ Bucket: 'work', Key: 'models/ts-1/output/model.tar.gz' }),
    );
    const dir = mkdtempSync(join(scratch, 'ts-'));
    writeFileSync(join(dir, 'model.tar.gz'), await object.Body!.transformToByteArray());
    expect(
      execFileSync('tar', ['-tzf', join(dir, 'model.tar.gz')], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .sort(),
    ).toEqual(['model.txt', 'part-algo-1.txt', 'part-algo-2.txt']);
    expect(execFileSync('tar', ['-xzOf', join(dir, 'model.tar.gz'), 'model.txt'], { encoding: 'utf8' })).toBe(
      'algo-1',
    );
    expect(log).toContain("model: 1 file(s) written by more than one instance, algo-1's kept: model.txt");
  }, 60_000);

  it('ends a failing script Failed with its message, and a requirements.txt naming a missing package Failed naming it', async () => {
    await put(
      'code/fail/sourcedir.tar.gz',
      sourceDir({
        'train.py': `import os, sys
open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("column 3 has text 'abc' on line 9")
sys.exit(3)
`,
      }),
    );
    await put(
      'code/req/sourcedir.tar.gz',
      sourceDir({ 'train.py': 'print("never")\n', 'requirements.txt': 'numpy\nno-such-package-xyz==1.0\n' }),
    );
    await client.call('createTrainingJob', {
      body: scriptJob('fail-1', 'train.py', 's3://work/code/fail/sourcedir.tar.gz'),
    });
    await client.call('createTrainingJob', {
      body: scriptJob('req-1', 'train.py', 's3://work/code/req/sourcedir.tar.gz'),
    });
    const failedJob = await waitFor('fail-1');
    expect(failedJob.TrainingJobStatus).toBe('Failed');
    expect(failedJob.FailureReason).toBe("column 3 has text 'abc' on line 9");
    const req = await waitFor('req-1');
    expect(req.TrainingJobStatus).toBe('Failed');
    expect(req.FailureReason).toMatch(/not installed.*no-such-package-xyz$/);
    expect(req.FailureReason).not.toContain('numpy');
  }, 60_000);

  it('shows metrics while a job runs; Stop ends it within its grace; MaxRuntimeInSeconds ends one Stopped/MaxRuntimeExceeded', async () => {
    await put(
      'code/forever/sourcedir.tar.gz',
      sourceDir({
        'train.py':
          'import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print("ignoring SIGTERM", flush=True))\nprint("started", flush=True)\nfor epoch in range(3): print(f"epoch {epoch} loss={1 / (epoch + 2):.4f};", flush=True)\nwhile True: time.sleep(0.1)\n',
      }),
    );
    await client.call('createTrainingJob', {
      body: scriptJob('stop-1', 'train.py', 's3://work/code/forever/sourcedir.tar.gz', {
        AlgorithmSpecification: {
          TrainingImage: 'python:3',
          MetricDefinitions: [{ Name: 'train:loss', Regex: 'loss=([0-9.]+);' }],
        },
      }),
    });
    await client.call('createTrainingJob', {
      body: scriptJob('maxrt-1', 'train.py', 's3://work/code/forever/sourcedir.tar.gz', {
        StoppingCondition: { MaxRuntimeInSeconds: 2 },
      }),
    });
    await waitFor('stop-1', ['InProgress']);
    let running: TrainingJob;
    for (;;) {
      running = await client.call('describeTrainingJob', { params: { name: 'stop-1' } });
      if (running.SecondaryStatus === 'Training' && running.FinalMetricDataList) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(running.TrainingJobStatus).toBe('InProgress');
    // The event stream delivers lines while the job runs (the SDK over a real connection, closed by us).
    const abort = new AbortController();
    const seen: { event: string; data: unknown }[] = [];
    try {
      for await (const e of client.events(
        'streamTrainingJobLogs',
        { params: { name: 'stop-1' } },
        { signal: abort.signal },
      )) {
        seen.push(e);
        if (e.event === 'log' && (e.data as { message: string }).message.includes('loss=0.2500')) break;
      }
    } finally {
      abort.abort();
    }
    expect(seen[0]).toEqual({
      event: 'status',
      data: expect.objectContaining({ TrainingJobStatus: 'InProgress', SecondaryStatus: 'Training' }),
    });
    expect(
      seen.filter((e) => e.event === 'log').map((e) => (e.data as { message: string }).message),
    ).toContain('epoch 0 loss=0.5000;');
    for (;;) {
      const live = await client.call('getTrainingJobMetrics', { params: { name: 'stop-1' } });
      if (live.metrics['train:loss']?.length === 3) {
        expect(live.metrics['train:loss'].map((p) => p.Value)).toEqual([0.5, 0.3333, 0.25]);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const asked = Date.now();
    await client.call('stopTrainingJob', { params: { name: 'stop-1' } });
    const stopped = await waitFor('stop-1');
    expect(stopped.TrainingJobStatus).toBe('Stopped');
    expect(stopped.SecondaryStatus).toBe('Stopped');
    expect(stopped.FinalMetricDataList).toEqual([
      expect.objectContaining({ MetricName: 'train:loss', Value: 0.25 }),
    ]);
    expect(Date.now() - asked).toBeLessThan(5000);
    const maxed = await waitFor('maxrt-1');
    expect(maxed.TrainingJobStatus).toBe('Stopped');
    expect(maxed.SecondaryStatus).toBe('MaxRuntimeExceeded');
  }, 60_000);

  it('deletes an ended job (its name is free again) and refuses to delete a running one', async () => {
    await client.call('createTrainingJob', {
      body: scriptJob('del-1', 'train.py', 's3://work/code/forever/sourcedir.tar.gz'),
    });
    await waitFor('del-1', ['InProgress']);
    const running = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/training-jobs/del-1',
      headers: t.auth(),
    });
    expect(running.statusCode).toBe(412);
    expect(running.json().error.message).toMatch(/only an ended job can be deleted/);
    await client.call('stopTrainingJob', { params: { name: 'del-1' } });
    await waitFor('del-1');
    expect(await client.call('deleteTrainingJob', { params: { name: 'del-1' } })).toMatchObject({
      TrainingJobName: 'del-1',
    });
    const gone = await t.app.inject({ method: 'GET', url: '/api/v1/training-jobs/del-1', headers: t.auth() });
    expect(gone.statusCode).toBe(404);
    const again = await client.call('createTrainingJob', {
      body: scriptJob('del-1', 'train.py', 's3://work/code/forever/sourcedir.tar.gz', {
        StoppingCondition: { MaxRuntimeInSeconds: 1 },
      }),
    });
    expect(again.TrainingJobStatus).toBe('InProgress');
    await waitFor('del-1');
  }, 60_000);
});

describe.skipIf(!built || !hasPython)('training job events', () => {
  it("a webhook subscriber receives each job's state changes in order", async () => {
    const states = (name: string) =>
      hooked.filter((e) => e.resource.name === name).map((e) => e.detail.state);
    const until = Date.now() + 10_000;
    while (states('maxrt-1').length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(states('xgb-1')).toEqual(['InProgress', 'Completed']);
    expect(states('fail-1')).toEqual(['InProgress', 'Failed']);
    expect(states('stop-1')).toEqual(['InProgress', 'Stopping', 'Stopped']);
    expect(states('maxrt-1')).toEqual(['InProgress', 'Stopped']);
    expect(
      hooked.find((e) => e.resource.name === 'stop-1' && e.detail.state === 'Stopped')?.detail.previousState,
    ).toBe('Stopping');
  });
});
