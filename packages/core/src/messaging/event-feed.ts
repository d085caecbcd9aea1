import { TrainyardError } from '@trainyard/contracts/errors';
import { PlatformEvent } from '@trainyard/contracts/events';
import type { JobQueue } from '../ports/job-queue.js';
import type { LeaseStore } from '../ports/metadata-store.js';
import type { Notification, Topic } from '../ports/topic.js';

/** Topics of platform events (`trainyard.<resource>.<change>`), as EventPublisher names them. */
const platformTopicPattern = /^trainyard\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;
/** The queues feeds read from; `trainyard-` keeps them out of users' hands. */
const feedQueuePrefix = 'trainyard-events-';

export interface EventFeedOptions {
  topics: Topic;
  queues: JobQueue;
  leases: LeaseStore;
  /**
   * Stable per server (e.g. a hash of host and port), so a restart reuses its queue and
   * subscriptions; a live server already holding it makes this one pick a random name instead.
   */
  name: string;
  /** Topics subscribed from the start, created when missing (others are found as they appear). */
  knownTopics: readonly string[];
  /** How often new `trainyard.*` topics are looked for and the lease renewed, ms. Default 5 000. */
  scanMs?: number;
  /** How long one receive waits; close() may wait this long, ms. Default 1 000. */
  pollMs?: number;
  /** Events one slow reader may have waiting before the oldest are dropped. Default 1 000. */
  bufferSize?: number;
  onError?: (error: unknown) => void;
}

/** One reader's events, buffered; `return()` (a client going away) ends it at once. */
class Reader implements AsyncIterableIterator<PlatformEvent> {
  readonly #buffer: PlatformEvent[] = [];
  #waiting: ((result: IteratorResult<PlatformEvent>) => void) | undefined;
  #done = false;

  constructor(
    readonly accepts: (event: PlatformEvent) => boolean,
    readonly bufferSize: number,
    readonly onEnd: (reader: Reader) => void,
  ) {}

  push(event: PlatformEvent): void {
    if (this.#done || !this.accepts(event)) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    this.#buffer.push(event);
    if (this.#buffer.length > this.bufferSize) this.#buffer.shift();
  }

  next(): Promise<IteratorResult<PlatformEvent>> {
    const event = this.#buffer.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<PlatformEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#buffer.length = 0;
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = undefined;
    this.onEnd(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PlatformEvent> {
    return this;
  }
}

/**
 * Platform events as a live feed for this server's clients (the console's `/api/v1/events`).
 * Events come from the Topics the platform publishes to, from any process (a worker elsewhere
 * publishes a job's state change): the feed subscribes a queue of its own to every `trainyard.*`
 * topic and fans what arrives out to its readers. It starts with the first reader. A lease marks
 * the feed alive; subscriptions of feeds whose lease ran out (a server that crashed) are removed,
 * so nothing keeps filling a queue nobody reads.
 */
export class EventFeed {
  readonly #options: Required<Omit<EventFeedOptions, 'onError'>> & Pick<EventFeedOptions, 'onError'>;
  readonly #holder = `feed-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  readonly #readers = new Set<Reader>();
  readonly #subscribed = new Set<string>();
  #queue: string | undefined;
  #running: Promise<void> | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  #startedAt = 0;

  constructor(options: EventFeedOptions) {
    this.#options = { scanMs: 5_000, pollMs: 1_000, bufferSize: 1_000, ...options };
  }

  /**
   * Events from now on (those `accepts` lets through) until the reader ends it with `return()`
   * or the feed closes. Resolves once the feed is subscribed, so nothing published after it is missed.
   */
  async subscribe(
    accepts: (event: PlatformEvent) => boolean = () => true,
  ): Promise<AsyncIterableIterator<PlatformEvent>> {
    if (this.#closed) throw new TrainyardError('UNAVAILABLE', 'the server is shutting down');
    const reader = new Reader(accepts, this.#options.bufferSize, (r) => this.#readers.delete(r));
    this.#readers.add(reader);
    this.#ready ??= this.#start();
    try {
      await this.#ready;
    } catch (error) {
      this.#ready = undefined;
      reader.end();
      throw error;
    }
    return reader;
  }

  /** Readers connected now (for tests and metrics). */
  get readerCount(): number {
    return this.#readers.size;
  }

  /** Ends every reader, stops receiving, removes this feed's subscriptions and gives up its lease. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const reader of [...this.#readers]) reader.end();
    await this.#ready?.catch(() => undefined);
    await this.#running;
    if (!this.#queue) return;
    await this.#unsubscribeQueue(this.#queue).catch((error: unknown) => this.#options.onError?.(error));
    await this.#options.leases.release(this.#leaseOf(this.#queue), this.#holder).catch(() => undefined);
  }

  #leaseOf(queue: string): string {
    return `event-feed:${queue}`;
  }

  async #start(): Promise<void> {
    const { queues, leases, topics, knownTopics } = this.#options;
    const ttl = this.#options.scanMs * 6;
    let queue = `${feedQueuePrefix}${this.#options.name}`;
    if (!(await leases.acquire(this.#leaseOf(queue), this.#holder, ttl))) {
      queue = `${feedQueuePrefix}${this.#options.name}-${this.#holder.slice(5, 13)}`;
      await leases.acquire(this.#leaseOf(queue), this.#holder, ttl);
    }
    // Events left from before a restart are not live any more: they are dropped as they arrive.
    this.#startedAt = Date.now();
    await queues.createQueue(queue, { visibilityTimeoutMs: 30_000 });
    this.#queue = queue;
    for (const topic of knownTopics) await topics.createTopic(topic);
    await this.#scan();
    this.#running = this.#run(queue);
  }

  /** Subscribes to `trainyard.*` topics not yet subscribed; removes subscriptions of dead feeds. */
  async #scan(): Promise<void> {
    const { topics, leases } = this.#options;
    const queue = this.#queue as string;
    await leases.acquire(this.#leaseOf(queue), this.#holder, this.#options.scanMs * 6);
    for (const topic of await topics.listTopics()) {
      if (!platformTopicPattern.test(topic.name)) continue;
      if (this.#subscribed.has(topic.name) && topic.subscriptionCount > 0) continue;
      const subscriptions = await topics.listSubscriptions(topic.name);
      let mine = false;
      for (const s of subscriptions) {
        if (s.endpoint.kind !== 'queue' || !s.endpoint.queue.startsWith(feedQueuePrefix)) continue;
        if (s.endpoint.queue === queue) {
          mine = true;
          continue;
        }
        if ((await leases.holderOf(this.#leaseOf(s.endpoint.queue))) === undefined) {
          await topics.unsubscribe(s.id).catch(() => undefined);
        }
      }
      if (!mine)
        await topics.subscribe(topic.name, { kind: 'queue', queue }, { retryPolicy: { maxAttempts: 3 } });
      this.#subscribed.add(topic.name);
    }
  }

  async #run(queue: string): Promise<void> {
    const { queues, pollMs, scanMs } = this.#options;
    let lastScan = Date.now();
    while (!this.#closed) {
      try {
        if (Date.now() - lastScan >= scanMs) {
          lastScan = Date.now();
          await this.#scan();
        }
        const messages = await queues.receive(queue, { maxMessages: 50, waitMs: pollMs });
        for (const message of messages) {
          this.#dispatch(message.body);
          await queues.delete(queue, message.receiptHandle).catch(() => undefined);
        }
      } catch (error) {
        if (this.#closed) break;
        this.#options.onError?.(error);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  }

  #dispatch(body: string): void {
    let event: PlatformEvent;
    try {
      const notification = JSON.parse(body) as Notification;
      const parsed = PlatformEvent.safeParse(JSON.parse(notification.message));
      if (!parsed.success) return;
      event = parsed.data;
    } catch {
      return;
    }
    if (Date.parse(event.time) < this.#startedAt - 5_000) return;
    for (const reader of this.#readers) reader.push(event);
  }

  async #unsubscribeQueue(queue: string): Promise<void> {
    const { topics } = this.#options;
    for (const topic of this.#subscribed) {
      for (const s of await topics.listSubscriptions(topic).catch(() => [])) {
        if (s.endpoint.kind === 'queue' && s.endpoint.queue === queue) await topics.unsubscribe(s.id);
      }
    }
  }
}
