import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { type Messaging, openMessaging } from '@trainyard/adapters/messaging/open-messaging';
import { openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import type { CreatedKey } from '@trainyard/contracts/access-keys';
import { AccessKeyService } from '@trainyard/core/access/access-key-service';
import { SecretSealer } from '@trainyard/core/access/key-material';
import { seedInstanceTypes } from '@trainyard/core/hardware/default-instance-types';
import { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { DatasetService } from '@trainyard/runtime/data/dataset-service';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';
import { type JobServices, openJobServices } from './job-services.js';

/** The wired platform: the only place adapters are chosen and services are built. */
export interface Platform {
  config: ResolvedServerConfig;
  log: Logger;
  metadata: MetadataStore;
  blobs: BlobStore;
  keys: AccessKeyService;
  /** Job dispatch queue (`trainyard-jobs`): `messaging.queues`. */
  jobQueue: JobQueue;
  /** JobQueue, Topic and Stream of the configured `messaging` backend; this process runs the topic delivery loop. */
  messaging: Messaging;
  /** Publishes `trainyard.<resource>.state-change` events to their topics. */
  events: EventPublisher;
  /** Processing jobs and this process's job worker (started by `startWorker`). */
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
  const metadata = await openMetadataStore(config.metadata);
  let stopMessaging: (() => Promise<void>) | undefined;
  try {
    const applied = await metadata.migrate();
    if (applied.length > 0) log.info({ applied }, 'applied metadata migrations');
    await seedInstanceTypes(metadata.instanceTypes);
    const blobs = await openBlobStore(config.blobs);
    const keys = new AccessKeyService(metadata.accessKeys, sealer);
    const bootstrapKey = config.auth ? await keys.bootstrap(config.adminKey) : undefined;
    const messaging = await openMessaging(config.messaging, metadata);
    const deliveries = messaging.topics.startDeliveryLoop({
      onError: (err) => log.warn({ err }, 'topic delivery loop error'),
    });
    stopMessaging = async () => {
      await deliveries.stop();
      await messaging.close();
    };
    const jobQueue = messaging.queues;
    const events = new EventPublisher(messaging.topics);
    const { DuckDbEngine } = await import('@trainyard/adapters/duckdb/duckdb-engine');
    const { DatasetSqlStore } = await import('@trainyard/adapters/sql/dataset-sql-store');
    const dataEngine = await DuckDbEngine.open({
      memoryLimit: config.dataMemoryLimit,
      memoryLimitSetting: 'TRAINYARD_DATA_MEMORY_LIMIT',
      tempDirectory: join(config.dataDir, 'tmp', 'duckdb'),
      ...(config.dataThreads ? { threads: config.dataThreads } : {}),
    });
    const datasets = new DatasetService({
      store: new DatasetSqlStore(metadata.db),
      blobs,
      engine: dataEngine,
      workDir: join(config.dataDir, 'tmp', 'datasets'),
    });
    const jobs = await openJobServices({ config, log, metadata, blobs, queue: jobQueue, datasets, events });
    return {
      config,
      log,
      metadata,
      blobs,
      keys,
      jobQueue,
      messaging,
      events,
      jobs,
      datasets,
      bootstrapKey,
      close: async () => {
        await jobs.close();
        await dataEngine.close();
        await stopMessaging?.();
        await metadata.close();
      },
    };
  } catch (error) {
    await stopMessaging?.();
    await metadata.close();
    throw error;
  }
}
