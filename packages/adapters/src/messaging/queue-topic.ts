import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { checkMessagingName } from '@trainyard/core/messaging/messaging-names';
import type { JobQueue, ReceivedMessage } from '@trainyard/core/ports/job-queue';
import {
  type DeadLetter,
  type DeliveryAttempt,
  type DeliveryLoop,
  type DeliveryLoopOptions,
  defaultRetryPolicy,
  type Notification,
  type NotificationHandler,
  type PublishOptions,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionEndpoint,
  type SubscriptionWithSecret,
  type Topic,
  type TopicInfo,
} from '@trainyard/core/ports/topic';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../sql/database.js';
import { sqlCall } from '../sql/sql-errors.js';
import { newMessageId } from './message-id.js';
import type { MessagingTables, TpSubscriptionsTable } from './messaging-tables.js';
import { WebhookTargetPolicy } from './webhook-target.js';

type Db = Kysely<MessagingTables>;

/** Seals and opens secrets at rest (the server's SecretSealer). */
export interface SecretBox {
  seal(secret: string): string;
  open(sealed: string): string;
}

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body with the subscription's secret>`. */
export const signatureHeader = 'x-trainyard-signature';

/** Computes the signature header value a receiver must compare against (in constant time). */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

interface DeliveryJob {
  subscriptionId: string;
  notification: Notification;
}

interface Outcome {
  ok: boolean;
  httpStatus?: number;
  error?: string;
}

function checkEndpoint(endpoint: SubscriptionEndpoint): SubscriptionEndpoint {
  switch (endpoint?.kind) {
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(endpoint.url);
      } catch {
        throw invalidArgument('endpoint.url', `"${endpoint.url}" is not a URL`);
      }
      if (url.protocol !== `${endpoint.kind}:`) {
        throw invalidArgument('endpoint.url', `a ${endpoint.kind} endpoint needs a ${endpoint.kind}:// URL`);
      }
      return { kind: endpoint.kind, url: url.toString() };
    }
    case 'queue':
      return { kind: 'queue', queue: checkMessagingName('queue', endpoint.queue, 'endpoint.queue') };
    case 'handler':
      return { kind: 'handler', name: checkMessagingName('consumer', endpoint.name, 'endpoint.name') };
    default:
      throw invalidArgument('endpoint.kind', 'must be one of http, https, queue, handler');
  }
}

function checkRetryPolicy(patch: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...patch };
  const ranges: Record<keyof RetryPolicy, [number, number]> = {
    maxAttempts: [1, 100],
    initialDelayMs: [10, 3_600_000],
    maxDelayMs: [10, 12 * 3_600_000],
    timeoutMs: [50, 120_000],
  };
  for (const [field, [min, max]] of Object.entries(ranges) as [keyof RetryPolicy, [number, number]][]) {
    const v = policy[field];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw invalidArgument(`retryPolicy.${field}`, `must be an integer in ${min}..${max}, got ${v}`);
    }
  }
  if (policy.maxDelayMs < policy.initialDelayMs) {
    throw invalidArgument('retryPolicy.maxDelayMs', 'must be at least initialDelayMs');
  }
  return policy;
}

/** Wait before attempt `attempt + 1`: initialDelayMs doubled per attempt, capped at maxDelayMs. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

function subscriptionOf(row: Selectable<TpSubscriptionsTable>): Subscription {
  return {
    id: row.id,
    topic: row.topic,
    endpoint: JSON.parse(row.endpoint) as SubscriptionEndpoint,
    retryPolicy: JSON.parse(row.retry_policy) as RetryPolicy,
    createdAt: new Date(Number(row.created_at)),
  };
}

/**
 * Topic (SNS semantics) built on any JobQueue: the registry (topics, subscriptions, delivery log,
 * dead letters) lives in the metadata database; `publish` sends one message per subscription into
 * the delivery queue, and the delivery loop works that queue. A failed attempt is retried by
 * changing the message's visibility to the backoff delay, so retries survive restarts and spread
 * across every process running a loop.
 */
export class QueueTopic implements Topic {
  private readonly db: Db;
  private readonly handlers = new Map<string, NotificationHandler>();
  private queueReady: Promise<void> | undefined;

  private readonly webhooks: WebhookTargetPolicy;
  private readonly sealer: SecretBox | undefined;

  /**
   * @param options.webhooks where webhooks may go (default: nowhere loopback, link-local or private)
   * @param options.sealer seals subscription secrets at rest (the server passes its SecretSealer)
   */
  constructor(
    db: Kysely<Database>,
    private readonly queue: JobQueue,
    private readonly deliveryQueue = 'trainyard-topic-deliveries',
    options: { webhooks?: WebhookTargetPolicy; sealer?: SecretBox } = {},
  ) {
    this.db = db.withTables<MessagingTables>() as unknown as Db;
    this.webhooks = options.webhooks ?? new WebhookTargetPolicy();
    this.sealer = options.sealer;
  }

  /** Seals the secrets of subscriptions stored before secrets were sealed (run once at start). */
  async sealStoredSecrets(): Promise<number> {
    const sealer = this.sealer;
    if (!sealer) return 0;
    const rows = await this.db
      .selectFrom('tp_subscriptions')
      .select(['id', 'secret'])
      .where('secret_sealed', '=', 0)
      .execute();
    for (const row of rows) {
      await this.db
        .updateTable('tp_subscriptions')
        .set({ secret: sealer.seal(row.secret), secret_sealed: 1 })
        .where('id', '=', row.id)
        .where('secret_sealed', '=', 0)
        .execute();
    }
    return rows.length;
  }

  private secretOf(row: Selectable<TpSubscriptionsTable>): string {
    if (row.secret_sealed === 0) return row.secret;
    if (!this.sealer) {
      throw new TrainyardError(
        'INTERNAL',
        `subscription ${row.id}: its secret is sealed and no sealer was given`,
      );
    }
    return this.sealer.open(row.secret);
  }

  private ensureQueue(): Promise<void> {
    // No maxReceiveCount: each subscription's retry policy decides when to give up. The visibility
    // outlasts the longest webhook timeout (120 s), so a slow delivery is never sent twice at once.
    this.queueReady ??= this.queue
      .createQueue(this.deliveryQueue, { visibilityTimeoutMs: 150_000 })
      .catch((e) => {
        this.queueReady = undefined;
        throw e;
      });
    return this.queueReady;
  }

  async createTopic(name: string, options: { description?: string } = {}): Promise<TopicInfo> {
    checkMessagingName('topic', name);
    const description = options.description ?? '';
    if (description.length > 1024) throw invalidArgument('description', 'is longer than 1024 characters');
    await sqlCall(`topic "${name}"`, () =>
      this.db
        .insertInto('tp_topics')
        .values({ name, description, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute(),
    );
    return this.getTopic(name);
  }

  async getTopic(name: string): Promise<TopicInfo> {
    const row = await this.db.selectFrom('tp_topics').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new TrainyardError('NOT_FOUND', `topic "${name}" does not exist`, { field: 'topic' });
    const count = await this.db
      .selectFrom('tp_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('topic', '=', name)
      .executeTakeFirstOrThrow();
    return {
      name: row.name,
      description: row.description,
      createdAt: new Date(Number(row.created_at)),
      subscriptionCount: Number(count.n),
    };
  }

  async listTopics(): Promise<TopicInfo[]> {
    const rows = await this.db.selectFrom('tp_topics').selectAll().orderBy('name').execute();
    const counts = await this.db
      .selectFrom('tp_subscriptions')
      .select(['topic', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('topic')
      .execute();
    const byTopic = new Map(counts.map((c) => [c.topic, Number(c.n)]));
    return rows.map((r) => ({
      name: r.name,
      description: r.description,
      createdAt: new Date(Number(r.created_at)),
      subscriptionCount: byTopic.get(r.name) ?? 0,
    }));
  }

  async deleteTopic(name: string): Promise<void> {
    await this.getTopic(name);
    await this.db.transaction().execute(async (tx) => {
      const subs = tx.selectFrom('tp_subscriptions').select('id').where('topic', '=', name);
      await tx.deleteFrom('tp_deliveries').where('subscription_id', 'in', subs).execute();
      await tx.deleteFrom('tp_dead_letters').where('subscription_id', 'in', subs).execute();
      await tx.deleteFrom('tp_subscriptions').where('topic', '=', name).execute();
      await tx.deleteFrom('tp_topics').where('name', '=', name).execute();
    });
  }

  async subscribe(
    topic: string,
    endpoint: SubscriptionEndpoint,
    options: SubscribeOptions = {},
  ): Promise<SubscriptionWithSecret> {
    await this.getTopic(topic);
    const checked = checkEndpoint(endpoint);
    if (checked.kind === 'http' || checked.kind === 'https') await this.webhooks.check(checked.url);
    const retryPolicy = checkRetryPolicy(options.retryPolicy);
    const secret = options.secret ?? randomBytes(32).toString('base64url');
    if (secret.length < 16 || secret.length > 256)
      throw invalidArgument('secret', 'must be 16..256 characters');
    if (checked.kind === 'queue') {
      await this.queue.describeQueue(checked.queue).catch(async (error: unknown) => {
        if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
        await this.queue.createQueue(checked.queue);
      });
    }
    const row = {
      id: `sub_${newMessageId()}`,
      topic,
      endpoint: JSON.stringify(checked),
      secret: this.sealer ? this.sealer.seal(secret) : secret,
      secret_sealed: this.sealer ? 1 : 0,
      retry_policy: JSON.stringify(retryPolicy),
      created_at: Date.now(),
    };
    await sqlCall('subscription', () => this.db.insertInto('tp_subscriptions').values(row).execute());
    return { ...subscriptionOf(row), secret };
  }

  async unsubscribe(subscriptionId: string): Promise<void> {
    await this.getSubscription(subscriptionId);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('tp_deliveries').where('subscription_id', '=', subscriptionId).execute();
      await tx.deleteFrom('tp_dead_letters').where('subscription_id', '=', subscriptionId).execute();
      await tx.deleteFrom('tp_subscriptions').where('id', '=', subscriptionId).execute();
    });
  }

  async listSubscriptions(topic: string): Promise<Subscription[]> {
    await this.getTopic(topic);
    const rows = await this.db
      .selectFrom('tp_subscriptions')
      .selectAll()
      .where('topic', '=', topic)
      .orderBy('id')
      .execute();
    return rows.map(subscriptionOf);
  }

  private async subscriptionRow(id: string) {
    return this.db.selectFrom('tp_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getSubscription(subscriptionId: string): Promise<Subscription> {
    const row = await this.subscriptionRow(subscriptionId);
    if (!row) {
      throw new TrainyardError('NOT_FOUND', `subscription "${subscriptionId}" does not exist`, {
        field: 'subscriptionId',
      });
    }
    return subscriptionOf(row);
  }

  async publish(
    topic: string,
    message: string,
    options: PublishOptions = {},
  ): Promise<{ messageId: string; deliveries: number }> {
    if (typeof message !== 'string') throw invalidArgument('message', 'must be a string');
    if (options.subject !== undefined && options.subject.length > 256) {
      throw invalidArgument('subject', 'is longer than 256 characters');
    }
    const subscriptions = await this.listSubscriptions(topic);
    const messageId = newMessageId();
    const notification: Notification = {
      type: 'Notification',
      messageId,
      topic,
      ...(options.subject === undefined ? {} : { subject: options.subject }),
      message,
      attributes: options.attributes ?? {},
      timestamp: new Date().toISOString(),
    };
    if (subscriptions.length > 0) await this.ensureQueue();
    for (const sub of subscriptions) {
      const job: DeliveryJob = { subscriptionId: sub.id, notification };
      await this.queue.send(this.deliveryQueue, JSON.stringify(job));
    }
    return { messageId, deliveries: subscriptions.length };
  }

  async deliveryLog(subscriptionId: string, limit = 100): Promise<DeliveryAttempt[]> {
    await this.getSubscription(subscriptionId);
    const rows = await this.db
      .selectFrom('tp_deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.min(limit, 1000)))
      .execute();
    return rows.map((r) => ({
      subscriptionId: r.subscription_id,
      messageId: r.message_id,
      attempt: r.attempt,
      status: r.status as DeliveryAttempt['status'],
      ...(r.http_status === null ? {} : { httpStatus: r.http_status }),
      ...(r.error === null ? {} : { error: r.error }),
      durationMs: r.duration_ms,
      at: new Date(Number(r.at)),
    }));
  }

  async deadLetters(subscriptionId: string, limit = 100): Promise<DeadLetter[]> {
    await this.getSubscription(subscriptionId);
    const rows = await this.db
      .selectFrom('tp_dead_letters')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.min(limit, 1000)))
      .execute();
    return rows.map((r) => ({
      subscriptionId: r.subscription_id,
      messageId: r.message_id,
      notification: JSON.parse(r.notification) as Notification,
      attempts: r.attempts,
      lastError: r.last_error,
      at: new Date(Number(r.at)),
    }));
  }

  registerHandler(name: string, handler: NotificationHandler): void {
    checkMessagingName('consumer', name, 'handler');
    this.handlers.set(name, handler);
  }

  startDeliveryLoop(options: DeliveryLoopOptions = {}): DeliveryLoop {
    const concurrency = options.concurrency ?? 8;
    const pollMs = options.pollMs ?? 250;
    const onError = options.onError ?? (() => {});
    const logRetentionMs = options.deliveryLogRetentionMs ?? 7 * 24 * 3_600_000;
    let trimmedAt = 0;
    let stopping = false;
    const running = (async () => {
      while (!stopping) {
        try {
          await this.ensureQueue();
          if (Date.now() - trimmedAt > 10 * 60_000) {
            trimmedAt = Date.now();
            await this.db
              .deleteFrom('tp_deliveries')
              .where('at', '<', trimmedAt - logRetentionMs)
              .execute();
          }
          const batch = await this.queue.receive(this.deliveryQueue, {
            maxMessages: concurrency,
            waitMs: pollMs,
          });
          await Promise.all(batch.map((m) => this.deliver(m).catch(onError)));
        } catch (error) {
          if (stopping) break;
          onError(error);
          await sleep(pollMs);
        }
      }
    })();
    return {
      stop: async () => {
        stopping = true;
        await running;
      },
    };
  }

  private async deliver(m: ReceivedMessage): Promise<void> {
    const job = JSON.parse(m.body) as DeliveryJob;
    const row = await this.subscriptionRow(job.subscriptionId);
    if (!row) {
      // Unsubscribed since publish: nothing to deliver to.
      await this.queue.delete(this.deliveryQueue, m.receiptHandle);
      return;
    }
    const sub = subscriptionOf(row);
    const attempt = m.receiveCount;
    const started = Date.now();
    const outcome = await this.attempt(sub, this.secretOf(row), job.notification, attempt);
    const finished = Date.now();
    const last = !outcome.ok && attempt >= sub.retryPolicy.maxAttempts;
    const status = outcome.ok ? 'delivered' : last ? 'dead-lettered' : 'failed';
    await this.db
      .insertInto('tp_deliveries')
      .values({
        id: newMessageId(finished),
        subscription_id: sub.id,
        message_id: job.notification.messageId,
        attempt,
        status,
        http_status: outcome.httpStatus ?? null,
        error: outcome.error?.slice(0, 2000) ?? null,
        duration_ms: finished - started,
        at: finished,
      })
      .execute();
    if (last) {
      await this.db
        .insertInto('tp_dead_letters')
        .values({
          id: newMessageId(finished),
          subscription_id: sub.id,
          message_id: job.notification.messageId,
          notification: JSON.stringify(job.notification),
          attempts: attempt,
          last_error: outcome.error?.slice(0, 2000) ?? 'failed',
          at: finished,
        })
        .execute();
    }
    if (outcome.ok || last) await this.queue.delete(this.deliveryQueue, m.receiptHandle);
    else
      await this.queue.changeVisibility(
        this.deliveryQueue,
        m.receiptHandle,
        backoffMs(sub.retryPolicy, attempt),
      );
  }

  private async attempt(
    sub: Subscription,
    secret: string,
    n: Notification,
    attempt: number,
  ): Promise<Outcome> {
    const endpoint = sub.endpoint;
    const body = JSON.stringify(n);
    try {
      if (endpoint.kind === 'queue') {
        await this.queue.send(endpoint.queue, body, {
          attributes: { topic: n.topic, messageId: n.messageId },
        });
        return { ok: true };
      }
      if (endpoint.kind === 'handler') {
        const handler = this.handlers.get(endpoint.name);
        if (!handler)
          return { ok: false, error: `no handler "${endpoint.name}" is registered in this process` };
        await handler(n);
        return { ok: true };
      }
      // Checked again here, on the address the request connects to: DNS may have changed since subscribe.
      const status = await this.webhooks.post(
        endpoint.url,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'Trainyard-Webhook/1',
          [signatureHeader]: signatureOf(secret, body),
          'x-trainyard-topic': n.topic,
          'x-trainyard-message-id': n.messageId,
          'x-trainyard-subscription': sub.id,
          'x-trainyard-attempt': String(attempt),
        },
        AbortSignal.timeout(sub.retryPolicy.timeoutMs),
      );
      if (status >= 200 && status < 300) return { ok: true, httpStatus: status };
      return { ok: false, httpStatus: status, error: `endpoint answered HTTP ${status}` };
    } catch (error) {
      const e = error as Error;
      if (TrainyardError.is(error, 'PERMISSION_DENIED')) return { ok: false, error: e.message };
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      return {
        ok: false,
        error: timedOut
          ? `no answer within ${sub.retryPolicy.timeoutMs} ms (timeout)`
          : `${e.message}${(e.cause as Error | undefined)?.message ? `: ${(e.cause as Error).message}` : ''}`,
      };
    }
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
