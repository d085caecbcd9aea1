import { join } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { ProcessingJob, ProcessingJobSummary } from '@trainyard/contracts/processing-jobs';
import type { RunRecipeBody } from '@trainyard/contracts/recipes';
import { forwardLegacyJobMessages, jobQueueName } from '@trainyard/core/jobs/job-dispatch';
import { JobKindRegistry } from '@trainyard/core/jobs/job-kinds';
import { JobService, type KindJobs } from '@trainyard/core/jobs/job-service';
import { processingJobKind } from '@trainyard/core/jobs/processing-job-kind';
import { ProcessingJobService } from '@trainyard/core/jobs/processing-job-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { ExperimentService } from '@trainyard/core/training/experiment-service';
import { TrainingJobService, trainingJobKind } from '@trainyard/core/training/training-job-service';
import { TuningJobService } from '@trainyard/core/tuning/tuning-job-service';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import { DatasetJobCatalog } from '@trainyard/runtime/jobs/dataset-job-catalog';
import { type JobIsolation, prepareJobIsolation } from '@trainyard/runtime/jobs/job-sandbox';
import { JobWorker } from '@trainyard/runtime/jobs/job-worker';
import { LocalProcessExecutor } from '@trainyard/runtime/jobs/local-process-executor';
import { type BuiltInProcessor, ProcessingJobRunner } from '@trainyard/runtime/jobs/processing-job-runner';
import { RecipeJobs } from '@trainyard/runtime/jobs/recipe-jobs';
import { recipeProcessor } from '@trainyard/runtime/jobs/recipe-processor';
import { TrainingJobRunner } from '@trainyard/runtime/training/training-job-runner';
import { TuningDriver, type TuningEventSink } from '@trainyard/runtime/tuning/tuning-driver';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';
import { runtimeEntryPoint } from './entry-points.js';
import { countGpus } from './gpu-count.js';

/** Processing jobs as the API sees them: the kind's own create beside the kind-generic operations. */
export type ProcessingJobs = Pick<ProcessingJobService, 'create'> &
  KindJobs<ProcessingJob, ProcessingJobSummary>;

/** Training jobs as the API sees them: create, describe, list, stop, logs and metric series. */
export type TrainingJobs = TrainingJobService;

/** The job side of the platform: services the API calls, and the worker that runs the jobs. */
export interface JobServices {
  /** Every kind's describe, list, stop and logs. */
  jobs: JobService;
  processingJobs: ProcessingJobs;
  trainingJobs: TrainingJobs;
  experiments: ExperimentService;
  /** Hyperparameter tuning jobs; their trials run as training jobs. */
  tuningJobs: TuningJobService;
  /** Starts the tuner's loop (idempotent); it drives tuning jobs only while this process holds its lease. */
  startTuner(): TuningDriver;
  /**
   * `POST /recipes/run`: checks the recipe on a few rows and queues a recipe-processor job.
   * @throws FAILED_PRECONDITION when datasets or the built recipe processor are missing here
   */
  runRecipe(body: RunRecipeBody): Promise<ProcessingJob>;
  /** Starts this process's worker (idempotent; a closed one is replaced); the server does it for role `all`, `trainyard worker` always. */
  startWorker(): Promise<JobWorker>;
  /** The running worker, if started. */
  worker(): JobWorker | undefined;
  /** How this process's worker isolates job processes; undefined until a worker started. */
  isolation(): JobIsolation | undefined;
  /** Decides the isolation on first call (jobs and endpoint instances share it). @throws FAILED_PRECONDITION */
  prepareIsolation(): JobIsolation;
  close(): Promise<void>;
}

export async function openJobServices(parts: {
  config: ResolvedServerConfig;
  log: Logger;
  metadata: MetadataStore;
  blobs: BlobStore;
  queue: JobQueue;
  /**
   * Enables DatasetInput/DatasetOutput and the built-in recipe processor; called on first use, so
   * a worker whose jobs touch no dataset never opens DuckDB.
   */
  datasets?: (() => Promise<DatasetService>) | undefined;
  /**
   * Where job state changes are published (`trainyard.processing-job.state-change`), and the
   * tuner's `trainyard.tuning-job.progress`.
   */
  events?: TuningEventSink | undefined;
}): Promise<JobServices> {
  const { config, metadata } = parts;
  // Created here, not only by a worker: a server with workerConcurrency 0 still queues jobs.
  const kinds = new JobKindRegistry([processingJobKind, trainingJobKind]);
  for (const kind of kinds.kinds) {
    await parts.queue.createQueue(jobQueueName(kind), {
      visibilityTimeoutMs: config.jobVisibilityTimeoutSeconds * 1000,
    });
  }
  const forwarded = await forwardLegacyJobMessages(parts.queue);
  if (forwarded > 0)
    parts.log.info({ forwarded }, 'moved queued jobs from trainyard-jobs to their kind queues');
  const catalog = parts.datasets ? new DatasetJobCatalog(parts.datasets) : undefined;
  const builtIns: BuiltInProcessor[] = [];
  const recipeEntry = runtimeEntryPoint('recipe-processor');
  if (parts.datasets && recipeEntry) {
    // The recipe runs in the job's own process on its staged files; this worker registers the
    // versions it wrote, so the process gets no store URIs or keys.
    builtIns.push(recipeProcessor({ entry: recipeEntry, datasets: parts.datasets }));
  }
  const processingRunner = new ProcessingJobRunner({ blobs: parts.blobs, datasets: catalog, builtIns });
  const jobs = new JobService({ jobs: metadata.jobs, queue: parts.queue, kinds, events: parts.events });
  const processingService = new ProcessingJobService({
    jobs,
    instanceTypes: metadata.instanceTypes,
    datasets: catalog,
    builtInImages: processingRunner.builtInImages,
  });
  const processingJobs: ProcessingJobs = {
    create: (body) => processingService.create(body),
    ...jobs.forKind<ProcessingJob, ProcessingJobSummary>('processing'),
  };
  const recipeJobs =
    parts.datasets && recipeEntry
      ? new RecipeJobs({ datasets: parts.datasets, createProcessingJob: processingJobs.create })
      : undefined;
  const trainingRunner = new TrainingJobRunner({
    blobs: parts.blobs,
    datasets: catalog,
    builtInEntry: runtimeEntryPoint('builtin-algorithm'),
  });
  const experiments = new ExperimentService({ store: metadata.jobs, records: metadata.experiments });
  const trainingJobs = new TrainingJobService({
    jobs,
    experiments,
    store: metadata.jobs,
    instanceTypes: metadata.instanceTypes,
    datasets: catalog,
    availableGpus: countGpus(),
  });
  let worker: JobWorker | undefined;
  let isolation: JobIsolation | undefined;
  // Decided once, before the first job or endpoint instance: creates the job user and closes the data folder to it.
  const prepareIsolation = (): JobIsolation => {
    try {
      isolation ??= prepareJobIsolation({
        dataDir: config.dataDir,
        mode: config.jobIsolation,
        hiddenPaths: config.configFile ? [config.configFile] : [],
      });
    } catch (error) {
      throw new TrainyardError('FAILED_PRECONDITION', `jobIsolation: ${(error as Error).message}`, {
        field: 'jobIsolation',
      });
    }
    return isolation;
  };
  let tuner: TuningDriver | undefined;
  return {
    jobs,
    processingJobs,
    trainingJobs,
    experiments,
    tuningJobs: new TuningJobService({
      store: metadata.jobs,
      trainingJobs,
      events: parts.events,
      onEventError: (error) => parts.log.warn({ err: error }, 'tuning job state-change event not published'),
    }),
    startTuner() {
      if (!tuner) {
        tuner = new TuningDriver({
          store: metadata.jobs,
          leases: metadata.leases,
          trainingJobs,
          events: parts.events,
          log: parts.log.child({ component: 'tuner' }),
        });
        tuner.start();
      }
      return tuner;
    },
    runRecipe: async (body) => {
      if (!recipeJobs) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          'recipes run as processing jobs with the built recipe processor, which this server does not have (run npm run build)',
        );
      }
      return recipeJobs.submit(body);
    },
    worker: () => worker,
    isolation: () => isolation,
    prepareIsolation,
    async startWorker() {
      if (worker && !worker.closed) return worker;
      const isolation = prepareIsolation();
      if (isolation.mode === 'none') parts.log.warn({ jobIsolation: isolation.mode }, isolation.summary);
      else parts.log.info({ jobIsolation: isolation.mode }, isolation.summary);
      worker = new JobWorker({
        executor: new LocalProcessExecutor({ isolation }),
        queue: parts.queue,
        jobs: metadata.jobs,
        instanceTypes: metadata.instanceTypes,
        runners: [processingRunner, trainingRunner],
        workRoot: join(config.dataDir, 'jobs'),
        maxJobs: Math.max(1, config.workerConcurrency),
        capacity: {
          ...(config.workerVcpus ? { vcpus: config.workerVcpus } : {}),
          ...(config.workerMemoryMiB ? { memoryMiB: config.workerMemoryMiB } : {}),
        },
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
      await tuner?.close();
      await worker?.close();
    },
  };
}
