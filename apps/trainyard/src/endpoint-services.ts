import { join } from 'node:path';
import { DatasetSqlStore } from '@trainyard/adapters/sql/dataset-sql-store';
import { EndpointMetricSqlStore } from '@trainyard/adapters/sql/endpoint-metric-sql-store';
import { EndpointSqlStore } from '@trainyard/adapters/sql/endpoint-sql-store';
import { ModelPackageSqlStore } from '@trainyard/adapters/sql/model-package-sql-store';
import type { TrainingJob } from '@trainyard/contracts/training-jobs';
import { EndpointMetricSeries } from '@trainyard/core/endpoints/endpoint-metric-series';
import { EndpointService } from '@trainyard/core/endpoints/endpoint-service';
import type { Executor } from '@trainyard/core/ports/executor';
import { ModelPackageService } from '@trainyard/core/registry/model-package-service';
import { EndpointReconciler } from '@trainyard/runtime/endpoints/endpoint-reconciler';
import type { JobIsolation } from '@trainyard/runtime/jobs/job-sandbox';
import { LocalProcessExecutor } from '@trainyard/runtime/jobs/local-process-executor';
import type { Logger } from 'pino';
import type { ResolvedServerConfig } from './config.js';
import { runtimeEntryPoint } from './entry-points.js';
import type { PlatformStores } from './platform-stores.js';

/** Endpoints: the service the doors call and the reconciler that runs instances (leader only). */
export interface EndpointServices {
  service: EndpointService;
  /** The model registry: CreateModel copies a package's container through it. */
  registry: ModelPackageService;
  /** The stored metric series: API processes add traffic, the reconciler's leader CPU/memory and retention. */
  metrics: EndpointMetricSeries;
  reconciler: EndpointReconciler;
  /** Starts the reconciler loop; it acts only while this process holds the lease. */
  startReconciler(): void;
  /** Stops the loop and this process's instances. */
  close(): Promise<void>;
}

export function openEndpointServices(
  config: ResolvedServerConfig,
  log: Logger,
  stores: PlatformStores,
  trainingJobs: { describe(name: string): Promise<TrainingJob> },
  isolation: () => JobIsolation,
): EndpointServices {
  const store = new EndpointSqlStore(stores.metadata.db);
  const registry = new ModelPackageService({
    store: new ModelPackageSqlStore(stores.metadata.db),
    endpoints: store,
    trainingJobs,
    datasets: new DatasetSqlStore(stores.metadata.db),
    blobs: stores.blobs,
  });
  // Instances run in the jobs' sandbox (bubblewrap as the job user when available), decided on the
  // first spawn: a server that never serves an endpoint never prepares it for them. When it cannot
  // be prepared, the spawn throws and the instance fails with the reason.
  let local: LocalProcessExecutor | undefined;
  const executor: Executor = {
    spawn: (spec) => {
      // The memory watchdog scans /proc in this (API) process: once a second for instances, which
      // live for days, instead of the jobs' 200 ms.
      local ??= new LocalProcessExecutor({ isolation: isolation(), memorySampleMs: 1000 });
      return local.spawn(spec);
    },
  };
  const metrics = new EndpointMetricSeries(new EndpointMetricSqlStore(stores.metadata.db));
  const script = runtimeEntryPoint('model-server');
  const reconciler = new EndpointReconciler({
    store,
    instanceTypes: stores.metadata.instanceTypes,
    leases: stores.metadata.leases,
    blobs: stores.blobs,
    executor,
    modelServer: script
      ? // Our own entry: built-in models get the framed lane beside HTTP.
        { command: process.execPath, args: [script], lane: true }
      : {
          // Unbuilt sources (a test run before `npx tsc -b`): fail the instance with the reason.
          command: process.execPath,
          args: ['-e', 'console.error("the model server is not built; run npx tsc -b"); process.exit(1)'],
        },
    workDir: join(config.dataDir, 'endpoints'),
    healthTimeoutMs: config.endpointHealthTimeoutSeconds * 1000,
    log: log.child({ component: 'endpoint-reconciler' }),
    events: stores.events,
    metrics,
  });
  let started = false;
  return {
    service: new EndpointService(store, stores.metadata.instanceTypes, registry, stores.events),
    registry,
    metrics,
    reconciler,
    startReconciler: () => {
      started = true;
      reconciler.start();
    },
    close: async () => {
      if (started) await reconciler.close();
    },
  };
}
