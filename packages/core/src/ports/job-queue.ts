/**
 * JobQueue: SQS semantics. At-least-once delivery; a received message is invisible to other
 * receivers until its visibility timeout passes or it is deleted; every receive increments its
 * receive count; past the queue's `maxReceiveCount` it moves to the dead-letter queue.
 * Adapters: embedded (in the metadata database, SQLite or PostgreSQL with `FOR UPDATE SKIP LOCKED`)
 * and Redis (Lua scripts). Times are milliseconds. Queue names: 1..80 of `A-Za-z0-9_.-`.
 *
 * A message moves to the dead-letter queue when a receive finds it visible after it was already
 * received `maxReceiveCount` times: so with maxReceiveCount 3 a consumer sees it three times.
 *
 * @example
 * await queue.createQueue('jobs', { visibilityTimeoutMs: 60_000, maxReceiveCount: 5 });
 * await queue.send('jobs', JSON.stringify({ job: 'train-1' }));
 * for (const m of await queue.receive('jobs', { maxMessages: 10, waitMs: 20_000 })) {
 *   await work(m.body);
 *   await queue.delete('jobs', m.receiptHandle);
 * }
 */
export interface QueueOptions {
  /** Default visibility timeout of receives, ms. Default 30 000. */
  visibilityTimeoutMs?: number;
  /** Receives after which a message moves to `deadLetterQueue`. Default: never. */
  maxReceiveCount?: number;
  /** Name of the dead-letter queue; created when missing. Default `<name>-dlq` when maxReceiveCount is set. */
  deadLetterQueue?: string;
  /** FIFO queues deliver at most one in-flight message per message group, in send order. */
  fifo?: boolean;
}

export interface SendOptions {
  /** The message stays invisible for this long after sending, ms. Default 0. */
  delayMs?: number;
  attributes?: Record<string, string>;
  /** FIFO queues only: messages of one group are delivered one at a time, in order. */
  groupId?: string;
}

export interface ReceivedMessage {
  id: string;
  body: string;
  attributes: Record<string, string>;
  /** How many times this message has been received, this receive included. */
  receiveCount: number;
  /** Pass to delete / changeVisibility; a later receive of the same message gets a new one. */
  receiptHandle: string;
  sentAt: Date;
  groupId?: string;
}

export interface ReceiveOptions {
  /** At most this many messages (1..100). Default 1. */
  maxMessages?: number;
  /** Overrides the queue's visibility timeout for these messages, ms. */
  visibilityTimeoutMs?: number;
  /** Long polling: wait up to this long for a message when none is ready, ms. Default 0. */
  waitMs?: number;
}

export interface QueueCounts {
  /** Ready to receive now. */
  visible: number;
  /** Received and neither deleted nor timed out. */
  inFlight: number;
  /** Sent with a delay that has not passed. */
  delayed: number;
}

/** A queue's options as stored, defaults filled in. */
export interface QueueDescription {
  name: string;
  visibilityTimeoutMs: number;
  maxReceiveCount: number | undefined;
  deadLetterQueue: string | undefined;
  fifo: boolean;
}

export interface JobQueue {
  /** `embedded-sqlite`, `embedded-postgres` or `redis`. */
  readonly kind: string;
  /** Creates the queue or updates its options; idempotent. */
  createQueue(name: string, options?: QueueOptions): Promise<void>;
  /** @throws NOT_FOUND for an unknown queue */
  send(queue: string, body: string, options?: SendOptions): Promise<{ id: string }>;
  /** @throws NOT_FOUND for an unknown queue; INVALID_ARGUMENT for maxMessages outside 1..100 */
  receive(queue: string, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Acknowledges a message. A stale receipt handle (the message was received again) is refused with FAILED_PRECONDITION. */
  delete(queue: string, receiptHandle: string): Promise<void>;
  /** Extends or shortens the invisibility of a received message (0 makes it visible now). */
  changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutMs: number): Promise<void>;
  counts(queue: string): Promise<QueueCounts>;
  /** Reads up to `limit` (default 10) messages in send order without receiving them (for DLQ inspection); receipt handles are empty. */
  peek(queue: string, limit?: number): Promise<ReceivedMessage[]>;
  /** Moves every message of a dead-letter queue back to `toQueue`; returns how many moved. */
  redrive(deadLetterQueue: string, toQueue: string): Promise<number>;
  /**
   * Deletes every message of the queue, received or delayed ones included (SQS PurgeQueue); the
   * queue and its options stay. Receipt handles of purged messages go stale. Returns how many went.
   * @throws NOT_FOUND for an unknown queue
   */
  purge(queue: string): Promise<number>;
  /** Queue names, sorted. */
  listQueues(): Promise<string[]>;
  /** @throws NOT_FOUND for an unknown queue */
  describeQueue(name: string): Promise<QueueDescription>;
  close(): Promise<void>;
}
