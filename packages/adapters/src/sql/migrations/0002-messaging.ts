import type { Kysely, Migration } from 'kysely';

/** Embedded JobQueue, Stream and the Topic registry (see messaging/messaging-tables.ts). */
export const messagingMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('mq_queues')
      .addColumn('name', 'varchar(80)', (c) => c.primaryKey())
      .addColumn('visibility_timeout_ms', 'bigint', (c) => c.notNull())
      .addColumn('max_receive_count', 'integer')
      .addColumn('dead_letter_queue', 'varchar(80)')
      .addColumn('fifo', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('mq_messages')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('queue', 'varchar(80)', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('attributes', 'text', (c) => c.notNull())
      .addColumn('group_id', 'varchar(128)')
      .addColumn('sent_at', 'bigint', (c) => c.notNull())
      .addColumn('visible_at', 'bigint', (c) => c.notNull())
      .addColumn('receive_count', 'integer', (c) => c.notNull())
      .addColumn('receipt', 'varchar(40)')
      .execute();
    await db.schema
      .createIndex('mq_messages_ready')
      .on('mq_messages')
      .columns(['queue', 'visible_at'])
      .execute();
    await db.schema
      .createIndex('mq_messages_order')
      .on('mq_messages')
      .columns(['queue', 'group_id', 'id'])
      .execute();

    await db.schema
      .createTable('ms_streams')
      .addColumn('name', 'varchar(80)', (c) => c.primaryKey())
      .addColumn('shard_count', 'integer', (c) => c.notNull())
      .addColumn('retention_ms', 'bigint', (c) => c.notNull())
      .addColumn('max_records_per_shard', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ms_shards')
      .addColumn('stream', 'varchar(80)', (c) => c.notNull())
      .addColumn('shard', 'integer', (c) => c.notNull())
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ms_shards_pk', ['stream', 'shard'])
      .execute();
    await db.schema
      .createTable('ms_records')
      .addColumn('stream', 'varchar(80)', (c) => c.notNull())
      .addColumn('shard', 'integer', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('partition_key', 'varchar(256)', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('arrived_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ms_records_pk', ['stream', 'shard', 'seq'])
      .execute();
    await db.schema
      .createIndex('ms_records_time')
      .on('ms_records')
      .columns(['stream', 'shard', 'arrived_at'])
      .execute();
    await db.schema
      .createTable('ms_checkpoints')
      .addColumn('stream', 'varchar(80)', (c) => c.notNull())
      .addColumn('consumer', 'varchar(80)', (c) => c.notNull())
      .addColumn('shard', 'integer', (c) => c.notNull())
      .addColumn('sequence_number', 'varchar(64)', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ms_checkpoints_pk', ['stream', 'consumer', 'shard'])
      .execute();

    await db.schema
      .createTable('tp_topics')
      .addColumn('name', 'varchar(256)', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('tp_subscriptions')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('topic', 'varchar(256)', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('retry_policy', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tp_subscriptions_topic').on('tp_subscriptions').column('topic').execute();
    await db.schema
      .createTable('tp_deliveries')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('subscription_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('message_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('tp_deliveries_subscription')
      .on('tp_deliveries')
      .columns(['subscription_id', 'id'])
      .execute();
    await db.schema
      .createTable('tp_dead_letters')
      .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('subscription_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('message_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('notification', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('tp_dead_letters_subscription')
      .on('tp_dead_letters')
      .columns(['subscription_id', 'id'])
      .execute();
  },
};
