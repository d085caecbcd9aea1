import { decodePageToken, toPage } from '@trainyard/adapters/sql/page-token';
import { invalidArgument } from '@trainyard/contracts/errors';
import type { messagingRoutes } from '@trainyard/contracts/messaging-routes';
import { refusePlatformName } from '@trainyard/core/messaging/platform-names';
import type { JobQueue, ReceivedMessage } from '@trainyard/core/ports/job-queue';
import type { StreamDescription, StreamPosition } from '@trainyard/core/ports/stream';
import type { Subscription, TopicInfo } from '@trainyard/core/ports/topic';
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

/** Pages a sorted list held in memory (topics, queues, streams are few) by its key. */
function pageBy<T>(
  items: T[],
  key: (item: T) => string,
  query: { pageToken?: string | undefined; limit: number },
) {
  const after = decodePageToken(query.pageToken);
  const rest = after === undefined ? items : items.filter((item) => key(item) > after);
  return toPage(rest.slice(0, query.limit + 1), query.limit, key);
}

async function queueSummary(queues: JobQueue, name: string) {
  const [d, counts] = await Promise.all([queues.describeQueue(name), queues.counts(name)]);
  return {
    name: d.name,
    visibilityTimeoutMs: d.visibilityTimeoutMs,
    ...(d.maxReceiveCount === undefined ? {} : { maxReceiveCount: d.maxReceiveCount }),
    ...(d.deadLetterQueue === undefined ? {} : { deadLetterQueue: d.deadLetterQueue }),
    fifo: d.fifo,
    ...counts,
  };
}

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

export const messagingHandlers: HandlersOf<typeof messagingRoutes> = {
  listTopics: async ({ platform, query }) =>
    pageBy((await platform.messaging.topics.listTopics()).map(topicOut), (t) => t.name, query),
  createTopic: async ({ platform, body }) => {
    refusePlatformName('topic', body.name, 'body.name');
    return topicOut(
      await platform.messaging.topics.createTopic(body.name, {
        ...(body.description === undefined ? {} : { description: body.description }),
      }),
    );
  },
  getTopic: async ({ platform, params }) => topicOut(await platform.messaging.topics.getTopic(params.name)),
  deleteTopic: async ({ platform, params }) => {
    refusePlatformName('topic', params.name, 'params.name');
    await platform.messaging.topics.deleteTopic(params.name);
    return { ok: true as const };
  },
  subscribe: async ({ platform, params, body }) => {
    if (body.endpoint.kind === 'queue')
      refusePlatformName('queue', body.endpoint.queue, 'body.endpoint.queue');
    const created = await platform.messaging.topics.subscribe(params.name, body.endpoint, {
      ...(body.retryPolicy === undefined ? {} : { retryPolicy: body.retryPolicy }),
      ...(body.secret === undefined ? {} : { secret: body.secret }),
    });
    return { ...subscriptionOut(created), secret: created.secret };
  },
  listSubscriptions: async ({ platform, params, query }) =>
    pageBy(
      (await platform.messaging.topics.listSubscriptions(params.name)).map(subscriptionOut),
      (s) => s.id,
      query,
    ),
  publish: async ({ platform, params, body }) => {
    refusePlatformName('topic', params.name, 'params.name');
    return platform.messaging.topics.publish(params.name, body.message, {
      ...(body.subject === undefined ? {} : { subject: body.subject }),
      ...(body.attributes === undefined ? {} : { attributes: body.attributes }),
    });
  },
  unsubscribe: async ({ platform, params }) => {
    await platform.messaging.topics.unsubscribe(params.id);
    return { ok: true as const };
  },
  listDeliveries: async ({ platform, params, query }) => ({
    items: (await platform.messaging.topics.deliveryLog(params.id, query.limit)).map((a) => ({
      ...a,
      at: iso(a.at),
    })),
  }),
  listDeadLetters: async ({ platform, params, query }) => ({
    items: (await platform.messaging.topics.deadLetters(params.id, query.limit)).map((d) => ({
      ...d,
      notification: { ...d.notification },
      at: iso(d.at),
    })),
  }),
  listQueues: async ({ platform, query }) => {
    const queues = platform.messaging.queues;
    const page = pageBy(await queues.listQueues(), (name) => name, query);
    return { ...page, items: await Promise.all(page.items.map((name) => queueSummary(queues, name))) };
  },
  getQueue: async ({ platform, params }) => queueSummary(platform.messaging.queues, params.name),
  peekQueue: async ({ platform, params, query }) => ({
    items: (await platform.messaging.queues.peek(params.name, query.limit)).map(messageOut),
  }),
  redriveQueue: async ({ platform, params, body }) => {
    refusePlatformName('queue', params.name, 'params.name');
    if (body.toQueue !== undefined) refusePlatformName('queue', body.toQueue, 'body.toQueue');
    const queues = platform.messaging.queues;
    await queues.describeQueue(params.name);
    let toQueue = body.toQueue;
    if (toQueue === undefined) {
      for (const name of await queues.listQueues()) {
        if ((await queues.describeQueue(name)).deadLetterQueue === params.name) toQueue = name;
      }
    }
    if (toQueue === undefined) {
      throw invalidArgument(
        'body.toQueue',
        `no queue uses "${params.name}" as its dead-letter queue; name one`,
      );
    }
    refusePlatformName('queue', toQueue, 'body.toQueue');
    return { moved: await queues.redrive(params.name, toQueue), toQueue };
  },
  listStreams: async ({ platform, query }) =>
    pageBy(
      (await platform.messaging.streams.listStreams()).map((name) => ({ name })),
      (s) => s.name,
      query,
    ),
  createStream: async ({ platform, body }) => {
    refusePlatformName('stream', body.name, 'body.name');
    return streamOut(
      await platform.messaging.streams.createStream(body.name, {
        shardCount: body.shardCount,
        ...(body.retentionMs === undefined ? {} : { retentionMs: body.retentionMs }),
        ...(body.maxRecordsPerShard === undefined ? {} : { maxRecordsPerShard: body.maxRecordsPerShard }),
      }),
    );
  },
  describeStream: async ({ platform, params }) =>
    streamOut(await platform.messaging.streams.describeStream(params.name)),
  deleteStream: async ({ platform, params }) => {
    refusePlatformName('stream', params.name, 'params.name');
    await platform.messaging.streams.deleteStream(params.name);
    return { ok: true as const };
  },
  putRecord: async ({ platform, params, body }) => {
    refusePlatformName('stream', params.name, 'params.name');
    return platform.messaging.streams.putRecord(params.name, body.partitionKey, body.data);
  },
  getRecords: async ({ platform, params, query }) => {
    const result = await platform.messaging.streams.getRecords(
      params.name,
      params.shardId,
      positionOf(query),
      {
        limit: query.limit,
      },
    );
    return {
      records: result.records.map((r) => ({ ...r, arrivedAt: iso(r.arrivedAt) })),
      nextPosition: positionOut(result.nextPosition),
    };
  },
};
