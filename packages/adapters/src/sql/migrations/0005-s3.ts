import type { Kysely, Migration } from 'kysely';

export const s3Migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('s3_multipart_uploads')
      .addColumn('upload_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('bucket', 'varchar(63)', (c) => c.notNull())
      .addColumn('object_key', 'varchar(1024)', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('initiated_by', 'varchar(64)', (c) => c.notNull())
      .addColumn('initiated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('s3_multipart_uploads_bucket_key')
      .on('s3_multipart_uploads')
      .columns(['bucket', 'object_key', 'initiated_at'])
      .execute();
    await db.schema
      .createTable('s3_multipart_parts')
      .addColumn('upload_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('part_number', 'integer', (c) => c.notNull())
      .addColumn('part_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('etag', 'varchar(64)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('last_modified', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('s3_multipart_parts_pk', ['upload_id', 'part_number'])
      .execute();
  },
};
