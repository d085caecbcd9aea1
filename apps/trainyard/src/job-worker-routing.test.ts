import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { type Messaging, openMessaging } from '@trainyard/adapters/messaging/open-messaging';
import { type OpenedMetadataStore, openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { CreateProcessingJobBody } from '@trainyard/contracts/processing-jobs';
import {
  forwardLegacyJobMessages,
  jobQueueName,
  legacyJobQueueName,
} from '@trainyard/core/jobs/job-dispatch';
import { type JobKindDefinition, JobKindRegistry } from '@trainyard/core/jobs/job-kinds';
import { JobService } from '@trainyard/core/jobs/job-service';
import { processingJobKind } from '@trainyard/core/jobs/processing-job-kind';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobRecord } from '@trainyard/core/ports/job-store';
import type { JobKindRunner } from '@trainyard/runtime/jobs/job-kind-runner';
import { JobWorker } from '@trainyard/runtime/jobs/job-worker';
import { ProcessingJobRunner } from '@trainyard/runtime/jobs/processing-job-runner';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** A second kind, as training will be: its spec names a script and an instance type. */
interface SleepSpec {
  seconds: number;
  instanceType: string;
  /** Instances, as a multi-instance training job's ResourceConfig.InstanceCount. */
  count?: number;
}
const sleepKind: JobKindDefinition<SleepSpec, { name: string; status: string }, { name: string }> = {
  kind: 'training',
  label: 'training job',
  specSchema: {
    parse(value) {
      const spec = value as Partial<SleepSpec>;
      if (typeof spec?.seconds !== 'number' || typeof spec.instanceType !== 'string') {
        throw new TrainyardError('INVALID_ARGUMENT', 'seconds and instanceType are required');
      }
      return { seconds: spec.seconds, instanceType: spec.instanceType, count: spec.count ?? 1 };
    },
  },
  view: (job: JobRecord) => ({ name: job.name, status: job.status }),
  summary: (job: JobRecord) => ({ name: job.name }),
  instanceTypeOf: (spec) => spec.instanceType,
  instanceCountOf: (spec) => spec.count ?? 1,
  maxRuntimeSeconds: () => undefined,
};
const sleepRunner: JobKindRunner<SleepSpec> = {
  definition: sleepKind,
  async run(context) {
    const exit = await context.runProcess({
      command: 'node',
      args: ['-e', `setTimeout(() => console.log('slept'), ${context.spec.seconds * 1000})`],
      env: {},
      cwd: context.workdir,
    });
    return exit.exitCode === 0
      ? { status: 'Completed' }
      : { status: 'Failed', failure: { code: 'INTERNAL', message: 'sleep failed', retryable: false } };
  },
};

let dir: string;
let metadata: OpenedMetadataStore;
let messaging: Messaging;
let blobs: BlobStore;
let jobs: JobService;
const workers: JobWorker[] = [];

function processingSpec(name: string, instanceType = 'ml.one.test'): CreateProcessingJobBody {
  return {
    ProcessingJobName: name,
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: instanceType, VolumeSizeInGB: 1 },
    },
    AppSpecification: {
      ImageUri: 'node:20',
      ContainerEntrypoint: ['node', '/opt/ml/processing/input/code/run.mjs'],
    },
    ProcessingInputs: [
      {
        InputName: 'code',
        S3Input: {
          S3Uri: 's3://work/code/run.mjs',
          LocalPath: '/opt/ml/processing/input/code',
          S3DataType: 'S3Prefix',
          S3InputMode: 'File',
          S3DataDistributionType: 'FullyReplicated',
          S3CompressionType: 'None',
        },
      },
    ],
  } as CreateProcessingJobBody;
}

function worker(
  runners: JobKindRunner[],
  capacity?: { vcpus: number; memoryMiB: number },
  stopGraceMs = 1000,
): JobWorker {
  const created = new JobWorker({
    queue: messaging.queues,
    jobs: metadata.jobs,
    instanceTypes: metadata.instanceTypes,
    runners,
    workRoot: join(dir, 'jobs'),
    ...(capacity ? { capacity } : {}),
    // Long enough that a message a worker wrongly held would visibly delay its job.
    visibilityTimeoutMs: 30_000,
    receiveWaitMs: 200,
    stopGraceMs,
  });
  workers.push(created);
  return created;
}

async function waitForEnd(
  kind: 'processing' | 'training',
  name: string,
  timeoutMs: number,
): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await metadata.jobs.get(kind, name);
    if (['Completed', 'Failed', 'Stopped'].includes(job.status)) return job;
    if (Date.now() > deadline)
      throw new Error(`${name} still ${job.status}/${job.secondaryStatus} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trainyard-worker-routing-'));
  metadata = await openMetadataStore(`sqlite:${join(dir, 'meta.db')}`);
  await metadata.migrate();
  await metadata.instanceTypes.create({ name: 'ml.one.test', vcpus: 1, memoryMiB: 512, pricePerHour: 0 });
  messaging = await openMessaging('embedded:', metadata);
  blobs = await openBlobStore(`file:${join(dir, 'blobs')}`);
  await blobs.put({ bucket: 'work', key: 'code/run.mjs' }, "console.log('done');\n");
  await blobs.put(
    { bucket: 'work', key: 'slow/run.mjs' },
    "await new Promise((r) => setTimeout(r, 1500)); console.log('done');\n",
  );
  jobs = new JobService({
    jobs: metadata.jobs,
    queue: messaging.queues,
    kinds: new JobKindRegistry([processingJobKind, sleepKind]),
  });
  for (const kind of ['processing', 'training'] as const) {
    await messaging.queues.createQueue(jobQueueName(kind), { visibilityTimeoutMs: 30_000 });
  }
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await messaging.close();
  await metadata.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('JobWorker routing and admission', () => {
  it('a worker with only some kinds registered never takes, and so never delays, another kind’s job', async () => {
    const trainingOnly = worker([sleepRunner]);
    await trainingOnly.start();
    await jobs.enqueue('processing', 'routed', processingSpec('routed'));
    await jobs.enqueue('training', 'sleeper', { seconds: 0.2, instanceType: 'ml.one.test' });
    // The training-only worker polls all this while; before per-kind queues it took the
    // processing message and hid it for the 30 s visibility timeout.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await messaging.queues.counts(jobQueueName('processing'))).toEqual({
      visible: 1,
      inFlight: 0,
      delayed: 0,
    });
    expect((await waitForEnd('training', 'sleeper', 10_000)).status).toBe('Completed');

    const started = Date.now();
    await worker([new ProcessingJobRunner({ blobs })]).start();
    const done = await waitForEnd('processing', 'routed', 10_000);
    expect(done.status).toBe('Completed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('admits jobs by the vCPUs of their instance types, leaving the rest in the queue, and pins each to its own core', async () => {
    const slow = (name: string) => ({
      ...processingSpec(name),
      ProcessingInputs: [
        {
          ...processingSpec(name).ProcessingInputs[0]!,
          S3Input: { ...processingSpec(name).ProcessingInputs[0]!.S3Input!, S3Uri: 's3://work/slow/run.mjs' },
        },
      ],
    });
    await Promise.all(workers.splice(0).map((w) => w.close()));
    // One vCPU of capacity: the second one-vCPU job must wait in the queue, not in this worker.
    const small = worker([new ProcessingJobRunner({ blobs })], { vcpus: 1, memoryMiB: 4096 });
    await small.start();
    await jobs.enqueue('processing', 'first', slow('first'));
    await jobs.enqueue('processing', 'second', slow('second'));
    const deadline = Date.now() + 5000;
    while ((await metadata.jobs.get('processing', 'first')).secondaryStatus !== 'Processing') {
      if (Date.now() > deadline) throw new Error('first never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(small.runningJobIds).toHaveLength(1);
    expect(small.ledger.used.vcpus).toBe(1);
    expect(await messaging.queues.counts(jobQueueName('processing'))).toEqual({
      visible: 1,
      // The running job's message stays ours (heartbeats); the waiting one is free for any worker.
      inFlight: 1,
      delayed: 0,
    });
    expect((await metadata.jobs.get('processing', 'second')).secondaryStatus).toBe('Pending');

    expect((await waitForEnd('processing', 'first', 10_000)).status).toBe('Completed');
    expect((await waitForEnd('processing', 'second', 10_000)).status).toBe('Completed');
    const log = (await metadata.jobs.readLogs((await metadata.jobs.get('processing', 'second')).id, 0, 100))
      .map((e) => e.message)
      .join('\n');
    expect(log).toMatch(/limits: memory 512 MiB .*; CPUs 0 \(taskset\)/);
    // Released once the claim is given back, just after the job's last status write.
    await vi.waitFor(() => expect(small.ledger.used).toEqual({ vcpus: 0, memoryMiB: 0 }));
  });

  it('admits every instance of a multi-instance job together: two 2-instance jobs do not share 3 vCPUs', async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    const host = worker([sleepRunner], { vcpus: 3, memoryMiB: 4096 });
    await host.start();
    await jobs.enqueue('training', 'pair-a', { seconds: 1, instanceType: 'ml.one.test', count: 2 });
    await jobs.enqueue('training', 'pair-b', { seconds: 1, instanceType: 'ml.one.test', count: 2 });
    await vi.waitFor(() => expect(host.runningJobIds).toHaveLength(1), { timeout: 5000 });
    expect(host.ledger.used).toEqual({ vcpus: 2, memoryMiB: 1024 });
    await new Promise((r) => setTimeout(r, 300));
    expect(host.runningJobIds).toHaveLength(1);
    expect((await waitForEnd('training', 'pair-a', 10_000)).status).toBe('Completed');
    expect((await waitForEnd('training', 'pair-b', 10_000)).status).toBe('Completed');
  });
});

describe('JobWorker shutdown', () => {
  it('hands a running job back at once on close: another worker starts it within seconds, not after the visibility timeout or the stop grace', async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    // First attempt: ignores SIGTERM and never ends; the attempt after the hand-back finishes.
    const marker = join(dir, 'handback-started');
    const stubborn: JobKindRunner<SleepSpec> = {
      definition: sleepKind,
      async run(context) {
        const exit = await context.runProcess({
          command: 'node',
          args: [
            '-e',
            `const fs = require('node:fs'); const m = ${JSON.stringify(marker)};
if (fs.existsSync(m)) console.log('second attempt');
else { fs.writeFileSync(m, ''); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); }`,
          ],
          env: {},
          cwd: context.workdir,
        });
        return exit.exitCode === 0
          ? { status: 'Completed' }
          : { status: 'Failed', failure: { code: 'INTERNAL', message: 'failed', retryable: false } };
      },
    };
    // Visibility timeout and stop grace are both 30 s: only a hand-back explains a quick restart.
    const first = worker([stubborn], undefined, 30_000);
    await first.start();
    await jobs.enqueue('training', 'handback', { seconds: 0, instanceType: 'ml.one.test' });
    await vi.waitFor(() => expect(existsSync(marker)).toBe(true), { timeout: 10_000 });
    const second = worker([stubborn], undefined, 30_000);
    await second.start();
    const closing = Date.now();
    await first.close();
    expect(Date.now() - closing).toBeLessThan(6_000);
    const done = await waitForEnd('training', 'handback', 10_000);
    expect(done.status).toBe('Completed');
    expect(Date.now() - closing).toBeLessThan(12_000);
    const log = (await metadata.jobs.readLogs(done.id, 0, 100)).map((e) => e.message).join('\n');
    expect(log).toContain('worker shutting down; the job goes back to the queue');
    expect(log).toContain('second attempt');
  });
});

describe('forwardLegacyJobMessages', () => {
  it('moves jobs queued in the shared queue of an older version to their kind queue', async () => {
    // No worker may take the forwarded message before it is counted.
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await messaging.queues.createQueue(legacyJobQueueName);
    await messaging.queues.send(
      legacyJobQueueName,
      JSON.stringify({ jobId: 'job-old-1', kind: 'processing' }),
    );
    await messaging.queues.send(legacyJobQueueName, 'not a dispatch');
    const before = (await messaging.queues.counts(jobQueueName('processing'))).visible;
    expect(await forwardLegacyJobMessages(messaging.queues)).toBe(1);
    expect((await messaging.queues.counts(jobQueueName('processing'))).visible).toBe(before + 1);
    expect(await messaging.queues.counts(legacyJobQueueName)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
  });
});
