import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Trust (issue 19): subscription secrets sealed at rest, key expiry and rotation, and the audit
 * log of mutating calls.
 */
export const trustMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // Rows from before stay plaintext (0) until the server seals them at its next start.
    await db.schema
      .alterTable('tp_subscriptions')
      .addColumn('secret_sealed', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    await db.schema.alterTable('access_keys').addColumn('expires_at', 'bigint').execute();
    // Rotation: the secret replaced last stays valid until previous_expires_at.
    await db.schema.alterTable('access_keys').addColumn('previous_secret_hash', 'varchar(64)').execute();
    await db.schema.alterTable('access_keys').addColumn('previous_secret_sealed', 'text').execute();
    await db.schema.alterTable('access_keys').addColumn('previous_expires_at', 'bigint').execute();
    await db.schema
      .createIndex('access_keys_previous_secret_hash')
      .on('access_keys')
      .column('previous_secret_hash')
      .where(sql.ref('previous_secret_hash'), 'is not', null)
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('key_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('key_name', 'varchar(64)', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('door', 'varchar(16)', (c) => c.notNull())
      .addColumn('action', 'varchar(128)', (c) => c.notNull())
      .addColumn('target', 'varchar(1100)', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('source_ip', 'varchar(64)', (c) => c.notNull())
      .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    await db.schema.createIndex('audit_log_key').on('audit_log').columns(['key_id', 'at']).execute();
  },
};
