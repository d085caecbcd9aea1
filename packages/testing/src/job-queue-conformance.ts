import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobQueue, ReceivedMessage } from '@trainyard/core/ports/job-queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * Two handles on one fresh, empty backend (two connections where the backend has connections),
 * so the suite can show that separate consumers never hold the same message at once.
 */
export interface JobQueueFixture {
  queues: [JobQueue, JobQueue];
  close(): Promise<void>;
}

export type JobQueueFactory = () => Promise<JobQueueFixture>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<TrainyardError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TrainyardError);
    expect((error as TrainyardError).code).toBe(code);
    return error as TrainyardError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Receives until a message arrives or `withinMs` passes. */
async function receiveWithin(queue: JobQueue, name: string, withinMs: number, visibilityTimeoutMs?: number) {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const got = await queue.receive(name, {
      maxMessages: 10,
      ...(visibilityTimeoutMs ? { visibilityTimeoutMs } : {}),
    });
    if (got.length > 0) return got;
    await sleep(15);
  }
  return [];
}

/**
 * The behaviour every JobQueue adapter must show, with real short timeouts (100..300 ms):
 * `jobQueueConformance('embedded-sqlite', async () => ({ queues: [a, b], close }))`.
 */
export function jobQueueConformance(name: string, open: JobQueueFactory): void {
  describe(`JobQueue conformance: ${name}`, () => {
    let fixture: JobQueueFixture;
    let q: JobQueue;
    beforeEach(async () => {
      fixture = await open();
      q = fixture.queues[0];
    });
    afterEach(async () => {
      await fixture.close();
    });

    it('sends, receives and deletes a message with its attributes; refuses unknown queues and bad input', async () => {
      await q.createQueue('work');
      const { id } = await q.send('work', 'hello', { attributes: { kind: 'train' } });
      const [m] = await q.receive('work');
      expect(m).toMatchObject({ id, body: 'hello', attributes: { kind: 'train' }, receiveCount: 1 });
      expect(m?.sentAt).toBeInstanceOf(Date);
      await q.delete('work', m!.receiptHandle);
      expect(await q.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      expect(await q.listQueues()).toContain('work');
      await expectCode(q.send('nope', 'x'), 'NOT_FOUND');
      await expectCode(q.receive('nope'), 'NOT_FOUND');
      const bad = await expectCode(q.receive('work', { maxMessages: 0 }), 'INVALID_ARGUMENT');
      expect(bad.details.field).toBe('maxMessages');
      await expectCode(q.createQueue('bad name!'), 'INVALID_ARGUMENT');
      await expectCode(q.delete('work', 'not-a-handle'), 'INVALID_ARGUMENT');
    });

    it('hides a received message for its visibility timeout and shows it again after, with a new receipt', async () => {
      await q.createQueue('work', { visibilityTimeoutMs: 300 });
      await q.send('work', 'job');
      const receivedAt = Date.now(); // no later than the adapter's clock reading for this receive
      const [first] = await q.receive('work');
      expect(first?.receiveCount).toBe(1);
      expect(await q.receive('work')).toEqual([]);
      expect((await q.counts('work')).inFlight).toBe(1);
      await sleep(150);
      expect(await q.receive('work')).toEqual([]);
      const [again] = await receiveWithin(q, 'work', 1500);
      expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(300);
      expect(again).toMatchObject({ id: first?.id, receiveCount: 2 });
      // The first consumer took too long: its receipt no longer deletes the message.
      await expectCode(q.delete('work', first!.receiptHandle), 'FAILED_PRECONDITION');
      await q.delete('work', again!.receiptHandle);
      expect(await q.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('changeVisibility extends the hiding or returns the message at once', async () => {
      await q.createQueue('work', { visibilityTimeoutMs: 200 });
      await q.send('work', 'job');
      const [m] = await q.receive('work');
      await q.changeVisibility('work', m!.receiptHandle, 600);
      await sleep(300);
      expect(await q.receive('work')).toEqual([]);
      await q.changeVisibility('work', m!.receiptHandle, 0);
      const [back] = await q.receive('work');
      expect(back).toMatchObject({ id: m?.id, receiveCount: 2 });
    });

    it('never lets two consumers hold the same message at once', async () => {
      await q.createQueue('work', { visibilityTimeoutMs: 5_000 });
      const total = 40;
      for (let i = 0; i < total; i++) await q.send('work', `m${i}`);
      const held = new Set<string>();
      const delivered: string[] = [];
      const clashes: string[] = [];
      const consumer = async (queue: JobQueue) => {
        let idle = 0;
        while (idle < 3) {
          const batch = await queue.receive('work', { maxMessages: 3 });
          if (batch.length === 0) {
            idle++;
            await sleep(20);
            continue;
          }
          idle = 0;
          for (const m of batch) {
            if (held.has(m.id)) clashes.push(m.id);
            held.add(m.id);
          }
          await sleep(5);
          for (const m of batch) {
            held.delete(m.id);
            delivered.push(m.body);
            await queue.delete('work', m.receiptHandle);
          }
        }
      };
      const [a, b] = fixture.queues;
      await Promise.all([consumer(a), consumer(a), consumer(b), consumer(b)]);
      expect(clashes).toEqual([]);
      expect(delivered.sort()).toEqual(Array.from({ length: total }, (_, i) => `m${i}`).sort());
    });

    it('moves a message to the dead-letter queue after maxReceiveCount receives, and redrives it back', async () => {
      await q.createQueue('work', { visibilityTimeoutMs: 100, maxReceiveCount: 2 });
      expect(await q.describeQueue('work')).toMatchObject({
        maxReceiveCount: 2,
        deadLetterQueue: 'work-dlq',
      });
      await q.send('work', 'poison');
      const counts: number[] = [];
      const until = Date.now() + 2_000;
      while (Date.now() < until && (await q.counts('work-dlq')).visible === 0) {
        for (const m of await q.receive('work')) counts.push(m.receiveCount);
        await sleep(20);
      }
      expect(counts).toEqual([1, 2]);
      expect(await q.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      const [dead] = await q.peek('work-dlq');
      expect(dead?.body).toBe('poison');
      expect(await q.peek('work-dlq')).toHaveLength(1); // peeking does not receive
      expect(await q.redrive('work-dlq', 'work')).toBe(1);
      const [back] = await q.receive('work');
      expect(back).toMatchObject({ body: 'poison', receiveCount: 1 });
      expect((await q.counts('work-dlq')).visible).toBe(0);
    });

    it('purges every message, received and delayed ones too, and keeps the queue', async () => {
      await q.createQueue('work', { fifo: true, maxReceiveCount: 3 });
      await q.send('work', 'a', { groupId: 'g' });
      await q.send('work', 'b', { groupId: 'g' });
      await q.send('work', 'c', { delayMs: 60_000, groupId: 'h' });
      const [held] = await q.receive('work');
      expect(held?.body).toBe('a');
      expect(await q.purge('work')).toBe(3);
      expect(await q.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      await expect(q.delete('work', held?.receiptHandle ?? '')).resolves.toBeUndefined();
      // The FIFO group starts afresh: a new message of group g is deliverable at once.
      await q.send('work', 'd', { groupId: 'g' });
      expect((await q.receive('work')).map((m) => m.body)).toEqual(['d']);
      expect(await q.describeQueue('work')).toMatchObject({ fifo: true, maxReceiveCount: 3 });
      await expect(q.purge('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps a delayed message hidden until its delay has passed', async () => {
      await q.createQueue('work');
      const sentAt = Date.now();
      await q.send('work', 'later', { delayMs: 250 });
      await q.send('work', 'now');
      expect(await q.counts('work')).toEqual({ visible: 1, inFlight: 0, delayed: 1 });
      const first = await q.receive('work', { maxMessages: 10 });
      expect(first.map((m) => m.body)).toEqual(['now']);
      const [later] = await receiveWithin(q, 'work', 1500);
      expect(later?.body).toBe('later');
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(240);
    });

    it('long-polls: a waiting receive returns the message sent while it waits', async () => {
      await q.createQueue('work');
      const waiting = fixture.queues[1].receive('work', { waitMs: 3_000 });
      await sleep(100);
      await q.send('work', 'wake');
      const got: ReceivedMessage[] = await waiting;
      expect(got.map((m) => m.body)).toEqual(['wake']);
    });

    it('FIFO: one message in flight per group, in send order', async () => {
      await q.createQueue('orders', { fifo: true, visibilityTimeoutMs: 5_000 });
      await expectCode(q.send('orders', 'x'), 'INVALID_ARGUMENT');
      for (const [g, body] of [
        ['a', 'a1'],
        ['a', 'a2'],
        ['b', 'b1'],
        ['a', 'a3'],
      ] as const)
        await q.send('orders', body, { groupId: g });
      const first = await q.receive('orders', { maxMessages: 10 });
      expect(first.map((m) => m.body).sort()).toEqual(['a1', 'b1']);
      expect(await fixture.queues[1].receive('orders', { maxMessages: 10 })).toEqual([]);
      await q.delete('orders', first.find((m) => m.body === 'a1')!.receiptHandle);
      const second = await q.receive('orders', { maxMessages: 10 });
      expect(second.map((m) => m.body)).toEqual(['a2']);
      expect(second[0]?.groupId).toBe('a');
    });
  });
}
