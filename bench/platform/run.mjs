#!/usr/bin/env node
// Platform overheads of training jobs, measured on the real platform in this process (SQLite, file
// blobs, embedded queue, the job worker running each job as its own process).
// Build first: npx tsc -b ; then: node bench/platform/run.mjs [--latency 20] [--queue 50] [--gbdt] [--repeat 1]
//   latency: median create -> Training (the process started) and process exit -> Completed over N jobs
//   queue:   N small built-in XGBoost jobs through the queue, two at once (a 1-vCPU instance type on 2 cores): wall time over
//            the sum of the algorithm's own training times (overhead ratio)
//   gbdt:    the 200k x 28 binary set of bench/gbdt as a training job from a CSV in the blob store
//            (read, parse, bin, train, pack, upload) against python3-xgboost reading the same CSV with
//            pandas and training with 2 threads (bench/platform/peer.py), in the same run
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTestPlatform } from '../../apps/trainyard/dist/testing/platform-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const PY = '/usr/bin/python3';
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const has = (name) => process.argv.includes(`--${name}`);
const all = !has('latency') && !has('queue') && !has('gbdt');
const latencyN = Number(arg('latency', all ? '20' : '0'));
const queueN = Number(arg('queue', all ? '50' : '0'));
const gbdt = all || has('gbdt');
const repeat = Number(arg('repeat', '1'));
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const t = await openTestPlatform({ workerConcurrency: 2, jobVisibilityTimeoutSeconds: 30 });
const jobs = t.platform.jobs.trainingJobs;
await t.platform.jobs.startWorker();

async function waitEnded(name, pollMs = 5) {
  for (;;) {
    const job = await jobs.describe(name);
    if (['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus)) {
      if (job.TrainingJobStatus !== 'Completed') throw new Error(`${name}: ${job.FailureReason}`);
      return job;
    }
    await sleep(pollMs);
  }
}

const spec = (name, extra) => ({
  TrainingJobName: name,
  AlgorithmSpecification: { AlgorithmName: 'xgboost', TrainingInputMode: 'File' },
  OutputDataConfig: { S3OutputPath: 's3://bench/models', CompressionType: 'GZIP' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  ...extra,
});
const channel = (name, uri) => ({
  ChannelName: name,
  ContentType: 'text/csv',
  CompressionType: 'None',
  RecordWrapperType: 'None',
  DataSource: {
    S3DataSource: { S3DataType: 'S3Prefix', S3Uri: uri, S3DataDistributionType: 'FullyReplicated' },
  },
});

try {
  if (latencyN > 0) {
    // A command job (`node -e 0`): what is measured is the platform, not an algorithm.
    const toRunning = [];
    const toCompleted = [];
    for (let i = 0; i < latencyN; i++) {
      const name = `lat-${i}`;
      await jobs.create(
        spec(name, {
          AlgorithmSpecification: {
            TrainingImage: 'node:20',
            TrainingInputMode: 'File',
            ContainerEntrypoint: ['node', '-e', '0'],
          },
        }),
      );
      const job = await waitEnded(name);
      const training = job.SecondaryStatusTransitions.find((s) => s.Status === 'Training');
      toRunning.push(Date.parse(training.StartTime) - Date.parse(job.CreationTime));
      const log = (await jobs.logs(name, 0, 1000)).events;
      const ended = log.find((e) => e.message.includes('process ended'));
      toCompleted.push(Date.parse(job.TrainingEndTime) - Date.parse(ended.at));
    }
    console.log(
      `latency (${latencyN} jobs, sequential): create -> Training median ${median(toRunning).toFixed(0)} ms (min ${Math.min(...toRunning)}, max ${Math.max(...toRunning)}); process exit -> Completed median ${median(toCompleted).toFixed(0)} ms (min ${Math.min(...toCompleted)}, max ${Math.max(...toCompleted)})`,
    );
  }

  if (queueN > 0) {
    const lines = [];
    let s = 3;
    for (let i = 0; i < 2000; i++) {
      const x = Array.from({ length: 8 }, () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return (s / 2147483648).toFixed(4);
      });
      lines.push([Number(x[0]) + Number(x[1]) > 1 ? 1 : 0, ...x].join(','));
    }
    await t.platform.blobs.put({ bucket: 'bench', key: 'small/train.csv' }, `${lines.join('\n')}\n`);
    // One vCPU each, so the worker's resource ledger admits two at once on a 2-core host.
    await t.platform.metadata.instanceTypes.create({
      name: 'ml.bench.small',
      vcpus: 1,
      memoryMiB: 1024,
      gpus: 0,
      pricePerHour: 0.025,
      description: 'bench/platform: 1 vCPU',
    });
    const started = performance.now();
    for (let i = 0; i < queueN; i++) {
      await jobs.create(
        spec(`q-${i}`, {
          HyperParameters: { objective: 'binary:logistic', num_round: '30', max_depth: '4', nthread: '1' },
          InputDataConfig: [channel('train', 's3://bench/small/train.csv')],
          ResourceConfig: { InstanceType: 'ml.bench.small', InstanceCount: 1, VolumeSizeInGB: 1 },
        }),
      );
    }
    let algorithmMs = 0;
    for (let i = 0; i < queueN; i++) {
      await waitEnded(`q-${i}`, 20);
      const log = (await jobs.logs(`q-${i}`, 0, 1000)).events.map((e) => e.message);
      algorithmMs += Number(/trained \d+ trees in (\d+) ms/.exec(log.find((l) => l.includes('trained ')))[1]);
    }
    const wallMs = performance.now() - started;
    console.log(
      `queue (${queueN} built-in XGBoost jobs, 2000x8, 30 rounds, 2 at once (1-vCPU type, 2 cores)): wall ${(wallMs / 1000).toFixed(2)} s, sum of training ${(algorithmMs / 1000).toFixed(2)} s, wall / (sum / 2 slots) = ${(wallMs / (algorithmMs / 2)).toFixed(1)}x, wall / sum = ${(wallMs / algorithmMs).toFixed(1)}x, ${(wallMs / queueN).toFixed(0)} ms per job`,
    );
  }

  if (gbdt) {
    const dataDir = join(here, '..', 'data', 'gbdt');
    if (!existsSync(join(dataDir, 'meta.json')))
      execFileSync(PY, [join(here, '..', 'gbdt', 'peer.py'), 'data', dataDir], { stdio: 'inherit' });
    const csvFile = join(dataDir, 'binary_train.label-first.csv');
    if (!existsSync(csvFile)) {
      const xb = readFileSync(join(dataDir, 'binary_train.x.f32'));
      const yb = readFileSync(join(dataDir, 'binary_train.y.f32'));
      const x = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
      const y = new Float32Array(yb.buffer, yb.byteOffset, yb.byteLength / 4);
      const out = [];
      for (let i = 0; i < y.length; i++) {
        const row = [y[i]];
        for (let j = 0; j < 28; j++) row.push(x[i * 28 + j]);
        out.push(row.join(','));
      }
      writeFileSync(csvFile, `${out.join('\n')}\n`);
    }
    await t.platform.blobs.put({ bucket: 'bench', key: 'higgs/train.csv' }, readFileSync(csvFile));
    for (let r = 0; r < repeat; r++) {
      const peer = JSON.parse(
        execFileSync(PY, [join(here, 'peer.py'), csvFile, '2', '100'], { encoding: 'utf8' }),
      );
      const name = `higgs-${r}`;
      const start = performance.now();
      await jobs.create(
        spec(name, {
          HyperParameters: {
            objective: 'binary:logistic',
            num_round: '100',
            max_depth: '6',
            eta: '0.1',
            max_bin: '256',
            nthread: '2',
          },
          InputDataConfig: [channel('train', 's3://bench/higgs/train.csv')],
        }),
      );
      const job = await waitEnded(name, 20);
      const wall = (performance.now() - start) / 1000;
      const log = (await jobs.logs(name, 0, 10_000)).events.map((e) => e.message);
      const readMs = Number(
        /channel train: .* \((\d+) ms\)/.exec(
          log.find((l) => l.includes('channel train:') && l.includes(' rows x ')),
        )[1],
      );
      const trainMs = Number(/in (\d+) ms/.exec(log.find((l) => l.includes('trained ')))[1]);
      console.log(
        `gbdt 200k x 28 CSV, 100 rounds, 2 threads: training job ${wall.toFixed(2)} s (read+parse ${(readMs / 1000).toFixed(2)} s, bin+train ${(trainMs / 1000).toFixed(2)} s, training time ${job.TrainingTimeInSeconds} s) vs python3-xgboost pandas read ${peer.read_s.toFixed(2)} s + train ${peer.train_s.toFixed(2)} s = ${peer.total_s.toFixed(2)} s: ratio ${(wall / peer.total_s).toFixed(2)}x`,
      );
    }
  }
} finally {
  await t.close();
  rmSync(t.dataDir, { recursive: true, force: true });
}
