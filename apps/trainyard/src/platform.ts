import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Messaging } from '@trainyard/adapters/messaging/open-messaging';
import type { CreatedKey } from '@trainyard/contracts/access-keys';
import { liveEventTopics } from '@trainyard/contracts/event-routes';
import { sessionLifetimeSeconds } from '@trainyard/contracts/session-routes';
import { AccessKeyService } from '@trainyard/core/access/access-key-service';
import { AuditService } from '@trainyard/core/access/audit-service';
import { SecretSealer } from '@trainyard/core/access/key-material';
import { SessionService } from '@trainyard/core/access/session-service';
import { EventFeed } from '@trainyard/core/messaging/event-feed';
import type { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';
import { type EndpointServices, openEndpointServices } from './endpoint-services.js';
import { type JobServices, openJobServices } from './job-services.js';
import {
  type LazyDatasets,
  lazyDatasets,
  openPlatformStores,
  type PlatformStores,
} from './platform-stores.js';
import { QuickstartService } from './quickstart/quickstart-service.js';
import { EndpointRouter } from './server/endpoint-router.js';

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
  /** Console sessions: an access key traded for an HttpOnly cookie at sign-in. */
  sessions: SessionService;
  /** The audit log of mutating calls (doors record, admins list). */
  audit: AuditService;
  /** Job dispatch queues (`trainyard-jobs-<kind>`): `messaging.queues`. */
  jobQueue: JobQueue;
  /** JobQueue, Topic and Stream of the configured `messaging` backend; this process runs the topic delivery loop. */
  messaging: Messaging;
  /** Publishes `trainyard.<resource>.state-change` events to their topics. */
  events: EventPublisher;
  /** Events of every process as they happen, for `/api/v1/events` (starts with its first reader). */
  liveEvents: EventFeed;
  /** Job services and this process's job worker (started by `startWorker`). */
  jobs: JobServices;
  /** Datasets, their versions and recipes, on DuckDB. */
  datasets: DatasetService;
  /** Models, endpoint configs, endpoints and the reconciler (started by `startReconciler`). */
  endpoints: EndpointServices;
  /** The sample project (`POST /api/v1/quickstart`, `trainyard quickstart`). */
  quickstart: QuickstartService;
  /** The admin key created at this start, to be printed once; undefined when keys existed. */
  bootstrapKey: CreatedKey | undefined;
  close(): Promise<void>;
}

/** Stable per server address, so a restart reuses its event queue instead of leaving one behind. */
function feedNameOf(config: ResolvedServerConfig): string {
  return createHash('sha256')
    .update(`${hostname()}:${config.host}:${config.port}`)
    .digest('hex')
    .slice(0, 16);
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

/**
 * Opens what every role shares (stores, datasets on first use, job services), lets `build` add
 * the role's own parts, and closes them in reverse order.
 */
async function openRole<T>(
  config: ResolvedServerConfig,
  log: Logger,
  options: { deliverTopics: boolean; sealer?: SecretSealer | undefined },
  build: (parts: { stores: PlatformStores; datasets: LazyDatasets; jobs: JobServices }) => Promise<T>,
): Promise<T & { close(): Promise<void> }> {
  const stores = await openPlatformStores(config, log, options);
  const datasets = lazyDatasets(config, stores);
  let jobs: JobServices | undefined;
  try {
    jobs = await openJobServices({
      config,
      log,
      metadata: stores.metadata,
      blobs: stores.blobs,
      queue: stores.messaging.queues,
      datasets: datasets.get,
      events: stores.events,
    });
    const opened = jobs;
    const role = await build({ stores, datasets, jobs: opened });
    return {
      ...role,
      close: async () => {
        await opened.close();
        await datasets.close();
        await stores.close();
      },
    };
  } catch (error) {
    await jobs?.close();
    await datasets.close();
    await stores.close();
    throw error;
  }
}

export async function openPlatform(config: ResolvedServerConfig, log: Logger): Promise<Platform> {
  mkdirSync(config.dataDir, { recursive: true });
  const sealer = new SecretSealer(loadMasterKey(config));
  const platform = await openRole(
    config,
    log,
    { deliverTopics: true, sealer },
    async ({ stores, datasets, jobs }) => {
      const { metadata, blobs, messaging, events } = stores;
      const keys = new AccessKeyService(metadata.accessKeys, sealer);
      const endpoints = openEndpointServices(config, log, stores, jobs.trainingJobs, jobs.prepareIsolation);
      const bootstrapKey = config.auth ? await keys.bootstrap(config.adminKey) : undefined;
      return {
        config,
        log,
        metadata,
        blobs,
        keys,
        sessions: new SessionService(metadata.sessions, keys, { lifetimeMs: sessionLifetimeSeconds * 1000 }),
        audit: new AuditService(metadata.auditLog),
        jobQueue: messaging.queues,
        messaging,
        events,
        liveEvents: new EventFeed({
          topics: messaging.topics,
          queues: messaging.queues,
          leases: metadata.leases,
          name: feedNameOf(config),
          knownTopics: liveEventTopics,
          onError: (err) => log.warn({ err }, 'live event feed error'),
        }),
        jobs,
        // The API serves datasets directly, so it opens DuckDB at start.
        datasets: await datasets.get(),
        endpoints,
        quickstart: new QuickstartService({
          datasets: () => datasets.get(),
          recipeRuns: { runRecipe: (body) => jobs.runRecipe(body) },
          processingJobs: jobs.processingJobs,
          trainingJobs: jobs.trainingJobs,
          endpoints: endpoints.service,
          router: new EndpointRouter(endpoints.service),
          registry: endpoints.registry,
          events,
          store: metadata.quickstarts,
          log,
        }),
        bootstrapKey,
      };
    },
  );
  const closeRole = platform.close;
  return {
    ...platform,
    close: async () => {
      await platform.quickstart.close();
      await platform.liveEvents.close();
      // Instances stop before the stores they are recorded in close.
      await platform.endpoints.close();
      await closeRole();
    },
  };
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
export function openWorkerRole(config: ResolvedServerConfig, log: Logger): Promise<WorkerRole> {
  return openRole(config, log, { deliverTopics: false }, async ({ jobs }) => {
    await jobs.startWorker();
    return { jobs };
  });
}
