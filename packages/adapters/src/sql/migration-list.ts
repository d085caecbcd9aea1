import type { Migration } from 'kysely';
import { platformMigration } from './migrations/0001-platform.js';
import { messagingMigration } from './migrations/0002-messaging.js';
import { datasetsMigration } from './migrations/0003-datasets.js';
import { jobsMigration } from './migrations/0004-jobs.js';
import { s3Migration } from './migrations/0005-s3.js';
import { trustMigration } from './migrations/0007-trust.js';
import { endpointsMigration } from './migrations/0010-endpoints.js';
import { registryMigration } from './migrations/0013-registry.js';
import { tagsMigration } from './migrations/0014-tags.js';
import { sessionsMigration } from './migrations/0015-sessions.js';
import { endpointMetricsMigration } from './migrations/0016-endpoint-metrics.js';
import { experimentsMigration } from './migrations/0017-experiments.js';

/**
 * Every migration in order. Names are stored in the database, so never rename or reorder one:
 * append a new file for each change.
 */
export const migrationList: Record<string, Migration> = {
  '0001-platform': platformMigration,
  '0002-messaging': messagingMigration,
  '0003-datasets': datasetsMigration,
  '0004-jobs': jobsMigration,
  '0005-s3': s3Migration,
  '0007-trust': trustMigration,
  '0010-endpoints': endpointsMigration,
  '0013-registry': registryMigration,
  '0014-tags': tagsMigration,
  '0015-sessions': sessionsMigration,
  '0016-endpoint-metrics': endpointMetricsMigration,
  '0017-experiments': experimentsMigration,
};
