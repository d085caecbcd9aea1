import type { Kysely, Migration } from 'kysely';

export const datasetsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('datasets')
      .addColumn('name', 'varchar(63)', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('latest_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('dataset_versions')
      .addColumn('dataset', 'varchar(63)', (c) => c.notNull().references('datasets.name'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      // The rest of the version (schema, counts, hash, lineage, URIs) as one JSON document.
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addPrimaryKeyConstraint('dataset_versions_pk', ['dataset', 'version'])
      .execute();
  },
};
