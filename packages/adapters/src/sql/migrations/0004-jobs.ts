import type { Kysely, Migration } from 'kysely';

export const jobsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('name', 'varchar(63)', (c) => c.notNull())
      .addColumn('arn', 'varchar(256)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('secondary_status', 'varchar(32)', (c) => c.notNull())
      .addColumn('transitions', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('failure', 'text')
      .addColumn('exit_message', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('ended_at', 'bigint')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('claim_holder', 'varchar(128)')
      .addColumn('claim_expires_at', 'bigint')
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jobs_kind_name').on('jobs').columns(['kind', 'name']).unique().execute();
    await db.schema.createIndex('jobs_kind_status').on('jobs').columns(['kind', 'status']).execute();

    await db.schema
      .createTable('job_logs')
      .addColumn('job_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('stream', 'varchar(8)', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_logs_pk', ['job_id', 'seq'])
      .execute();
  },
};
