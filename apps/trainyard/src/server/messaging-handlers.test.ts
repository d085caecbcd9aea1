import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformEvent } from '@trainyard/contracts/events';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../config.js';
import { openPlatform } from '../platform.js';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

describe('messaging REST routes and the server delivery loop', () => {
  let t: TestServer;
  let hook: Server;
  let hookUrl: string;
  const received: { body: string; signature: string }[] = [];
  beforeAll(async () => {
    t = await openTestServer({ webhookAllowedNetworks: ['127.0.0.1'] });
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          body: Buffer.concat(chunks).toString(),
          signature: String(req.headers['x-trainyard-signature']),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await t.close();
    hook.closeAllConnections();
    await new Promise((r) => hook.close(r));
  });

  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, secret?: string) =>
    t.app.inject({ method, url, headers: t.auth(secret), ...(payload ? { payload } : {}) });

  it('creates a topic, subscribes a webhook, test-publishes and shows the signed delivery in the log', async () => {
    expect(
      (await call('POST', '/api/v1/topics', { name: 'model-alerts', description: 'drift' })).statusCode,
    ).toBe(201);
    const sub = await call('POST', '/api/v1/topics/model-alerts/subscriptions', {
      endpoint: { kind: 'http', url: hookUrl },
      retryPolicy: { maxAttempts: 3, initialDelayMs: 50 },
    });
    expect(sub.statusCode).toBe(201);
    const { id, secret } = sub.json();
    expect(secret).toEqual(expect.any(String));
    const listed = (await call('GET', '/api/v1/topics/model-alerts/subscriptions')).json();
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0].secret).toBeUndefined();
    const published = await call('POST', '/api/v1/topics/model-alerts/publish', {
      message: 'drift detected',
      subject: 'test',
    });
    expect(published.json()).toMatchObject({ deliveries: 1 });
    const until = Date.now() + 5_000;
    while (received.length === 0 && Date.now() < until) await sleep(20);
    expect(received).toHaveLength(1);
    const [hit] = received;
    expect(hit?.signature).toBe(`sha256=${createHmac('sha256', secret).update(hit!.body).digest('hex')}`);
    expect(JSON.parse(hit!.body)).toMatchObject({
      message: 'drift detected',
      messageId: published.json().messageId,
    });
    let log = (await call('GET', `/api/v1/subscriptions/${id}/deliveries`)).json();
    while (log.items.length === 0 && Date.now() < until) {
      await sleep(20);
      log = (await call('GET', `/api/v1/subscriptions/${id}/deliveries`)).json();
    }
    expect(log.items[0]).toMatchObject({ attempt: 1, status: 'delivered', httpStatus: 204 });
    expect((await call('GET', '/api/v1/topics')).json().items.map((x: { name: string }) => x.name)).toContain(
      'model-alerts',
    );
    expect((await call('DELETE', `/api/v1/subscriptions/${id}`)).statusCode).toBe(200);
    expect((await call('GET', `/api/v1/subscriptions/${id}/deliveries`)).statusCode).toBe(404);
  });

  it('refuses bad input naming the field, and lets viewers read but not publish', async () => {
    await call('POST', '/api/v1/topics', { name: 'guarded' });
    const bad = await call('POST', '/api/v1/topics/guarded/subscriptions', {
      endpoint: { kind: 'https', url: 'not a url' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toMatch(/^body\.endpoint/);
    const mismatch = await call('POST', '/api/v1/topics/guarded/subscriptions', {
      endpoint: { kind: 'https', url: hookUrl },
    });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.field).toBe('endpoint.url');
    expect((await call('POST', '/api/v1/topics/nope/publish', { message: 'x' })).statusCode).toBe(404);
    const viewer = await t.keyWithRole('viewer');
    expect((await call('GET', '/api/v1/topics', undefined, viewer)).statusCode).toBe(200);
    expect((await call('POST', '/api/v1/topics/guarded/publish', { message: 'x' }, viewer)).statusCode).toBe(
      403,
    );
  });

  it('lists queues with counts, peeks the dead-letter queue and redrives it to its source', async () => {
    const queues = t.platform.messaging.queues;
    await queues.createQueue('scoring', { maxReceiveCount: 1, visibilityTimeoutMs: 100 });
    await queues.send('scoring', '{"row":1}');
    expect(await queues.receive('scoring')).toHaveLength(1);
    await sleep(150);
    expect(await queues.receive('scoring')).toEqual([]); // moved to scoring-dlq instead
    const listed = (await call('GET', '/api/v1/queues')).json().items;
    expect(listed.find((q: { name: string }) => q.name === 'scoring-dlq')).toMatchObject({
      visible: 1,
      inFlight: 0,
    });
    expect((await call('GET', '/api/v1/queues/scoring')).json()).toMatchObject({
      deadLetterQueue: 'scoring-dlq',
      visible: 0,
    });
    const peeked = (await call('GET', '/api/v1/queues/scoring-dlq/messages')).json().items;
    expect(peeked.map((m: { body: string }) => m.body)).toEqual(['{"row":1}']);
    expect((await call('POST', '/api/v1/queues/scoring-dlq/redrive', {})).json()).toEqual({
      moved: 1,
      toQueue: 'scoring',
    });
    expect((await queues.counts('scoring')).visible).toBe(1);
    expect((await call('GET', '/api/v1/queues/missing')).statusCode).toBe(404);
  });

  it('creates a stream, puts records and reads a shard from a position', async () => {
    const created = await call('POST', '/api/v1/streams', { name: 'capture', shardCount: 1 });
    expect(created.statusCode).toBe(201);
    const seqs: string[] = [];
    for (const data of ['a', 'b', 'c']) {
      seqs.push(
        (await call('POST', '/api/v1/streams/capture/records', { partitionKey: 'ep', data })).json()
          .sequenceNumber,
      );
    }
    const described = (await call('GET', '/api/v1/streams/capture')).json();
    expect(described.shards[0]).toMatchObject({ records: 3, lastSequenceNumber: seqs[2] });
    const all = (await call('GET', '/api/v1/streams/capture/shards/0/records')).json();
    expect(all.records.map((r: { data: string }) => r.data)).toEqual(['a', 'b', 'c']);
    const after = (
      await call(
        'GET',
        `/api/v1/streams/capture/shards/0/records?position=AFTER_SEQUENCE_NUMBER&sequenceNumber=${seqs[0]}&limit=1`,
      )
    ).json();
    expect(after.records.map((r: { data: string }) => r.data)).toEqual(['b']);
    expect(after.nextPosition).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seqs[1] });
    const missing = await call('GET', '/api/v1/streams/capture/shards/0/records?position=AT_SEQUENCE_NUMBER');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.field).toBe('query.sequenceNumber');
    expect((await call('GET', '/api/v1/streams/capture/shards/5/records')).statusCode).toBe(400);
  });

  it('publishes platform events in the documented envelope to trainyard.<resource>.state-change', async () => {
    const topics = t.platform.messaging.topics;
    await topics.createTopic('trainyard.processing-job.state-change');
    await topics.subscribe('trainyard.processing-job.state-change', { kind: 'queue', queue: 'job-events' });
    await t.platform.events.stateChange('processing-job', 'clean-1', {
      state: 'Completed',
      previousState: 'InProgress',
    });
    const [m] = await t.platform.messaging.queues.receive('job-events', { waitMs: 5_000 });
    const event = PlatformEvent.parse(JSON.parse(JSON.parse(m!.body).message));
    expect(event).toMatchObject({
      type: 'trainyard.processing-job.state-change',
      resource: { kind: 'processing-job', name: 'clean-1' },
      detail: { state: 'Completed', previousState: 'InProgress' },
    });
  });

  it('keeps the platform topics and job queue to the platform: create and subscribe yes, publish and delete no', async () => {
    const reserved = 'trainyard.processing-job.state-change';
    expect((await call('POST', '/api/v1/topics', { name: reserved })).statusCode).toBe(201);
    for (const [method, url, payload] of [
      ['POST', `/api/v1/topics/${reserved}/publish`, { message: '{"forged":true}' }],
      ['DELETE', `/api/v1/topics/${reserved}`, undefined],
    ] as const) {
      const refused = await call(method, url, payload);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.message).toMatch(/reserved/);
    }
    expect((await call('GET', `/api/v1/topics/${reserved}`)).statusCode).toBe(200);
    const toJobQueue = await call('POST', `/api/v1/topics/${reserved}/subscriptions`, {
      endpoint: { kind: 'queue', queue: 'trainyard-jobs' },
    });
    expect(toJobQueue.statusCode).toBe(403);
    expect(toJobQueue.json().error.field).toBe('endpoint.queue');
    const subscribed = await call('POST', `/api/v1/topics/${reserved}/subscriptions`, {
      endpoint: { kind: 'queue', queue: 'my-job-events' },
    });
    expect(subscribed.statusCode).toBe(201);
  });

  it('refuses an unknown messaging scheme at start, naming the config field', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-badmq-'));
    try {
      const config = loadServerConfig({
        env: { TRAINYARD_MESSAGING: 'kafka://127.0.0.1:9092' },
        flags: { dataDir, logLevel: 'silent', auth: false },
      });
      expect(config.messaging).toBe('kafka://127.0.0.1:9092');
      await expect(openPlatform(config, pino({ level: 'silent' }))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { field: 'messaging' },
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
