import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebhookTargetPolicy } from '@trainyard/adapters/messaging/webhook-target';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { DeliveryLoop, Notification, Topic } from '@trainyard/core/ports/topic';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** A fresh Topic and the JobQueue it delivers through (to check queue subscriptions). */
export interface TopicFixture {
  topic: Topic;
  queue: JobQueue;
  close(): Promise<void>;
}

export type TopicFactory = () => Promise<TopicFixture>;

/** The receivers of these tests listen on 127.0.0.1; every other refused range stays refused. */
export const loopbackWebhooks = new WebhookTargetPolicy(['127.0.0.1']);

async function until(what: string, check: () => boolean | Promise<boolean>, withinMs = 5_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Hit {
  at: number;
  body: string;
  headers: IncomingMessage['headers'];
  status: number;
}

/** A real local HTTP server answering each request with the next of `answers` ('hang' never answers). */
async function webhookServer(
  answers: (number | 'hang')[],
): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = answers[Math.min(hits.length, answers.length - 1)] ?? 200;
      hits.push({
        at: Date.now(),
        body: Buffer.concat(chunks).toString('utf8'),
        headers: req.headers,
        status: answer === 'hang' ? 0 : answer,
      });
      if (answer === 'hang') hanging.push(res);
      else res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function signatureValid(secret: string, hit: Hit): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(hit.body).digest('hex')}`);
  const given = Buffer.from(String(hit.headers['x-trainyard-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The behaviour every Topic must show on every JobQueue backend: fan-out once per subscription,
 * signed webhooks retried with exponential backoff, dead letters, a delivery log.
 */
export function topicConformance(name: string, open: TopicFactory): void {
  describe(`Topic conformance: ${name}`, () => {
    let fixture: TopicFixture;
    let topics: Topic;
    let loop: DeliveryLoop | undefined;
    const servers: { close(): Promise<void> }[] = [];
    beforeEach(async () => {
      fixture = await open();
      topics = fixture.topic;
    });
    afterEach(async () => {
      await loop?.stop();
      loop = undefined;
      for (const s of servers.splice(0)) await s.close();
      await fixture.close();
    });
    const startLoop = () => {
      loop = topics.startDeliveryLoop({ pollMs: 50, concurrency: 4 });
    };

    it('creates, lists and deletes topics; refuses unknown topics and bad endpoints', async () => {
      const created = await topics.createTopic('trainyard.training-job.state-change', {
        description: 'jobs',
      });
      expect(created).toMatchObject({ name: 'trainyard.training-job.state-change', subscriptionCount: 0 });
      expect((await topics.createTopic('trainyard.training-job.state-change')).description).toBe('jobs');
      expect((await topics.listTopics()).map((t) => t.name)).toEqual(['trainyard.training-job.state-change']);
      await expect(topics.subscribe('missing', { kind: 'queue', queue: 'q' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const bad = await topics
        .subscribe('trainyard.training-job.state-change', { kind: 'https', url: 'http://x.test/' })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(TrainyardError);
      expect((bad as TrainyardError).details.field).toBe('endpoint.url');
      // The server never posts into its own machine or network on a user's behalf.
      for (const url of [
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/',
        'http://[::1]:7070/',
        'http://127.0.0.2/',
      ]) {
        await expect(
          topics.subscribe('trainyard.training-job.state-change', { kind: 'http', url }),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED', details: { field: 'endpoint.url' } });
      }
      await expect(
        topics.subscribe(
          'trainyard.training-job.state-change',
          { kind: 'queue', queue: 'q' },
          { retryPolicy: { maxAttempts: 0 } },
        ),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await topics.deleteTopic('trainyard.training-job.state-change');
      expect(await topics.listTopics()).toEqual([]);
      await expect(topics.publish('trainyard.training-job.state-change', 'x')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('fans a publish out exactly once to every subscription: queues and in-process handlers', async () => {
      await topics.createTopic('events');
      await topics.subscribe('events', { kind: 'queue', queue: 'audit' });
      await topics.subscribe('events', { kind: 'queue', queue: 'billing' });
      const seen: Notification[] = [];
      topics.registerHandler('counter', async (n) => {
        seen.push(n);
      });
      await topics.subscribe('events', { kind: 'handler', name: 'counter' });
      expect((await topics.getTopic('events')).subscriptionCount).toBe(3);
      startLoop();
      const { messageId, deliveries } = await topics.publish('events', '{"state":"Completed"}', {
        subject: 'job done',
        attributes: { resource: 'training-job' },
      });
      expect(deliveries).toBe(3);
      await until('the handler', () => seen.length === 1);
      const audit = await fixture.queue.receive('audit', { maxMessages: 10, waitMs: 3_000 });
      const billing = await fixture.queue.receive('billing', { maxMessages: 10, waitMs: 3_000 });
      for (const got of [audit, billing]) {
        expect(got).toHaveLength(1);
        expect(JSON.parse(got[0]!.body)).toMatchObject({
          messageId,
          topic: 'events',
          message: '{"state":"Completed"}',
          subject: 'job done',
        });
      }
      await sleep(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        type: 'Notification',
        messageId,
        attributes: { resource: 'training-job' },
      });
      expect(await fixture.queue.receive('audit', { maxMessages: 10 })).toEqual([]);
    });

    it('retries a webhook that answers 500 twice with exponential backoff, then delivers it exactly once, signed', async () => {
      const hook = await webhookServer([500, 500, 200]);
      servers.push(hook);
      await topics.createTopic('alarms');
      const sub = await topics.subscribe(
        'alarms',
        { kind: 'http', url: hook.url },
        { retryPolicy: { initialDelayMs: 100, timeoutMs: 1_000 } },
      );
      expect(sub.secret.length).toBeGreaterThanOrEqual(32);
      startLoop();
      const { messageId } = await topics.publish('alarms', 'cpu high');
      await until('three webhook calls', () => hook.hits.length >= 3);
      await sleep(600); // long enough for a 4th attempt (backoff 400 ms) if one were coming
      expect(hook.hits.map((h) => h.status)).toEqual([500, 500, 200]);
      for (const hit of hook.hits) {
        expect(signatureValid(sub.secret, hit)).toBe(true);
        expect(JSON.parse(hit.body)).toMatchObject({
          type: 'Notification',
          messageId,
          topic: 'alarms',
          message: 'cpu high',
        });
        expect(hit.headers['x-trainyard-message-id']).toBe(messageId);
      }
      expect(signatureValid('another-secret-of-some-length', hook.hits[0]!)).toBe(false);
      // Backoff doubles: >= 100 ms before the 2nd attempt, >= 200 ms before the 3rd.
      expect(hook.hits[1]!.at - hook.hits[0]!.at).toBeGreaterThanOrEqual(90);
      expect(hook.hits[2]!.at - hook.hits[1]!.at).toBeGreaterThanOrEqual(190);
      const log = await topics.deliveryLog(sub.id);
      expect(log.map((a) => [a.attempt, a.status, a.httpStatus])).toEqual([
        [3, 'delivered', 200],
        [2, 'failed', 500],
        [1, 'failed', 500],
      ]);
      expect(await topics.deadLetters(sub.id)).toEqual([]);
    });

    it('gives up after the retry policy, timeouts included, and keeps a dead-letter record', async () => {
      const hook = await webhookServer(['hang', 503]);
      servers.push(hook);
      await topics.createTopic('alarms');
      const sub = await topics.subscribe(
        'alarms',
        { kind: 'http', url: hook.url },
        { retryPolicy: { maxAttempts: 2, initialDelayMs: 50, timeoutMs: 200 } },
      );
      startLoop();
      const { messageId } = await topics.publish('alarms', 'disk full');
      await until('a dead letter', async () => (await topics.deadLetters(sub.id)).length === 1);
      await sleep(300);
      expect(hook.hits).toHaveLength(2);
      const [dead] = await topics.deadLetters(sub.id);
      expect(dead).toMatchObject({ messageId, attempts: 2, notification: { message: 'disk full' } });
      expect(dead?.lastError).toContain('503');
      const log = await topics.deliveryLog(sub.id);
      expect(log.map((a) => [a.attempt, a.status])).toEqual([
        [2, 'dead-lettered'],
        [1, 'failed'],
      ]);
      expect(log[1]?.error).toContain('timeout');
    });

    it("drops delivery log entries older than the loop's deliveryLogRetentionMs", async () => {
      await topics.createTopic('events');
      const sub = await topics.subscribe('events', { kind: 'queue', queue: 'audit' });
      startLoop();
      await topics.publish('events', 'x');
      await until('the delivery', async () => (await topics.deliveryLog(sub.id)).length === 1);
      await loop?.stop();
      await sleep(20);
      loop = topics.startDeliveryLoop({ pollMs: 50, deliveryLogRetentionMs: 10 });
      await until('the log trim', async () => (await topics.deliveryLog(sub.id)).length === 0);
    });

    it('stops delivering to a subscription once it is removed', async () => {
      await topics.createTopic('events');
      const sub = await topics.subscribe('events', { kind: 'queue', queue: 'audit' });
      await topics.unsubscribe(sub.id);
      expect(await topics.listSubscriptions('events')).toEqual([]);
      expect((await topics.publish('events', 'x')).deliveries).toBe(0);
      await expect(topics.deliveryLog(sub.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
