import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Messaging } from '@trainyard/adapters/messaging/open-messaging';
import type { CreatedKey } from '@trainyard/contracts/access-keys';
import { AccessKeyService } from '@trainyard/core/access/access-key-service';
import { SecretSealer } from '@trainyard/core/access/key-material';
import type { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';
import { type JobServices, openJobServices } from './job-services.js';
import { lazyDatasets, openPlatformStores } from './platform-stores.js';

/**
 * The API role (`trainyard server`): what the REST and S3 doors serve, and the worker the server
 * may run in-process. `trainyard worker` opens the worker role instead ({@link openWorkerRole}).
 */
export interface Platform {
  config: ResolvedServerConfig;
  log: Logger;
  metadata: MetadataStore;
  blobs: BlobStore;
  keys: AccessKeyService;
  /** Job dispatch queues (`trainyard-jobs-<kind>`): `messaging.queues`. */
  jobQueue: JobQueue;
  /** JobQueue, Topic and Stream of the configured `messaging` backend; this process runs the topic delivery loop. */
  messaging: Messaging;
  /** Publishes `trainyard.<resource>.state-change` events to their topics. */
  events: EventPublisher;
  /** Job services and this process's job worker (started by `startWorker`). */
  jobs: JobServices;
  /** Datasets, their versions and recipes, on DuckDB. */
  datasets: DatasetService;
  /** The admin key created at this start, to be printed once; undefined when keys existed. */
  bootstrapKey: CreatedKey | undefined;
  close(): Promise<void>;
}

function loadMasterKey(config: ResolvedServerConfig): string {
  if (config.masterKey) return config.masterKey;
  const file = join(config.dataDir, 'master.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const key = SecretSealer.newMasterKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return key;
}

export async function openPlatform(config: ResolvedServerConfig, log: Logger): Promise<Platform> {
  mkdirSync(config.dataDir, { recursive: true });
  const sealer = new SecretSealer(loadMasterKey(config));
  const stores = await openPlatformStores(config, log, { deliverTopics: true });
  const datasets = lazyDatasets(config, stores);
  try {
    const { metadata, blobs, messaging, events } = stores;
    const keys = new AccessKeyService(metadata.accessKeys, sealer);
    const bootstrapKey = config.auth ? await keys.bootstrap(config.adminKey) : undefined;
    // The API serves datasets directly, so it opens DuckDB at start.
    const datasetService = await datasets.get();
    const jobs = await openJobServices({
      config,
      log,
      metadata,
      blobs,
      queue: messaging.queues,
      datasets: datasets.get,
      events,
    });
    return {
      config,
      log,
      metadata,
      blobs,
      keys,
      jobQueue: messaging.queues,
      messaging,
      events,
      jobs,
      datasets: datasetService,
      bootstrapKey,
      close: async () => {
        await jobs.close();
        await datasets.close();
        await stores.close();
      },
    };
  } catch (error) {
    await datasets.close();
    await stores.close();
    throw error;
  }
}

/** The worker role: stores, job services and a started worker; no HTTP, keys or eager DuckDB. */
export interface WorkerRole {
  jobs: JobServices;
  close(): Promise<void>;
}

/**
 * Opens what `trainyard worker` needs: the metadata and blob stores, the job queues and the
 * event publisher. DuckDB opens only when a job first needs datasets (a DatasetInput or
 * DatasetOutput, or the recipe processor registering its outputs).
 */
export async function openWorkerRole(config: ResolvedServerConfig, log: Logger): Promise<WorkerRole> {
  const stores = await openPlatformStores(config, log, { deliverTopics: false });
  const datasets = lazyDatasets(config, stores);
  try {
    const jobs = await openJobServices({
      config,
      log,
      metadata: stores.metadata,
      blobs: stores.blobs,
      queue: stores.messaging.queues,
      datasets: datasets.get,
      events: stores.events,
    });
    await jobs.startWorker();
    return {
      jobs,
      close: async () => {
        await jobs.close();
        await datasets.close();
        await stores.close();
      },
    };
  } catch (error) {
    await datasets.close();
    await stores.close();
    throw error;
  }
}
