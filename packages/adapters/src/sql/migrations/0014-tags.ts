import type { Kysely, Migration } from 'kysely';

/** SageMaker door (issue 15): AddTags/ListTags/DeleteTags on any resource ARN. */
export const tagsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('resource_tags')
      .addColumn('resource', 'varchar(256)', (c) => c.notNull())
      .addColumn('tag_key', 'varchar(128)', (c) => c.notNull())
      .addColumn('tag_value', 'varchar(256)', (c) => c.notNull())
      .addPrimaryKeyConstraint('resource_tags_pk', ['resource', 'tag_key'])
      .execute();
  },
};
