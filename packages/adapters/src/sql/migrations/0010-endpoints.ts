import type { Kysely, Migration } from 'kysely';

/** Models, endpoint configs, endpoints and endpoint instances: one JSON document per row. */
export const endpointsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    for (const table of ['models', 'endpoint_configs']) {
      await db.schema
        .createTable(table)
        .addColumn('name', 'varchar(63)', (c) => c.primaryKey())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    }
    await db.schema
      .createTable('endpoints')
      .addColumn('name', 'varchar(63)', (c) => c.primaryKey())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('endpoint_instances')
      .addColumn('instance_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('endpoint_name', 'varchar(63)', (c) => c.notNull())
      .addColumn('owner', 'varchar(128)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('endpoint_instances_endpoint')
      .on('endpoint_instances')
      .column('endpoint_name')
      .execute();
  },
};
