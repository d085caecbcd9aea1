import { z } from 'zod';
import {
  type MessagingNameKind,
  maxRecordBytes,
  maxRetentionMs,
  maxShardCount,
  messagingNameRules,
  minRetentionMs,
} from './messaging-limits.js';
import { PageQuery, pageOf } from './pagination.js';
import { defineRoute } from './route.js';

const nameOf = (kind: MessagingNameKind) =>
  z.string().regex(messagingNameRules[kind].re, messagingNameRules[kind].rule);
const TopicName = nameOf('topic');
const QueueName = nameOf('queue');
const StreamName = nameOf('stream');
const Ok = z.object({ ok: z.literal(true) });
const Limit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const Topic = z.object({
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
  subscriptionCount: z.number().int(),
});

/** Where a subscription delivers; in-process handlers are not reachable over REST. */
export const SubscriptionEndpoint = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('http'), url: z.string().url() }).strict(),
  z.object({ kind: z.literal('https'), url: z.string().url() }).strict(),
  z.object({ kind: z.literal('queue'), queue: QueueName }).strict(),
]);

export const RetryPolicy = z.object({
  maxAttempts: z.number().int(),
  initialDelayMs: z.number().int(),
  maxDelayMs: z.number().int(),
  timeoutMs: z.number().int(),
});

export const Subscription = z.object({
  id: z.string(),
  topic: z.string(),
  endpoint: z.union([SubscriptionEndpoint, z.object({ kind: z.literal('handler'), name: z.string() })]),
  retryPolicy: RetryPolicy,
  createdAt: z.string(),
});

/** Returned once, by subscribe: the secret signs every webhook body (`X-Trainyard-Signature: sha256=<hex>`). */
export const SubscriptionWithSecret = Subscription.extend({ secret: z.string() });

export const SubscribeBody = z
  .object({
    endpoint: SubscriptionEndpoint,
    retryPolicy: z
      .object({
        maxAttempts: z.number().int().min(1).max(100),
        initialDelayMs: z.number().int().min(10).max(3_600_000),
        maxDelayMs: z.number().int().min(10).max(43_200_000),
        timeoutMs: z.number().int().min(50).max(120_000),
      })
      .partial()
      .strict()
      .optional(),
    secret: z.string().min(16).max(256).optional(),
  })
  .strict();

export const PublishBody = z
  .object({
    message: z.string().max(256 * 1024),
    subject: z.string().max(256).optional(),
    attributes: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const DeliveryAttempt = z.object({
  subscriptionId: z.string(),
  messageId: z.string(),
  attempt: z.number().int(),
  status: z.enum(['delivered', 'failed', 'dead-lettered']),
  httpStatus: z.number().int().optional(),
  error: z.string().optional(),
  durationMs: z.number().int(),
  at: z.string(),
});

export const DeadLetter = z.object({
  subscriptionId: z.string(),
  messageId: z.string(),
  notification: z.record(z.string(), z.unknown()),
  attempts: z.number().int(),
  lastError: z.string(),
  at: z.string(),
});

export const QueueSummary = z.object({
  name: z.string(),
  visibilityTimeoutMs: z.number().int(),
  maxReceiveCount: z.number().int().optional(),
  deadLetterQueue: z.string().optional(),
  fifo: z.boolean(),
  visible: z.number().int(),
  inFlight: z.number().int(),
  delayed: z.number().int(),
  /** Age of the oldest message in the queue (SQS ApproximateAgeOfOldestMessage), ms; 0 when empty. */
  oldestAgeMs: z.number().int(),
});

export const QueueMessage = z.object({
  id: z.string(),
  body: z.string(),
  attributes: z.record(z.string(), z.string()),
  receiveCount: z.number().int(),
  sentAt: z.string(),
  groupId: z.string().optional(),
});

/** A received message: the fields of QueueMessage and the handle to delete it or change its visibility. */
export const ReceivedQueueMessage = QueueMessage.extend({ receiptHandle: z.string() });

const Attributes = z.record(z.string().min(1).max(256), z.string().max(256_000)).optional();
const SendFields = {
  body: z.string().min(1).max(262_144),
  /** Seconds before the message can be received (SQS DelaySeconds, 0-900). */
  delaySeconds: z.number().int().min(0).max(900).optional(),
  attributes: Attributes,
  /** FIFO queues: messages of one group are delivered one at a time, in order. */
  groupId: z.string().min(1).max(128).optional(),
};

export const StreamDescription = z.object({
  name: z.string(),
  shardCount: z.number().int(),
  retentionMs: z.number().int(),
  maxRecordsPerShard: z.number().int().optional(),
  createdAt: z.string(),
  shards: z.array(
    z.object({
      shardId: z.number().int(),
      records: z.number().int(),
      firstSequenceNumber: z.string().optional(),
      lastSequenceNumber: z.string().optional(),
    }),
  ),
});

export const CreateStreamBody = z
  .object({
    name: StreamName,
    shardCount: z.number().int().min(1).max(maxShardCount).default(1),
    retentionMs: z.number().int().min(minRetentionMs).max(maxRetentionMs).optional(),
    maxRecordsPerShard: z.number().int().min(1).optional(),
  })
  .strict();

export const PutRecordBody = z
  .object({ partitionKey: z.string().min(1).max(256), data: z.string().max(maxRecordBytes) })
  .strict();

export const StreamRecord = z.object({
  shardId: z.number().int(),
  sequenceNumber: z.string(),
  partitionKey: z.string(),
  data: z.string(),
  arrivedAt: z.string(),
});

export const positionTypes = [
  'TRIM_HORIZON',
  'LATEST',
  'AT_SEQUENCE_NUMBER',
  'AFTER_SEQUENCE_NUMBER',
  'AT_TIMESTAMP',
] as const;

export const StreamPosition = z.object({
  type: z.enum(positionTypes),
  sequenceNumber: z.string().optional(),
  timestamp: z.string().optional(),
});

/** Where to read from: `sequenceNumber` with AT/AFTER_SEQUENCE_NUMBER, `timestamp` (ISO 8601) with AT_TIMESTAMP. */
export const GetRecordsQuery = z
  .object({
    position: z.enum(positionTypes).default('TRIM_HORIZON'),
    sequenceNumber: z.string().max(64).optional(),
    timestamp: z.string().max(64).optional(),
    limit: Limit(100, 10_000),
  })
  .strict();

const ByTopic = z.object({ name: TopicName });
const BySubscription = z.object({ id: z.string().min(1).max(64) });
const ByQueue = z.object({ name: QueueName });
const ByStream = z.object({ name: StreamName });

/** Topics and subscriptions (SNS), queues (SQS) and streams (Kinesis). */
export const messagingRoutes = {
  listTopics: defineRoute({
    method: 'GET',
    path: '/api/v1/topics',
    access: 'read',
    summary: 'List topics',
    tag: 'topics',
    query: PageQuery,
    response: pageOf(Topic),
  }),
  createTopic: defineRoute({
    method: 'POST',
    path: '/api/v1/topics',
    access: 'write',
    summary: 'Create a topic (idempotent)',
    tag: 'topics',
    body: z.object({ name: TopicName, description: z.string().max(1024).optional() }).strict(),
    response: Topic,
    status: 201,
  }),
  getTopic: defineRoute({
    method: 'GET',
    path: '/api/v1/topics/:name',
    access: 'read',
    summary: 'Describe a topic',
    tag: 'topics',
    params: ByTopic,
    response: Topic,
  }),
  deleteTopic: defineRoute({
    method: 'DELETE',
    path: '/api/v1/topics/:name',
    access: 'write',
    summary: 'Delete a topic and its subscriptions',
    tag: 'topics',
    params: ByTopic,
    response: Ok,
  }),
  subscribe: defineRoute({
    method: 'POST',
    path: '/api/v1/topics/:name/subscriptions',
    access: 'write',
    summary: 'Subscribe a webhook or a queue; the signing secret is shown only in this response',
    tag: 'topics',
    params: ByTopic,
    body: SubscribeBody,
    response: SubscriptionWithSecret,
    status: 201,
  }),
  listSubscriptions: defineRoute({
    method: 'GET',
    path: '/api/v1/topics/:name/subscriptions',
    access: 'read',
    summary: 'List the subscriptions of a topic',
    tag: 'topics',
    params: ByTopic,
    query: PageQuery,
    response: pageOf(Subscription),
  }),
  publish: defineRoute({
    method: 'POST',
    path: '/api/v1/topics/:name/publish',
    access: 'write',
    summary: 'Publish a message to every subscription (test-publish)',
    tag: 'topics',
    params: ByTopic,
    body: PublishBody,
    response: z.object({ messageId: z.string(), deliveries: z.number().int() }),
  }),
  unsubscribe: defineRoute({
    method: 'DELETE',
    path: '/api/v1/subscriptions/:id',
    access: 'write',
    summary: 'Remove a subscription',
    tag: 'topics',
    params: BySubscription,
    response: Ok,
  }),
  listDeliveries: defineRoute({
    method: 'GET',
    path: '/api/v1/subscriptions/:id/deliveries',
    access: 'read',
    summary: 'Delivery log of a subscription, newest first',
    tag: 'topics',
    params: BySubscription,
    query: z.object({ limit: Limit(100, 1000) }).strict(),
    response: z.object({ items: z.array(DeliveryAttempt) }),
  }),
  listDeadLetters: defineRoute({
    method: 'GET',
    path: '/api/v1/subscriptions/:id/dead-letters',
    access: 'read',
    summary: 'Deliveries given up on after the retry policy, newest first',
    tag: 'topics',
    params: BySubscription,
    query: z.object({ limit: Limit(100, 1000) }).strict(),
    response: z.object({ items: z.array(DeadLetter) }),
  }),
  listQueues: defineRoute({
    method: 'GET',
    path: '/api/v1/queues',
    access: 'read',
    summary: 'List queues with their approximate counts',
    tag: 'queues',
    query: PageQuery,
    response: pageOf(QueueSummary),
  }),
  getQueue: defineRoute({
    method: 'GET',
    path: '/api/v1/queues/:name',
    access: 'read',
    summary: 'Describe a queue and its approximate counts',
    tag: 'queues',
    params: ByQueue,
    response: QueueSummary,
  }),
  peekQueue: defineRoute({
    method: 'GET',
    path: '/api/v1/queues/:name/messages',
    access: 'read',
    summary: 'Read messages without receiving them (inspect a dead-letter queue)',
    tag: 'queues',
    params: ByQueue,
    query: z.object({ limit: Limit(10, 1000) }).strict(),
    response: z.object({ items: z.array(QueueMessage) }),
  }),
  redriveQueue: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/redrive',
    access: 'write',
    summary: 'Move every message of a dead-letter queue back to its source queue (or toQueue)',
    tag: 'queues',
    params: ByQueue,
    body: z.object({ toQueue: QueueName.optional() }).strict(),
    response: z.object({ moved: z.number().int(), toQueue: z.string() }),
  }),
  purgeQueue: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/purge',
    access: 'write',
    summary: 'Delete every message of a queue, received and delayed ones included (SQS PurgeQueue)',
    tag: 'queues',
    params: ByQueue,
    response: z.object({ purged: z.number().int() }),
  }),
  createQueue: defineRoute({
    method: 'PUT',
    path: '/api/v1/queues/:name',
    access: 'write',
    summary: "Create a queue or change its options (idempotent); trainyard-* queues are the platform's",
    tag: 'queues',
    params: ByQueue,
    body: z
      .object({
        visibilityTimeoutSeconds: z.number().int().min(0).max(43_200).optional(),
        maxReceiveCount: z.number().int().min(1).max(1000).optional(),
        deadLetterQueue: QueueName.optional(),
        fifo: z.boolean().optional(),
      })
      .strict(),
    response: QueueSummary,
  }),
  sendMessage: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/messages',
    access: 'write',
    summary: 'Send one message',
    tag: 'queues',
    params: ByQueue,
    body: z.object(SendFields).strict(),
    response: z.object({ messageId: z.string() }),
    status: 201,
  }),
  sendMessageBatch: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/messages/batch',
    access: 'write',
    summary: 'Send up to 10 messages; each entry succeeds or fails on its own',
    tag: 'queues',
    params: ByQueue,
    body: z
      .object({
        entries: z
          .array(z.object({ id: z.string().min(1).max(80), ...SendFields }).strict())
          .min(1)
          .max(10),
      })
      .strict(),
    response: z.object({
      successful: z.array(z.object({ id: z.string(), messageId: z.string() })),
      failed: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
    }),
  }),
  receiveMessages: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/receive',
    access: 'write',
    summary: 'Receive messages: long poll up to waitSeconds, hidden for visibilityTimeoutSeconds',
    tag: 'queues',
    params: ByQueue,
    body: z
      .object({
        maxMessages: z.number().int().min(1).max(10).default(1),
        /** Long polling (SQS WaitTimeSeconds, 0-20). */
        waitSeconds: z.number().int().min(0).max(20).default(0),
        /** Overrides the queue's visibility timeout for these messages. */
        visibilityTimeoutSeconds: z.number().int().min(0).max(43_200).optional(),
      })
      .strict(),
    response: z.object({ items: z.array(ReceivedQueueMessage) }),
  }),
  deleteMessage: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/delete',
    access: 'write',
    summary: 'Delete a received message by its receipt handle',
    tag: 'queues',
    params: ByQueue,
    body: z.object({ receiptHandle: z.string().min(1).max(1024) }).strict(),
    response: z.object({ ok: z.literal(true) }),
  }),
  changeMessageVisibility: defineRoute({
    method: 'POST',
    path: '/api/v1/queues/:name/visibility',
    access: 'write',
    summary: 'Hide a received message for longer, or make it visible now (0)',
    tag: 'queues',
    params: ByQueue,
    body: z
      .object({
        receiptHandle: z.string().min(1).max(1024),
        visibilityTimeoutSeconds: z.number().int().min(0).max(43_200),
      })
      .strict(),
    response: z.object({ ok: z.literal(true) }),
  }),
  listStreams: defineRoute({
    method: 'GET',
    path: '/api/v1/streams',
    access: 'read',
    summary: 'List streams',
    tag: 'streams',
    query: PageQuery,
    response: pageOf(z.object({ name: z.string() })),
  }),
  createStream: defineRoute({
    method: 'POST',
    path: '/api/v1/streams',
    access: 'write',
    summary: 'Create a stream with N shards (idempotent for the same shard count)',
    tag: 'streams',
    body: CreateStreamBody,
    response: StreamDescription,
    status: 201,
  }),
  describeStream: defineRoute({
    method: 'GET',
    path: '/api/v1/streams/:name',
    access: 'read',
    summary: 'Describe a stream: shards, record counts, first and last sequence numbers',
    tag: 'streams',
    params: ByStream,
    response: StreamDescription,
  }),
  deleteStream: defineRoute({
    method: 'DELETE',
    path: '/api/v1/streams/:name',
    access: 'write',
    summary: 'Delete a stream, its records and checkpoints',
    tag: 'streams',
    params: ByStream,
    response: Ok,
  }),
  putRecord: defineRoute({
    method: 'POST',
    path: '/api/v1/streams/:name/records',
    access: 'write',
    summary: 'Put a record; its partition key picks the shard',
    tag: 'streams',
    params: ByStream,
    body: PutRecordBody,
    response: z.object({ shardId: z.number().int(), sequenceNumber: z.string() }),
  }),
  getRecords: defineRoute({
    method: 'GET',
    path: '/api/v1/streams/:name/shards/:shardId/records',
    access: 'read',
    summary: 'Read a shard from a position; continue from nextPosition',
    tag: 'streams',
    params: z.object({
      name: StreamName,
      shardId: z.coerce
        .number()
        .int()
        .min(0)
        .max(maxShardCount - 1),
    }),
    query: GetRecordsQuery,
    response: z.object({ records: z.array(StreamRecord), nextPosition: StreamPosition }),
  }),
};
