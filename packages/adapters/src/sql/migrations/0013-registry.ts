import type { Kysely, Migration } from 'kysely';

/**
 * The model registry: groups (keyed by their lowercased name, as their ARNs are) with the last
 * version handed out, and one JSON document per package version.
 */
export const registryMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('model_package_groups')
      .addColumn('name_key', 'varchar(63)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(63)', (c) => c.notNull())
      .addColumn('latest_version', 'integer', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('model_packages')
      .addColumn('group_key', 'varchar(63)', (c) =>
        c.notNull().references('model_package_groups.name_key').onDelete('restrict'),
      )
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('approval_status', 'varchar(32)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('model_packages_pk', ['group_key', 'version'])
      .execute();
  },
};
