import type { ProcessingJob } from '@trainyard/contracts/processing-jobs';
import type { RunRecipeBody } from '@trainyard/contracts/recipes';
import type { AccessKeyService } from '@trainyard/core/access/access-key-service';
import type { AuditService } from '@trainyard/core/access/audit-service';
import type { SessionService } from '@trainyard/core/access/session-service';
import type { MultipartUploadService } from '@trainyard/core/blob/multipart-upload-service';
import type { EndpointMetricSeries } from '@trainyard/core/endpoints/endpoint-metric-series';
import type { EndpointService } from '@trainyard/core/endpoints/endpoint-service';
import type { InstanceTypeService } from '@trainyard/core/hardware/instance-type-service';
import type { EventFeed } from '@trainyard/core/messaging/event-feed';
import type { MessagingService } from '@trainyard/core/messaging/messaging-service';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import type { ModelPackageService } from '@trainyard/core/registry/model-package-service';
import type { TagService } from '@trainyard/core/tags/tag-service';
import type { ExperimentService } from '@trainyard/core/training/experiment-service';
import type { TuningJobService } from '@trainyard/core/tuning/tuning-job-service';
import type { DatasetService } from '@trainyard/runtime/data/dataset-service';
import type { Logger } from 'pino';
import type { ProcessingJobs, TrainingJobs } from '../job-services.js';
import type { QuickstartService } from '../quickstart/quickstart-service.js';

/** What a door shows of the server's settings: auth, addressing and the home page. */
export interface DoorSettings {
  /** False only on a loopback-only server: every caller is an anonymous admin. */
  auth: boolean;
  /** The listen host; a name (not an IP) also serves virtual-hosted S3 buckets. */
  host: string;
  /** Metadata and blob store URLs, shown (credentials masked) on the home page. */
  metadata: string;
  blobs: string;
  /** The server's own folders (data folder, SQLite file, blob root): replaced in every error shown to a caller. */
  serverPaths: readonly string[];
  /** Folder of the built web console (its index.html and assets); served at `/` when it holds a build. */
  consoleDir: string;
  /** Which isolation this process's job worker gives job processes (`bubblewrap`, `unprivileged-user`, `none`), undefined without a worker; `/readyz` reports it. */
  jobIsolation?: (() => { mode: string; summary: string } | undefined) | undefined;
  /** How often the API process adds its endpoint traffic counts to the stored series (default 5 s; tests shorten it). */
  endpointMetricsIntervalMs?: number | undefined;
}

/**
 * Everything the doors (REST, S3, the SageMaker door next) may call. The composition root
 * builds it; handlers take the few services they use from it, never stores or ports.
 */
export interface DoorServices {
  log: Logger;
  settings: DoorSettings;
  keys: AccessKeyService;
  /** Console sessions (the /api/v1 session cookie); the S3 and SageMaker doors never read them. */
  sessions: SessionService;
  /** Every door records its mutating calls here; admins list them. */
  audit: AuditService;
  instanceTypes: InstanceTypeService;
  messaging: MessagingService;
  processingJobs: ProcessingJobs;
  trainingJobs: TrainingJobs;
  /** Training jobs grouped by ExperimentConfig, compared side by side. */
  experiments: ExperimentService;
  /** Hyperparameter tuning jobs (their trials are training jobs). */
  tuningJobs: TuningJobService;
  /** `POST /recipes/run`: checks the recipe on a few rows, then queues a recipe-processor job. */
  recipeRuns: { runRecipe(body: RunRecipeBody): Promise<ProcessingJob> };
  datasets: DatasetService;
  /** Models, endpoint configs and endpoints; the router reads routes from it. */
  endpoints: EndpointService;
  /** The stored endpoint metric series the invocation door adds to and the metrics route reads. */
  endpointMetrics: EndpointMetricSeries;
  /** The model registry: package groups, versions, approval, lineage. */
  modelPackages: ModelPackageService;
  /** The S3 door's object store; it is the domain of S3 itself, there is no service above it. */
  blobs: BlobStore;
  multipartUploads: MultipartUploadService;
  /** Tags on resources by ARN (the SageMaker door's AddTags/ListTags/DeleteTags and create-time Tags). */
  tags: TagService;
  /** Platform events from every process, live (`/api/v1/events`). */
  liveEvents: Pick<EventFeed, 'subscribe'>;
  /** The sample project's runs. */
  quickstart: Pick<QuickstartService, 'start' | 'get' | 'list'>;
  /** True when the metadata store answers; `/readyz` reports it. */
  ready(): Promise<boolean>;
}
