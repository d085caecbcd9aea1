import { invalidArgument } from '@trainyard/contracts/errors';
import type { messagingRoutes } from '@trainyard/contracts/messaging-routes';
import type { QueueSummary } from '@trainyard/core/messaging/messaging-service';
import type { ReceivedMessage } from '@trainyard/core/ports/job-queue';
import type { StreamDescription, StreamPosition } from '@trainyard/core/ports/stream';
import type { Subscription, TopicInfo } from '@trainyard/core/ports/topic';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

const iso = (d: Date) => d.toISOString();

const topicOut = (t: TopicInfo) => ({ ...t, createdAt: iso(t.createdAt) });
const subscriptionOut = (s: Subscription) => ({ ...s, createdAt: iso(s.createdAt) });
const messageOut = (m: ReceivedMessage) => ({
  id: m.id,
  body: m.body,
  attributes: m.attributes,
  receiveCount: m.receiveCount,
  sentAt: iso(m.sentAt),
  ...(m.groupId === undefined ? {} : { groupId: m.groupId }),
});
const streamOut = (d: StreamDescription) => ({ ...d, createdAt: iso(d.createdAt) });
const positionOut = (p: StreamPosition) =>
  p.type === 'AT_TIMESTAMP' ? { type: p.type, timestamp: iso(p.timestamp) } : p;

const queueOut = (q: QueueSummary) => ({
  name: q.name,
  visibilityTimeoutMs: q.visibilityTimeoutMs,
  ...(q.maxReceiveCount === undefined ? {} : { maxReceiveCount: q.maxReceiveCount }),
  ...(q.deadLetterQueue === undefined ? {} : { deadLetterQueue: q.deadLetterQueue }),
  fifo: q.fifo,
  visible: q.visible,
  inFlight: q.inFlight,
  delayed: q.delayed,
  oldestAgeMs: Math.round(q.oldestAgeMs),
});

const sendOptionsOf = (m: {
  delaySeconds?: number | undefined;
  attributes?: Record<string, string> | undefined;
  groupId?: string | undefined;
}) => ({
  ...(m.delaySeconds === undefined ? {} : { delayMs: m.delaySeconds * 1000 }),
  ...(m.attributes === undefined ? {} : { attributes: m.attributes }),
  ...(m.groupId === undefined ? {} : { groupId: m.groupId }),
});

function positionOf(query: {
  position: StreamPosition['type'];
  sequenceNumber?: string;
  timestamp?: string;
}) {
  switch (query.position) {
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      if (!query.sequenceNumber)
        throw invalidArgument('query.sequenceNumber', `is required with ${query.position}`);
      return { type: query.position, sequenceNumber: query.sequenceNumber };
    case 'AT_TIMESTAMP': {
      const timestamp = new Date(query.timestamp ?? '');
      if (!query.timestamp || Number.isNaN(timestamp.getTime())) {
        throw invalidArgument('query.timestamp', 'an ISO 8601 time is required with AT_TIMESTAMP');
      }
      return { type: query.position, timestamp };
    }
    default:
      return { type: query.position };
  }
}

export function messagingHandlers({
  messaging,
}: Pick<DoorServices, 'messaging'>): HandlersOf<typeof messagingRoutes> {
  return {
    listTopics: async ({ query }) => {
      const page = await messaging.listTopics(query);
      return { ...page, items: page.items.map(topicOut) };
    },
    createTopic: async ({ body }) =>
      topicOut(
        await messaging.createTopic(body.name, {
          ...(body.description === undefined ? {} : { description: body.description }),
        }),
      ),
    getTopic: async ({ params }) => topicOut(await messaging.getTopic(params.name)),
    deleteTopic: async ({ params }) => {
      await messaging.deleteTopic(params.name);
      return { ok: true as const };
    },
    subscribe: async ({ params, body }) => {
      const created = await messaging.subscribe(params.name, body.endpoint, {
        ...(body.retryPolicy === undefined ? {} : { retryPolicy: body.retryPolicy }),
        ...(body.secret === undefined ? {} : { secret: body.secret }),
      });
      return { ...subscriptionOut(created), secret: created.secret };
    },
    listSubscriptions: async ({ params, query }) => {
      const page = await messaging.listSubscriptions(params.name, query);
      return { ...page, items: page.items.map(subscriptionOut) };
    },
    publish: async ({ params, body }) =>
      messaging.publish(params.name, body.message, {
        ...(body.subject === undefined ? {} : { subject: body.subject }),
        ...(body.attributes === undefined ? {} : { attributes: body.attributes }),
      }),
    unsubscribe: async ({ params }) => {
      await messaging.unsubscribe(params.id);
      return { ok: true as const };
    },
    listDeliveries: async ({ params, query }) => ({
      items: (await messaging.deliveryLog(params.id, query.limit)).map((a) => ({ ...a, at: iso(a.at) })),
    }),
    listDeadLetters: async ({ params, query }) => ({
      items: (await messaging.deadLetters(params.id, query.limit)).map((d) => ({
        ...d,
        notification: { ...d.notification },
        at: iso(d.at),
      })),
    }),
    listQueues: async ({ query }) => {
      const page = await messaging.listQueues(query);
      return { ...page, items: page.items.map(queueOut) };
    },
    getQueue: async ({ params }) => queueOut(await messaging.getQueue(params.name)),
    peekQueue: async ({ params, query }) => ({
      items: (await messaging.peekQueue(params.name, query.limit)).map(messageOut),
    }),
    redriveQueue: async ({ params, body }) => messaging.redrive(params.name, body.toQueue),
    purgeQueue: async ({ params }) => messaging.purgeQueue(params.name),
    createQueue: async ({ params, body }) =>
      queueOut(
        await messaging.createQueue(params.name, {
          ...(body.visibilityTimeoutSeconds === undefined
            ? {}
            : { visibilityTimeoutMs: body.visibilityTimeoutSeconds * 1000 }),
          ...(body.maxReceiveCount === undefined ? {} : { maxReceiveCount: body.maxReceiveCount }),
          ...(body.deadLetterQueue === undefined ? {} : { deadLetterQueue: body.deadLetterQueue }),
          ...(body.fifo === undefined ? {} : { fifo: body.fifo }),
        }),
      ),
    sendMessage: async ({ params, body }) => ({
      messageId: (await messaging.send(params.name, body.body, sendOptionsOf(body))).id,
    }),
    sendMessageBatch: async ({ params, body }) =>
      messaging.sendBatch(
        params.name,
        body.entries.map((e) => ({ id: e.id, body: e.body, options: sendOptionsOf(e) })),
      ),
    receiveMessages: async ({ params, body }) => ({
      items: (
        await messaging.receive(params.name, {
          maxMessages: body.maxMessages,
          waitMs: body.waitSeconds * 1000,
          ...(body.visibilityTimeoutSeconds === undefined
            ? {}
            : { visibilityTimeoutMs: body.visibilityTimeoutSeconds * 1000 }),
        })
      ).map((m) => ({ ...messageOut(m), receiptHandle: m.receiptHandle })),
    }),
    deleteMessage: async ({ params, body }) => {
      await messaging.deleteMessage(params.name, body.receiptHandle);
      return { ok: true as const };
    },
    changeMessageVisibility: async ({ params, body }) => {
      await messaging.changeVisibility(params.name, body.receiptHandle, body.visibilityTimeoutSeconds * 1000);
      return { ok: true as const };
    },
    listStreams: async ({ query }) => messaging.listStreams(query),
    createStream: async ({ body }) =>
      streamOut(
        await messaging.createStream(body.name, {
          shardCount: body.shardCount,
          ...(body.retentionMs === undefined ? {} : { retentionMs: body.retentionMs }),
          ...(body.maxRecordsPerShard === undefined ? {} : { maxRecordsPerShard: body.maxRecordsPerShard }),
        }),
      ),
    describeStream: async ({ params }) => streamOut(await messaging.describeStream(params.name)),
    deleteStream: async ({ params }) => {
      await messaging.deleteStream(params.name);
      return { ok: true as const };
    },
    putRecord: async ({ params, body }) => messaging.putRecord(params.name, body.partitionKey, body.data),
    getRecords: async ({ params, query }) => {
      const result = await messaging.getRecords(params.name, params.shardId, positionOf(query), query.limit);
      return {
        records: result.records.map((r) => ({ ...r, arrivedAt: iso(r.arrivedAt) })),
        nextPosition: positionOut(result.nextPosition),
      };
    },
  };
}
