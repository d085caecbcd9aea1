import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTuningJobBody, type CreateTuningJobInput } from '@trainyard/contracts/tuning-jobs';
import type { TrialState, TuningState } from '@trainyard/core/tuning/tuning-job-service';
import { childBody, childTrainingJobName, type ResolvedTuningSpec } from '@trainyard/core/tuning/tuning-spec';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../config.js';
import { openPlatform, type Platform } from '../platform.js';
import { requireBuild } from '../testing/server-process.js';

const built = requireBuild();
const dataDir = mkdtempSync(join(tmpdir(), 'tuning-restart-'));
const config = loadServerConfig({
  env: {},
  cwd: dataDir,
  flags: {
    dataDir,
    adminKey: 'restart-admin-key-0123456789',
    logLevel: 'silent',
    port: 0,
    workerConcurrency: 3,
    jobStopGraceSeconds: 1,
    jobVisibilityTimeoutSeconds: 2,
  },
});

const script = `
const a = process.argv.slice(2); const hp = {};
for (let i = 0; i < a.length; i += 2) hp[a[i].replace(/^--/, '')] = Number(a[i + 1]);
await new Promise((r) => setTimeout(r, 400));
console.log('objective=' + ((hp.x - 3) ** 2) + ';');
`;

const body = (name: string, jobs: number): CreateTuningJobInput => ({
  HyperParameterTuningJobName: name,
  HyperParameterTuningJobConfig: {
    Strategy: 'Bayesian',
    HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'objective' },
    ResourceLimits: { MaxNumberOfTrainingJobs: jobs, MaxParallelTrainingJobs: 2 },
    ParameterRanges: { ContinuousParameterRanges: [{ Name: 'x', MinValue: '-10', MaxValue: '10' }] },
    RandomSeed: 3,
  },
  TrainingJobDefinition: {
    AlgorithmSpecification: {
      TrainingImage: 'trainyard/node-script:1',
      MetricDefinitions: [{ Name: 'objective', Regex: 'objective=([-0-9.e]+);' }],
    },
    StaticHyperParameters: { sagemaker_program: 'quad.mjs' },
    InputDataConfig: [
      {
        ChannelName: 'code',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://work/code/' } },
      },
    ],
    OutputDataConfig: { S3OutputPath: 's3://work/out' },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
    StoppingCondition: { MaxRuntimeInSeconds: 120 },
  },
});

async function open(): Promise<Platform> {
  const platform = await openPlatform(config, pino({ level: 'silent' }));
  await platform.jobs.startWorker();
  platform.jobs.startTuner();
  return platform;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every training job whose name starts with the tuning job's. */
async function childrenOf(platform: Platform, name: string): Promise<string[]> {
  const page = await platform.jobs.trainingJobs.list({ nameContains: name, limit: 1000 });
  return page.items.map((j) => j.TrainingJobName).sort();
}

let platform: Platform | undefined;
afterAll(async () => {
  await platform?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!built)('tuning jobs across a restart', () => {
  it('closing and reopening the platform mid-job loses no trial and runs none twice', async () => {
    platform = await open();
    await platform.blobs.createBucket('work');
    await platform.blobs.put({ bucket: 'work', key: 'code/quad.mjs' }, script);
    await platform.jobs.tuningJobs.create(CreateTuningJobBody.parse(body('quad', 6)));
    // Close while trials run and the budget is half spent.
    await until('trials in flight', async () => {
      const job = await platform!.jobs.tuningJobs.describe('quad');
      return job.TrainingJobStatusCounters.Completed >= 1 && job.TrainingJobStatusCounters.InProgress >= 1
        ? job
        : undefined;
    });
    const before = await platform.jobs.tuningJobs.trials('quad');
    await platform.close();
    platform = await open();
    const job = await until('the tuning job to end', async () => {
      const j = await platform!.jobs.tuningJobs.describe('quad');
      return j.HyperParameterTuningJobStatus === 'InProgress' ? undefined : j;
    });
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    const trials = await platform.jobs.tuningJobs.trials('quad');
    expect(trials).toHaveLength(6);
    // The trials known before the restart are the same trials after it (same names, same values).
    for (const b of before) {
      const a = trials.find((x) => x.TrialIndex === b.TrialIndex)!;
      expect(a.TrainingJobName).toBe(b.TrainingJobName);
      expect(a.TunedHyperParameters).toEqual(b.TunedHyperParameters);
    }
    expect(await childrenOf(platform, 'quad')).toEqual(trials.map((x) => x.TrainingJobName).sort());
    expect(
      trials.every((x) => x.TrainingJobStatus === 'Completed' && x.ObjectiveStatus === 'Succeeded'),
    ).toBe(true);
  }, 120_000);

  it('a leader that died between storing a proposal and creating its job: the next one adopts or creates it, once', async () => {
    // Reopen without the tuner, stage what a leader leaves when it dies between storing two
    // proposals and creating their training jobs (the first created, the second not), then start it.
    await platform!.close();
    platform = await openPlatform(config, pino({ level: 'silent' }));
    await platform.jobs.startWorker();
    const p = platform;
    await p.jobs.tuningJobs.create(CreateTuningJobBody.parse(body('crash', 3)));
    const row = await p.metadata.jobs.get('tuning', 'crash');
    const spec = row.spec as ResolvedTuningSpec;
    const at = new Date().toISOString();
    const trial = (index: number, x: string): TrialState => ({
      index,
      name: childTrainingJobName('crash', row.id, index),
      values: { x },
      status: 'Pending',
      createdAt: at,
    });
    const state: TuningState = { trials: [trial(0, '2.5'), trial(1, '-4')] };
    await p.metadata.jobs.update(row.id, { result: state }, { version: row.version });
    await p.jobs.trainingJobs.create(
      childBody(spec.request, state.trials[0]!.name, state.trials[0]!.values, spec.fixedHyperParameters),
    );
    p.jobs.startTuner();
    const job = await until('the staged tuning job to end', async () => {
      const j = await p.jobs.tuningJobs.describe('crash');
      return j.HyperParameterTuningJobStatus === 'InProgress' ? undefined : j;
    });
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    const trials = await p.jobs.tuningJobs.trials('crash');
    expect(trials.map((x) => x.TunedHyperParameters.x).slice(0, 2)).toEqual(['2.5', '-4']);
    expect(trials).toHaveLength(3);
    expect(await childrenOf(p, 'crash')).toEqual(trials.map((x) => x.TrainingJobName).sort());
  }, 120_000);

  it('built-in trials that stop themselves by the median rule: across a restart, none lost or run twice', async () => {
    await platform!.close();
    platform = await open();
    const p = platform;
    // A small noisy binary problem (label first, no header).
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const rows = (n: number) =>
      Array.from({ length: n }, () => {
        const x = Array.from({ length: 4 }, () => Math.round((rnd() * 4 - 2) * 1000) / 1000);
        return [x[0]! * x[1]! + x[2]! + (rnd() - 0.5) > 0 ? 1 : 0, ...x].join(',');
      }).join('\n');
    await p.blobs.put({ bucket: 'work', key: 'gbdt/train/part.csv' }, `${rows(400)}\n`);
    await p.blobs.put({ bucket: 'work', key: 'gbdt/validation/part.csv' }, `${rows(200)}\n`);
    const channel = (name: string) => ({
      ChannelName: name,
      ContentType: 'text/csv',
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: `s3://work/gbdt/${name}/` } },
    });
    // One trial at a time: three good learning rates complete, then two that barely learn.
    const request: CreateTuningJobInput = {
      HyperParameterTuningJobName: 'gbdt-early',
      HyperParameterTuningJobConfig: {
        Strategy: 'Grid',
        HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:logloss' },
        ResourceLimits: { MaxParallelTrainingJobs: 1 },
        TrainingJobEarlyStoppingType: 'Auto',
        ParameterRanges: {
          CategoricalParameterRanges: [{ Name: 'eta', Values: ['0.3', '0.2', '0.25', '0.001', '0.002'] }],
        },
      },
      TrainingJobDefinition: {
        AlgorithmSpecification: { AlgorithmName: 'xgboost' },
        StaticHyperParameters: { objective: 'binary:logistic', num_round: '30', max_depth: '3' },
        InputDataConfig: [channel('train'), channel('validation')],
        OutputDataConfig: { S3OutputPath: 's3://work/out' },
        ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      },
    };
    await p.jobs.tuningJobs.create(CreateTuningJobBody.parse(request));
    await until('two trials done', async () => {
      const job = await p.jobs.tuningJobs.describe('gbdt-early');
      return job.TrainingJobStatusCounters.Completed >= 2 ? job : undefined;
    });
    await p.close();
    platform = await open();
    const q = platform;
    const job = await until('the tuning job to end', async () => {
      const j = await q.jobs.tuningJobs.describe('gbdt-early');
      return j.HyperParameterTuningJobStatus === 'InProgress' ? undefined : j;
    });
    expect(job.HyperParameterTuningJobStatus).toBe('Completed');
    expect(job.TrainingJobStatusCounters).toMatchObject({ Completed: 3, Stopped: 2, InProgress: 0 });
    const trials = await q.jobs.tuningJobs.trials('gbdt-early');
    expect(trials).toHaveLength(5);
    expect(await childrenOf(q, 'gbdt-early')).toEqual(trials.map((x) => x.TrainingJobName).sort());
    for (const bad of trials.filter((x) => x.TrialIndex >= 3)) {
      expect(bad.TrainingJobStatus, JSON.stringify(bad)).toBe('Stopped');
      // Stopped by itself right after the round the median rule names (its last metric point).
      const step = Number(/at step (\d+) is worse than the median/.exec(bad.EarlyStopReason ?? '')?.[1]);
      const curve = (await q.jobs.trainingJobs.metrics(bad.TrainingJobName)).metrics['validation:logloss']!;
      expect(curve.at(-1)!.Iteration).toBe(step);
    }
  }, 180_000);
});
