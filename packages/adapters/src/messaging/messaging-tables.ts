import type { Generated } from 'kysely';

/**
 * Tables of the embedded messaging adapters (migration 0002-messaging). Same conventions as
 * sql/database.ts: epoch-ms bigint times, 0/1 booleans, JSON documents as text.
 */
export interface MqQueuesTable {
  name: string;
  visibility_timeout_ms: number;
  max_receive_count: number | null;
  dead_letter_queue: string | null;
  fifo: number;
  created_at: number;
}

export interface MqMessagesTable {
  /** Time-ordered, so `order by id` is send order. */
  id: string;
  queue: string;
  body: string;
  attributes: string;
  group_id: string | null;
  sent_at: number;
  visible_at: number;
  receive_count: number;
  /** Nonce of the latest receive; null until received (tells in-flight from delayed). */
  receipt: string | null;
}

export interface MsStreamsTable {
  name: string;
  shard_count: number;
  retention_ms: number;
  max_records_per_shard: number | null;
  created_at: number;
}

export interface MsShardsTable {
  stream: string;
  shard: number;
  last_seq: number;
}

export interface MsRecordsTable {
  stream: string;
  shard: number;
  seq: number;
  partition_key: string;
  data: string;
  arrived_at: number;
}

export interface MsCheckpointsTable {
  stream: string;
  consumer: string;
  shard: number;
  sequence_number: string;
  updated_at: number;
}

export interface TpTopicsTable {
  name: string;
  description: string;
  created_at: number;
}

export interface TpSubscriptionsTable {
  id: string;
  topic: string;
  endpoint: string;
  /** Sealed with the server's master key when `secret_sealed` is 1 (migration 0007). */
  secret: string;
  secret_sealed: Generated<number>;
  retry_policy: string;
  created_at: number;
}

export interface TpDeliveriesTable {
  id: string;
  subscription_id: string;
  message_id: string;
  attempt: number;
  status: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
  at: number;
}

export interface TpDeadLettersTable {
  id: string;
  subscription_id: string;
  message_id: string;
  notification: string;
  attempts: number;
  last_error: string;
  at: number;
}

export type MessagingTables = {
  mq_queues: MqQueuesTable;
  mq_messages: MqMessagesTable;
  ms_streams: MsStreamsTable;
  ms_shards: MsShardsTable;
  ms_records: MsRecordsTable;
  ms_checkpoints: MsCheckpointsTable;
  tp_topics: TpTopicsTable;
  tp_subscriptions: TpSubscriptionsTable;
  tp_deliveries: TpDeliveriesTable;
  tp_dead_letters: TpDeadLettersTable;
};
