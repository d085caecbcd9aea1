import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { stateChangeEventType } from '@trainyard/contracts/events';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, toPage } from '../paging/page-token.js';
import type {
  JobQueue,
  QueueCounts,
  QueueDescription,
  QueueOptions,
  ReceivedMessage,
  ReceiveOptions,
  SendOptions,
} from '../ports/job-queue.js';
import type {
  GetRecordsResult,
  PutResult,
  Stream,
  StreamDescription,
  StreamOptions,
  StreamPosition,
} from '../ports/stream.js';
import type {
  DeadLetter,
  DeliveryAttempt,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  SubscriptionEndpoint,
  SubscriptionWithSecret,
  Topic,
  TopicInfo,
} from '../ports/topic.js';
import { refusePlatformName } from './platform-names.js';

export interface PageQuery {
  pageToken?: string | undefined;
  limit: number;
}

export type QueueSummary = QueueDescription &
  QueueCounts & {
    /** Age of the oldest message still in the queue (visible, in flight or delayed), ms; 0 when empty. */
    oldestAgeMs: number;
  };

/** Messages one batch send takes at most (SQS: 10). */
export const maxBatchMessages = 10;

/** The messaging ports one backend serves; the service adds the rules every door shares. */
export interface MessagingPorts {
  queues: JobQueue;
  topics: Topic;
  streams: Stream;
}

/**
 * Topics named `trainyard.…` carry the platform's own events (`trainyard.<resource>.state-change`).
 * Callers may create such a topic (to subscribe before the first event; creating is idempotent)
 * and subscribe, but not publish to or delete one, or a forged event or a vanished topic would
 * mislead every subscriber. Queues and streams named `trainyard-…` (job dispatch, topic
 * deliveries) are written by the platform only: see {@link refusePlatformName}.
 */
export const reservedTopicPrefix = 'trainyard.';

/** Pages a sorted list held in memory (topics, queues, streams are few) by its key. */
function pageBy<T>(items: T[], key: (item: T) => string, query: PageQuery): Page<T> {
  const after = decodePageToken(query.pageToken);
  const rest = after === undefined ? items : items.filter((item) => key(item) > after);
  return toPage(rest.slice(0, query.limit + 1), query.limit, key);
}

function refuseReservedTopic(name: string, action: string): void {
  if (name.startsWith(reservedTopicPrefix)) {
    throw new TrainyardError(
      'PERMISSION_DENIED',
      `topic "${name}" is the platform's (names starting "${reservedTopicPrefix}" are reserved, e.g. ${stateChangeEventType('processing-job')}); it may be subscribed to, not ${action}`,
      { field: 'name' },
    );
  }
}

/**
 * Queues, topics and streams as the doors offer them: paging, summaries, dead-letter redrive and
 * the platform-reserved names in one place, so no handler calls a messaging port directly.
 */
export class MessagingService {
  readonly #queues: JobQueue;
  readonly #topics: Topic;
  readonly #streams: Stream;

  constructor(ports: MessagingPorts) {
    this.#queues = ports.queues;
    this.#topics = ports.topics;
    this.#streams = ports.streams;
  }

  async listTopics(query: PageQuery): Promise<Page<TopicInfo>> {
    return pageBy(await this.#topics.listTopics(), (t) => t.name, query);
  }

  async createTopic(name: string, options: { description?: string } = {}): Promise<TopicInfo> {
    return this.#topics.createTopic(name, options);
  }

  getTopic(name: string): Promise<TopicInfo> {
    return this.#topics.getTopic(name);
  }

  async deleteTopic(name: string): Promise<void> {
    refuseReservedTopic(name, 'deleted');
    return this.#topics.deleteTopic(name);
  }

  async subscribe(
    topic: string,
    endpoint: SubscriptionEndpoint,
    options: SubscribeOptions = {},
  ): Promise<SubscriptionWithSecret> {
    if (endpoint.kind === 'queue') refusePlatformName('queue', endpoint.queue, 'endpoint.queue');
    return this.#topics.subscribe(topic, endpoint, options);
  }

  async listSubscriptions(topic: string, query: PageQuery): Promise<Page<Subscription>> {
    return pageBy(await this.#topics.listSubscriptions(topic), (s) => s.id, query);
  }

  async publish(topic: string, message: string, options: PublishOptions = {}) {
    refuseReservedTopic(topic, 'published to');
    return this.#topics.publish(topic, message, options);
  }

  unsubscribe(subscriptionId: string): Promise<void> {
    return this.#topics.unsubscribe(subscriptionId);
  }

  deliveryLog(subscriptionId: string, limit: number): Promise<DeliveryAttempt[]> {
    return this.#topics.deliveryLog(subscriptionId, limit);
  }

  deadLetters(subscriptionId: string, limit: number): Promise<DeadLetter[]> {
    return this.#topics.deadLetters(subscriptionId, limit);
  }

  async listQueues(query: PageQuery): Promise<Page<QueueSummary>> {
    const page = pageBy(await this.#queues.listQueues(), (name) => name, query);
    return { ...page, items: await Promise.all(page.items.map((name) => this.getQueue(name))) };
  }

  async getQueue(name: string, now = Date.now()): Promise<QueueSummary> {
    const [description, counts, oldest] = await Promise.all([
      this.#queues.describeQueue(name),
      this.#queues.counts(name),
      this.#queues.peek(name, 1),
    ]);
    const sentAt = oldest[0]?.sentAt.getTime();
    return { ...description, ...counts, oldestAgeMs: sentAt === undefined ? 0 : Math.max(0, now - sentAt) };
  }

  /** Creates a user queue or updates its options (idempotent). */
  async createQueue(name: string, options: QueueOptions): Promise<QueueSummary> {
    refusePlatformName('queue', name, 'name');
    if (options.deadLetterQueue !== undefined)
      refusePlatformName('queue', options.deadLetterQueue, 'body.deadLetterQueue');
    await this.#queues.createQueue(name, options);
    return this.getQueue(name);
  }

  async send(queue: string, body: string, options: SendOptions = {}): Promise<{ id: string }> {
    refusePlatformName('queue', queue, 'name');
    return this.#queues.send(queue, body, options);
  }

  /**
   * Sends up to 10 messages; each entry succeeds or fails on its own (as SQS SendMessageBatch),
   * so one bad entry does not lose the others.
   */
  async sendBatch(
    queue: string,
    entries: { id: string; body: string; options?: SendOptions }[],
  ): Promise<{
    successful: { id: string; messageId: string }[];
    failed: { id: string; code: string; message: string }[];
  }> {
    refusePlatformName('queue', queue, 'name');
    if (entries.length === 0 || entries.length > maxBatchMessages) {
      throw invalidArgument('body.entries', `give 1 to ${maxBatchMessages} messages, not ${entries.length}`);
    }
    const ids = new Set(entries.map((e) => e.id));
    if (ids.size !== entries.length) throw invalidArgument('body.entries', 'entry ids must be distinct');
    await this.#queues.describeQueue(queue);
    const successful: { id: string; messageId: string }[] = [];
    const failed: { id: string; code: string; message: string }[] = [];
    for (const entry of entries) {
      try {
        successful.push({
          id: entry.id,
          messageId: (await this.#queues.send(queue, entry.body, entry.options)).id,
        });
      } catch (error) {
        if (!TrainyardError.is(error)) throw error;
        failed.push({ id: entry.id, code: error.code, message: error.message });
      }
    }
    return { successful, failed };
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    refusePlatformName('queue', queue, 'name');
    return this.#queues.receive(queue, options);
  }

  async deleteMessage(queue: string, receiptHandle: string): Promise<void> {
    refusePlatformName('queue', queue, 'name');
    return this.#queues.delete(queue, receiptHandle);
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutMs: number): Promise<void> {
    refusePlatformName('queue', queue, 'name');
    return this.#queues.changeVisibility(queue, receiptHandle, visibilityTimeoutMs);
  }

  /** Deletes every message of a user queue (SQS PurgeQueue); the platform's queues are refused. */
  async purgeQueue(queue: string): Promise<{ purged: number }> {
    refusePlatformName('queue', queue, 'name');
    return { purged: await this.#queues.purge(queue) };
  }

  peekQueue(name: string, limit: number): Promise<ReceivedMessage[]> {
    return this.#queues.peek(name, limit);
  }

  /** Moves a dead-letter queue's messages back: to `toQueue`, or to the queue that dead-letters into it. */
  async redrive(deadLetterQueue: string, toQueue?: string): Promise<{ moved: number; toQueue: string }> {
    // Moving messages out of a platform queue drops its work; into one, forges it.
    refusePlatformName('queue', deadLetterQueue, 'name');
    if (toQueue !== undefined) refusePlatformName('queue', toQueue, 'body.toQueue');
    await this.#queues.describeQueue(deadLetterQueue);
    let target = toQueue;
    if (target === undefined) {
      for (const name of await this.#queues.listQueues()) {
        if ((await this.#queues.describeQueue(name)).deadLetterQueue === deadLetterQueue) target = name;
      }
    }
    if (target === undefined) {
      throw invalidArgument(
        'body.toQueue',
        `no queue uses "${deadLetterQueue}" as its dead-letter queue; name one`,
      );
    }
    refusePlatformName('queue', target, 'body.toQueue');
    return { moved: await this.#queues.redrive(deadLetterQueue, target), toQueue: target };
  }

  async listStreams(query: PageQuery): Promise<Page<{ name: string }>> {
    return pageBy(
      (await this.#streams.listStreams()).map((name) => ({ name })),
      (s) => s.name,
      query,
    );
  }

  async createStream(name: string, options: StreamOptions): Promise<StreamDescription> {
    refusePlatformName('stream', name, 'name');
    return this.#streams.createStream(name, options);
  }

  describeStream(name: string): Promise<StreamDescription> {
    return this.#streams.describeStream(name);
  }

  async deleteStream(name: string): Promise<void> {
    refusePlatformName('stream', name, 'name');
    return this.#streams.deleteStream(name);
  }

  async putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult> {
    refusePlatformName('stream', stream, 'name');
    return this.#streams.putRecord(stream, partitionKey, data);
  }

  getRecords(
    stream: string,
    shardId: number,
    position: StreamPosition,
    limit: number,
  ): Promise<GetRecordsResult> {
    return this.#streams.getRecords(stream, shardId, position, { limit });
  }
}
