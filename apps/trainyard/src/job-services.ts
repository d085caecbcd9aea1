import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobQueueName } from '@trainyard/core/jobs/job-dispatch';
import type { JobEventSink } from '@trainyard/core/jobs/job-events';
import { ProcessingJobService } from '@trainyard/core/jobs/processing-job-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { TrainingJobService } from '@trainyard/core/training/training-job-service';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import { DatasetJobCatalog } from '@trainyard/runtime/jobs/dataset-job-catalog';
import { JobWorker } from '@trainyard/runtime/jobs/job-worker';
import { type BuiltInProcessor, ProcessingJobRunner } from '@trainyard/runtime/jobs/processing-job-runner';
import { recipeProcessor } from '@trainyard/runtime/jobs/recipe-processor';
import { TrainingJobRunner } from '@trainyard/runtime/training/training-job-runner';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';

/** The job side of the platform: services the API calls, and the worker that runs the jobs. */
export interface JobServices {
  processingJobs: ProcessingJobService;
  trainingJobs: TrainingJobService;
  /** Starts this process's worker (idempotent; a closed one is replaced); the server does it for role `all`, `trainyard worker` always. */
  startWorker(): Promise<JobWorker>;
  /** The running worker, if started. */
  worker(): JobWorker | undefined;
  close(): Promise<void>;
}

/** The built CLI entry a job process can run (`dist/main.js`), or undefined before a build. */
function builtMainPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const main = here.endsWith('.ts')
    ? join(dirname(here), '..', 'dist', 'main.js')
    : join(dirname(here), 'main.js');
  return existsSync(main) ? main : undefined;
}

export async function openJobServices(parts: {
  config: ResolvedServerConfig;
  log: Logger;
  metadata: MetadataStore;
  blobs: BlobStore;
  queue: JobQueue;
  /** Enables DatasetInput/DatasetOutput and the built-in recipe processor. */
  datasets?: DatasetService | undefined;
  /** Where job state changes are published (`trainyard.processing-job.state-change`). */
  events?: JobEventSink | undefined;
}): Promise<JobServices> {
  const { config, metadata } = parts;
  // Created here, not only by a worker: a server with workerConcurrency 0 still queues jobs.
  await parts.queue.createQueue(jobQueueName, {
    visibilityTimeoutMs: config.jobVisibilityTimeoutSeconds * 1000,
  });
  const catalog = parts.datasets ? new DatasetJobCatalog(parts.datasets) : undefined;
  const builtIns: BuiltInProcessor[] = [];
  const main = builtMainPath();
  if (parts.datasets && main) {
    // The recipe runs in the job's own process: the CLI's hidden `recipe-processor` command opens
    // the same stores (their URIs, not the server's keys, are passed) and runs runRecipe there.
    builtIns.push(
      recipeProcessor((optMl, instanceType) => ({
        command: 'node',
        args: [
          main,
          'recipe-processor',
          '--opt-ml',
          optMl,
          // Half the instance's memory for DuckDB (it spills beyond), the rest for Node and slack.
          '--memory-mib',
          String(Math.floor(instanceType.memoryMiB / 2)),
          '--threads',
          String(Math.max(1, Math.floor(instanceType.vcpus))),
        ],
        env: {
          TRAINYARD_DATA_DIR: config.dataDir,
          TRAINYARD_METADATA: config.metadata,
          TRAINYARD_BLOBS: config.blobs,
          TRAINYARD_LOG_LEVEL: 'warn',
        },
      })),
    );
  }
  const processingRunner = new ProcessingJobRunner({ blobs: parts.blobs, datasets: catalog, builtIns });
  const processingJobs = new ProcessingJobService({
    jobs: metadata.jobs,
    queue: parts.queue,
    instanceTypes: metadata.instanceTypes,
    datasets: catalog,
    builtInImages: processingRunner.builtInImages,
    events: parts.events,
  });
  const trainingRunner = new TrainingJobRunner({ blobs: parts.blobs, datasets: catalog });
  const trainingJobs = new TrainingJobService({
    jobs: metadata.jobs,
    queue: parts.queue,
    instanceTypes: metadata.instanceTypes,
    datasets: catalog,
    events: parts.events,
  });
  let worker: JobWorker | undefined;
  return {
    processingJobs,
    trainingJobs,
    worker: () => worker,
    async startWorker() {
      if (worker && !worker.closed) return worker;
      worker = new JobWorker({
        queue: parts.queue,
        jobs: metadata.jobs,
        instanceTypes: metadata.instanceTypes,
        runners: [processingRunner, trainingRunner],
        workRoot: join(config.dataDir, 'jobs'),
        concurrency: Math.max(1, config.workerConcurrency),
        visibilityTimeoutMs: config.jobVisibilityTimeoutSeconds * 1000,
        stopGraceMs: config.jobStopGraceSeconds * 1000,
        maxAttempts: config.jobMaxAttempts,
        log: parts.log.child({ component: 'job-worker' }),
        events: parts.events,
      });
      await worker.start();
      return worker;
    },
    async close() {
      await worker?.close();
    },
  };
}
