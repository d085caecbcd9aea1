import type { Migration } from 'kysely';
import { platformMigration } from './migrations/0001-platform.js';

/**
 * Every migration in order. Names are stored in the database, so never rename or reorder one:
 * append a new file for each change.
 */
export const migrationList: Record<string, Migration> = {
  '0001-platform': platformMigration,
};
