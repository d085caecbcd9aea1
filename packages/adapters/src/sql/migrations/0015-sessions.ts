import type { Kysely, Migration } from 'kysely';

/**
 * Console (issue 16): sessions (the hash of each session id, its key and its expiry) and the runs
 * of the sample project.
 */
export const sessionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('console_sessions')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('key_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('console_sessions_key').on('console_sessions').column('key_id').execute();
    await db.schema
      .createIndex('console_sessions_expires')
      .on('console_sessions')
      .column('expires_at')
      .execute();
    await db.schema
      .createTable('quickstarts')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('quickstarts_created').on('quickstarts').column('created_at').execute();
  },
};
