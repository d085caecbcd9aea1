import { join } from 'node:path';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import { jobQueueName } from '@trainyard/core/jobs/job-dispatch';
import { ProcessingJobService } from '@trainyard/core/jobs/processing-job-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { JobWorker } from '@trainyard/runtime/jobs/job-worker';
import { ProcessingJobRunner } from '@trainyard/runtime/jobs/processing-job-runner';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';

/** The job side of the platform: services the API calls, and the worker that runs the jobs. */
export interface JobServices {
  processingJobs: ProcessingJobService;
  /** Starts this process's worker (idempotent; a closed one is replaced); the server does it for role `all`, `trainyard worker` always. */
  startWorker(): Promise<JobWorker>;
  /** The running worker, if started. */
  worker(): JobWorker | undefined;
  close(): Promise<void>;
}

export async function openJobServices(parts: {
  config: ResolvedServerConfig;
  log: Logger;
  metadata: MetadataStore;
  blobs: BlobStore;
  queue: JobQueue;
  datasets?: JobDatasetCatalog | undefined;
}): Promise<JobServices> {
  const { config, metadata } = parts;
  // Created here, not only by a worker: a server with workerConcurrency 0 still queues jobs.
  await parts.queue.createQueue(jobQueueName, {
    visibilityTimeoutMs: config.jobVisibilityTimeoutSeconds * 1000,
  });
  const processingRunner = new ProcessingJobRunner({ blobs: parts.blobs, datasets: parts.datasets });
  const processingJobs = new ProcessingJobService({
    jobs: metadata.jobs,
    queue: parts.queue,
    instanceTypes: metadata.instanceTypes,
    datasets: parts.datasets,
    builtInImages: processingRunner.builtInImages,
  });
  let worker: JobWorker | undefined;
  return {
    processingJobs,
    worker: () => worker,
    async startWorker() {
      if (worker && !worker.closed) return worker;
      worker = new JobWorker({
        queue: parts.queue,
        jobs: metadata.jobs,
        instanceTypes: metadata.instanceTypes,
        runners: [processingRunner],
        workRoot: join(config.dataDir, 'jobs'),
        concurrency: Math.max(1, config.workerConcurrency),
        visibilityTimeoutMs: config.jobVisibilityTimeoutSeconds * 1000,
        stopGraceMs: config.jobStopGraceSeconds * 1000,
        maxAttempts: config.jobMaxAttempts,
        log: parts.log.child({ component: 'job-worker' }),
      });
      await worker.start();
      return worker;
    },
    async close() {
      await worker?.close();
    },
  };
}
