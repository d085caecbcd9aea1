import type { Kysely, Migration } from 'kysely';

/** Console sessions (issue 16): the hash of each session id, its key and its expiry. */
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
  },
};
