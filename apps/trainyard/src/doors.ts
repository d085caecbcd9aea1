import { fileURLToPath } from 'node:url';
import { MultipartUploadService } from '@trainyard/core/blob/multipart-upload-service';
import { InstanceTypeService } from '@trainyard/core/hardware/instance-type-service';
import { MessagingService } from '@trainyard/core/messaging/messaging-service';
import { TagService } from '@trainyard/core/tags/tag-service';
import type { Platform } from './platform.js';
import type { DoorServices } from './server/door-services.js';
import { serverPathsOf } from './server/server-paths.js';

/** apps/console/dist, found the same way from src/doors.ts (tests) and dist/doors.js (node). */
const defaultConsoleDir = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** Builds the services the doors call from a wired platform: handlers never see the platform itself. */
export function doorServicesOf(platform: Platform): DoorServices {
  const { config } = platform;
  return {
    log: platform.log,
    settings: {
      auth: config.auth,
      host: config.host,
      metadata: config.metadata,
      blobs: config.blobs,
      serverPaths: serverPathsOf(config),
      consoleDir: config.consoleDir ?? defaultConsoleDir,
      endpointMetricsIntervalMs: config.endpointMetricsIntervalSeconds * 1000,
      jobIsolation: () => {
        const isolation = platform.jobs.isolation();
        return isolation && { mode: isolation.mode, summary: isolation.summary };
      },
    },
    keys: platform.keys,
    sessions: platform.sessions,
    audit: platform.audit,
    instanceTypes: new InstanceTypeService(platform.metadata.instanceTypes),
    messaging: new MessagingService(platform.messaging),
    processingJobs: platform.jobs.processingJobs,
    trainingJobs: platform.jobs.trainingJobs,
    experiments: platform.jobs.experiments,
    tuningJobs: platform.jobs.tuningJobs,
    recipeRuns: { runRecipe: (body) => platform.jobs.runRecipe(body) },
    datasets: platform.datasets,
    endpoints: platform.endpoints.service,
    endpointMetrics: platform.endpoints.metrics,
    modelPackages: platform.endpoints.registry,
    blobs: platform.blobs,
    multipartUploads: new MultipartUploadService(platform.blobs, platform.metadata.multipartUploads),
    tags: new TagService(platform.metadata.tags),
    liveEvents: platform.liveEvents,
    quickstart: platform.quickstart,
    ready: () => platform.metadata.ping(),
  };
}
