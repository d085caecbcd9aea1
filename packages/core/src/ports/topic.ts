/**
 * Topic: SNS semantics. `publish` fans a message out once to every subscription of the topic at
 * that moment. Deliveries are at-least-once and asynchronous: they travel through a JobQueue, so
 * fan-out works on every queue backend, and a delivery loop ({@link Topic.startDeliveryLoop}) sends
 * them. Webhook deliveries are signed, retried with exponential backoff on a non-2xx answer or a
 * timeout, and end in a dead-letter record when the retry policy is spent. Times are milliseconds.
 * Topic names: 1..256 of `A-Za-z0-9_.-` (platform events use `trainyard.<resource>.state-change`).
 *
 * @example
 * await topics.createTopic('trainyard.training-job.state-change');
 * const sub = await topics.subscribe('trainyard.training-job.state-change', { kind: 'https', url: 'https://ci.example/hook' });
 * // the receiver checks: X-Trainyard-Signature === 'sha256=' + hex(HMAC-SHA256(sub.secret, rawBody))
 */

/** Where a subscription delivers. */
export type SubscriptionEndpoint =
  /** POST of the JSON notification to a URL. */
  | { kind: 'http' | 'https'; url: string }
  /** The notification JSON is sent as a message to a JobQueue queue (created when missing). */
  | { kind: 'queue'; queue: string }
  /** A function registered in this process with {@link Topic.registerHandler}. */
  | { kind: 'handler'; name: string };

export interface RetryPolicy {
  /** Attempts in all, the first included (1..100). Default 5. */
  maxAttempts: number;
  /** Wait before the 2nd attempt, doubled for each next one, ms. Default 1 000. */
  initialDelayMs: number;
  /** Upper bound of the wait between attempts, ms. Default 60 000. */
  maxDelayMs: number;
  /** A webhook that has not answered in this long counts as failed, ms. Default 5 000. */
  timeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  timeoutMs: 5_000,
};

export interface TopicInfo {
  name: string;
  description: string;
  createdAt: Date;
  subscriptionCount: number;
}

export interface Subscription {
  id: string;
  topic: string;
  endpoint: SubscriptionEndpoint;
  retryPolicy: RetryPolicy;
  createdAt: Date;
}

/** Returned once, by subscribe: the secret signs every webhook body of this subscription. */
export interface SubscriptionWithSecret extends Subscription {
  secret: string;
}

export interface SubscribeOptions {
  retryPolicy?: Partial<RetryPolicy>;
  /** HMAC key of the signature header; 32 random bytes (base64url) when omitted. */
  secret?: string;
}

export interface PublishOptions {
  subject?: string;
  attributes?: Record<string, string>;
}

/** What every endpoint receives: the webhook body, the queue message body, the handler argument. */
export interface Notification {
  type: 'Notification';
  messageId: string;
  topic: string;
  subject?: string;
  /** The published message, unchanged. */
  message: string;
  attributes: Record<string, string>;
  /** ISO 8601 time of publish. */
  timestamp: string;
}

export type DeliveryStatus = 'delivered' | 'failed' | 'dead-lettered';

/** One attempt of one delivery, newest first in the log. */
export interface DeliveryAttempt {
  subscriptionId: string;
  messageId: string;
  /** 1 for the first try. */
  attempt: number;
  status: DeliveryStatus;
  /** The webhook's HTTP status, when it answered. */
  httpStatus?: number;
  error?: string;
  durationMs: number;
  at: Date;
}

/** A delivery the retry policy gave up on, with what is needed to replay it. */
export interface DeadLetter {
  subscriptionId: string;
  messageId: string;
  notification: Notification;
  attempts: number;
  lastError: string;
  at: Date;
}

export type NotificationHandler = (notification: Notification) => Promise<void>;

export interface DeliveryLoop {
  /** Stops receiving; resolves when in-flight deliveries have finished. */
  stop(): Promise<void>;
}

export interface DeliveryLoopOptions {
  /** Deliveries attempted at once. Default 8. */
  concurrency?: number;
  /** How long one receive waits for work, ms; `stop()` may wait this long. Default 250. */
  pollMs?: number;
  /** Called when the loop itself hits an error, e.g. the backend is unreachable (for logging). */
  onError?: (error: unknown) => void;
  /** Delivery log entries older than this are removed (checked every 10 minutes), ms. Default 7 days. */
  deliveryLogRetentionMs?: number;
}

export interface Topic {
  /** Creates the topic; idempotent (a second call keeps the first description). */
  createTopic(name: string, options?: { description?: string }): Promise<TopicInfo>;
  listTopics(): Promise<TopicInfo[]>;
  /** @throws NOT_FOUND */
  getTopic(name: string): Promise<TopicInfo>;
  /** Deletes the topic and its subscriptions; pending deliveries are dropped. @throws NOT_FOUND */
  deleteTopic(name: string): Promise<void>;
  /** @throws NOT_FOUND for an unknown topic; INVALID_ARGUMENT for a bad URL or retry policy */
  subscribe(
    topic: string,
    endpoint: SubscriptionEndpoint,
    options?: SubscribeOptions,
  ): Promise<SubscriptionWithSecret>;
  /** @throws NOT_FOUND */
  unsubscribe(subscriptionId: string): Promise<void>;
  /** @throws NOT_FOUND for an unknown topic */
  listSubscriptions(topic: string): Promise<Subscription[]>;
  /** @throws NOT_FOUND */
  getSubscription(subscriptionId: string): Promise<Subscription>;
  /** Fans out to every subscription; returns once each delivery is durably queued. @throws NOT_FOUND */
  publish(
    topic: string,
    message: string,
    options?: PublishOptions,
  ): Promise<{ messageId: string; deliveries: number }>;
  /** Attempts of one subscription, newest first (default 100). @throws NOT_FOUND */
  deliveryLog(subscriptionId: string, limit?: number): Promise<DeliveryAttempt[]>;
  /** Deliveries given up on, newest first (default 100). @throws NOT_FOUND */
  deadLetters(subscriptionId: string, limit?: number): Promise<DeadLetter[]>;
  /** Handles `{kind: 'handler', name}` subscriptions in this process. */
  registerHandler(name: string, handler: NotificationHandler): void;
  /** Runs the delivery loop until stopped. Any number of processes may run one on the same backend. */
  startDeliveryLoop(options?: DeliveryLoopOptions): DeliveryLoop;
  close(): Promise<void>;
}
