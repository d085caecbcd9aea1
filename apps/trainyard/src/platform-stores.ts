import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { type Messaging, openMessaging } from '@trainyard/adapters/messaging/open-messaging';
import { type OpenedMetadataStore, openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import type { SecretSealer } from '@trainyard/core/access/key-material';
import { seedInstanceTypes } from '@trainyard/core/hardware/default-instance-types';
import { EventPublisher } from '@trainyard/core/messaging/event-publisher';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import { sweepScratch } from '@trainyard/runtime/data/dataset-staging';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';

/** What every role opens: metadata, blobs, messaging and the event publisher. */
export interface PlatformStores {
  metadata: OpenedMetadataStore;
  blobs: BlobStore;
  messaging: Messaging;
  events: EventPublisher;
  close(): Promise<void>;
}

/**
 * Opens the stores every role shares and applies pending migrations. `deliverTopics` runs the
 * topic delivery loop in this process (the API role does; a worker only publishes); `sealer`
 * seals webhook secrets at rest (the API role, which subscribes and delivers, passes it).
 */
export async function openPlatformStores(
  config: ResolvedServerConfig,
  log: Logger,
  options: { deliverTopics: boolean; sealer?: SecretSealer | undefined },
): Promise<PlatformStores> {
  mkdirSync(config.dataDir, { recursive: true });
  // Scratch of processes that ended mid-operation (a crash, an upload cut off by shutdown).
  const swept = await sweepScratch(join(config.dataDir, 'tmp', 'datasets'));
  if (swept > 0) log.info({ swept }, 'removed scratch folders left by processes that ended');
  const metadata = await openMetadataStore(config.metadata);
  let messaging: Messaging | undefined;
  let stopDeliveries: (() => Promise<void>) | undefined;
  let blobs: BlobStore | undefined;
  try {
    const applied = await metadata.migrate();
    if (applied.length > 0) log.info({ applied }, 'applied metadata migrations');
    await seedInstanceTypes(metadata.instanceTypes);
    blobs = await openBlobStore(config.blobs);
    messaging = await openMessaging(config.messaging, metadata, {
      webhookAllowedNetworks: config.webhookAllowedNetworks,
      ...(options.sealer ? { sealer: options.sealer } : {}),
    });
    if (options.deliverTopics) {
      const deliveries = messaging.topics.startDeliveryLoop({
        onError: (err) => log.warn({ err }, 'topic delivery loop error'),
      });
      stopDeliveries = () => deliveries.stop();
    }
    const opened = messaging;
    const openedBlobs = blobs;
    return {
      metadata,
      blobs: openedBlobs,
      messaging: opened,
      events: new EventPublisher(opened.topics),
      close: async () => {
        await stopDeliveries?.();
        await opened.close();
        openedBlobs.close?.();
        await metadata.close();
      },
    };
  } catch (error) {
    await stopDeliveries?.();
    await messaging?.close();
    blobs?.close?.();
    await metadata.close();
    throw error;
  }
}

/** The dataset service, with DuckDB opened on the first call only; close() is a no-op until then. */
export interface LazyDatasets {
  get(): Promise<DatasetService>;
  close(): Promise<void>;
}

export function lazyDatasets(config: ResolvedServerConfig, stores: PlatformStores): LazyDatasets {
  let opening: Promise<{ service: DatasetService; close(): Promise<void> }> | undefined;
  const open = async () => {
    const { DuckDbEngine } = await import('@trainyard/adapters/duckdb/duckdb-engine');
    const { DatasetSqlStore } = await import('@trainyard/adapters/sql/dataset-sql-store');
    const { DatasetService } = await import('@trainyard/runtime/data/dataset-service');
    const engine = await DuckDbEngine.open({
      memoryLimit: config.dataMemoryLimit,
      memoryLimitSetting: 'TRAINYARD_DATA_MEMORY_LIMIT',
      tempDirectory: join(config.dataDir, 'tmp', 'duckdb'),
      ...(config.dataThreads ? { threads: config.dataThreads } : {}),
    });
    const service = new DatasetService({
      store: new DatasetSqlStore(stores.metadata.db),
      blobs: stores.blobs,
      engine,
      workDir: join(config.dataDir, 'tmp', 'datasets'),
    });
    return { service, close: () => engine.close() };
  };
  return {
    get: async () => {
      opening ??= open();
      return (await opening).service;
    },
    close: async () => {
      if (opening) await (await opening.catch(() => undefined))?.close();
    },
  };
}
