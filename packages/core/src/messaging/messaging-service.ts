import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { stateChangeEventType } from '@trainyard/contracts/events';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, toPage } from '../paging/page-token.js';
import type { JobQueue, QueueCounts, QueueDescription, ReceivedMessage } from '../ports/job-queue.js';
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

export interface PageQuery {
  pageToken?: string | undefined;
  limit: number;
}

export type QueueSummary = QueueDescription & QueueCounts;

/** The messaging ports one backend serves; the service adds the rules every door shares. */
export interface MessagingPorts {
  queues: JobQueue;
  topics: Topic;
  streams: Stream;
}

/**
 * Topics named `trainyard.…` carry the platform's own events (`trainyard.<resource>.state-change`)
 * and queues named `trainyard-…` carry job dispatch (`trainyard-jobs-<kind>`). Callers may create such a topic (to
 * subscribe before the first event; creating is idempotent) and subscribe, but not publish to or
 * delete one, or a forged event or a vanished topic would mislead every subscriber.
 */
export const reservedTopicPrefix = 'trainyard.';
export const reservedQueuePrefix = 'trainyard-';

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
    if (endpoint.kind === 'queue' && endpoint.queue.startsWith(reservedQueuePrefix)) {
      throw invalidArgument(
        'endpoint.queue',
        `queue "${endpoint.queue}" is a platform job queue (names starting "${reservedQueuePrefix}" are reserved)`,
      );
    }
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

  async getQueue(name: string): Promise<QueueSummary> {
    const [description, counts] = await Promise.all([
      this.#queues.describeQueue(name),
      this.#queues.counts(name),
    ]);
    return { ...description, ...counts };
  }

  peekQueue(name: string, limit: number): Promise<ReceivedMessage[]> {
    return this.#queues.peek(name, limit);
  }

  /** Moves a dead-letter queue's messages back: to `toQueue`, or to the queue that dead-letters into it. */
  async redrive(deadLetterQueue: string, toQueue?: string): Promise<{ moved: number; toQueue: string }> {
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
    return { moved: await this.#queues.redrive(deadLetterQueue, target), toQueue: target };
  }

  async listStreams(query: PageQuery): Promise<Page<{ name: string }>> {
    return pageBy(
      (await this.#streams.listStreams()).map((name) => ({ name })),
      (s) => s.name,
      query,
    );
  }

  createStream(name: string, options: StreamOptions): Promise<StreamDescription> {
    return this.#streams.createStream(name, options);
  }

  describeStream(name: string): Promise<StreamDescription> {
    return this.#streams.describeStream(name);
  }

  deleteStream(name: string): Promise<void> {
    return this.#streams.deleteStream(name);
  }

  putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult> {
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
