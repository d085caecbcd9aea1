import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import { shardForKey } from '@trainyard/core/messaging/shard-for-key';
import type { Stream, StreamPosition, StreamRecord } from '@trainyard/core/ports/stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** Two handles on one fresh backend (two connections where it has connections). */
export interface StreamFixture {
  streams: [Stream, Stream];
  close(): Promise<void>;
}

export type StreamFactory = () => Promise<StreamFixture>;

async function readAll(
  s: Stream,
  name: string,
  shardId: number,
  from: StreamPosition = { type: 'TRIM_HORIZON' },
) {
  const out: StreamRecord[] = [];
  let position = from;
  for (;;) {
    const { records, nextPosition } = await s.getRecords(name, shardId, position, { limit: 50 });
    out.push(...records);
    position = nextPosition;
    if (records.length < 50) return out;
  }
}

/**
 * The behaviour every Stream adapter must show: `streamConformance('redis', async () => ({ streams: [a, b], close }))`.
 * Stream names are random per test, so adapters on a shared server do not see each other's data.
 */
export function streamConformance(name: string, open: StreamFactory): void {
  describe(`Stream conformance: ${name}`, () => {
    let fixture: StreamFixture;
    let s: Stream;
    let n = 0;
    const fresh = () => `st${Date.now().toString(36)}${n++}`;
    beforeEach(async () => {
      fixture = await open();
      s = fixture.streams[0];
    });
    afterEach(async () => {
      await fixture.close();
    });

    it('creates, describes, lists and deletes streams; refuses bad input with the field named', async () => {
      const name = fresh();
      const created = await s.createStream(name, { shardCount: 3, retentionMs: 3_600_000 });
      expect(created).toMatchObject({ name, shardCount: 3, retentionMs: 3_600_000 });
      expect(created.shards.map((sh) => sh.shardId)).toEqual([0, 1, 2]);
      expect((await s.createStream(name, { shardCount: 3 })).shardCount).toBe(3);
      await expect(s.createStream(name, { shardCount: 2 })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      expect(await s.listStreams()).toContain(name);
      const put = await s.putRecord(name, 'k', 'v');
      expect(put.shardId).toBe(shardForKey('k', 3));
      expect((await s.describeStream(name)).shards[put.shardId]).toMatchObject({
        records: 1,
        lastSequenceNumber: put.sequenceNumber,
      });
      const bad = await s.getRecords(name, 3, { type: 'TRIM_HORIZON' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(TrainyardError);
      expect((bad as TrainyardError).details.field).toBe('shardId');
      await expect(s.createStream('no spaces', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(s.createStream(fresh(), { shardCount: 0 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        s.getRecords(name, 0, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: 'garbage!' }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await s.deleteStream(name);
      expect(await s.listStreams()).not.toContain(name);
      await expect(s.putRecord(name, 'k', 'v')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(s.describeStream(name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps per-partition-key order under concurrent producers, with increasing sequence numbers', async () => {
      const name = fresh();
      await s.createStream(name, { shardCount: 2 });
      const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
      const puts = new Map<string, { data: string; seq: string; shardId: number }[]>();
      const producer = async (stream: Stream, mine: string[]) => {
        for (let i = 0; i < 12; i++) {
          for (const key of mine) {
            const data = `${key}#${i}`;
            const r = await stream.putRecord(name, key, data);
            expect(r.shardId).toBe(shardForKey(key, 2));
            const list = puts.get(key) ?? [];
            list.push({ data, seq: r.sequenceNumber, shardId: r.shardId });
            puts.set(key, list);
          }
        }
      };
      const [a, b] = fixture.streams;
      await Promise.all([
        producer(a, keys.slice(0, 2)),
        producer(b, keys.slice(2, 4)),
        producer(a, keys.slice(4, 6)),
        producer(b, keys.slice(6)),
      ]);
      const read = [...(await readAll(s, name, 0)), ...(await readAll(s, name, 1))];
      expect(read).toHaveLength(8 * 12);
      for (const key of keys) {
        const got = read.filter((r) => r.partitionKey === key);
        expect(got.map((r) => r.data)).toEqual(Array.from({ length: 12 }, (_, i) => `${key}#${i}`));
        expect(got.map((r) => r.sequenceNumber)).toEqual(puts.get(key)!.map((p) => p.seq));
      }
      // Within a shard, reading order is storage order: sequence numbers never repeat.
      for (const shard of [0, 1]) {
        const seqs = read.filter((r) => r.shardId === shard).map((r) => r.sequenceNumber);
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    });

    it('reads from TRIM_HORIZON, LATEST, AT/AFTER_SEQUENCE_NUMBER and AT_TIMESTAMP, page by page', async () => {
      const name = fresh();
      await s.createStream(name, { shardCount: 1 });
      const seqs: string[] = [];
      for (let i = 1; i <= 3; i++) seqs.push((await s.putRecord(name, 'k', `r${i}`)).sequenceNumber);
      await sleep(30);
      const between = new Date();
      await sleep(30);
      for (let i = 4; i <= 5; i++) seqs.push((await s.putRecord(name, 'k', `r${i}`)).sequenceNumber);
      const data = (rs: StreamRecord[]) => rs.map((r) => r.data);
      const page1 = await s.getRecords(name, 0, { type: 'TRIM_HORIZON' }, { limit: 2 });
      expect(data(page1.records)).toEqual(['r1', 'r2']);
      const page2 = await s.getRecords(name, 0, page1.nextPosition, { limit: 2 });
      expect(data(page2.records)).toEqual(['r3', 'r4']);
      expect(
        data((await s.getRecords(name, 0, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seqs[1]! })).records),
      ).toEqual(['r2', 'r3', 'r4', 'r5']);
      expect(
        data(
          (await s.getRecords(name, 0, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seqs[1]! })).records,
        ),
      ).toEqual(['r3', 'r4', 'r5']);
      expect(
        data((await s.getRecords(name, 0, { type: 'AT_TIMESTAMP', timestamp: between })).records),
      ).toEqual(['r4', 'r5']);
      const latest = await s.getRecords(name, 0, { type: 'LATEST' });
      expect(latest.records).toEqual([]);
      await s.putRecord(name, 'k', 'r6');
      const after = await s.getRecords(name, 0, latest.nextPosition);
      expect(data(after.records)).toEqual(['r6']);
      expect(after.records[0]?.arrivedAt).toBeInstanceOf(Date);
      const tail = await s.getRecords(name, 0, after.nextPosition);
      expect(tail.records).toEqual([]);
    });

    it('resumes a named consumer after its checkpoint, from another connection', async () => {
      const name = fresh();
      await s.createStream(name, { shardCount: 1 });
      for (let i = 1; i <= 5; i++) await s.putRecord(name, 'k', `r${i}`);
      const first = await s.getRecords(name, 0, { type: 'TRIM_HORIZON' }, { limit: 3 });
      await s.checkpoint(name, 'monitor', 0, first.records[2]!.sequenceNumber);
      expect(await s.getCheckpoint(name, 'other', 0)).toBeUndefined();
      const [, restarted] = fixture.streams;
      const saved = await restarted.getCheckpoint(name, 'monitor', 0);
      expect(saved).toBe(first.records[2]!.sequenceNumber);
      const rest = await restarted.getRecords(name, 0, {
        type: 'AFTER_SEQUENCE_NUMBER',
        sequenceNumber: saved!,
      });
      expect(rest.records.map((r) => r.data)).toEqual(['r4', 'r5']);
      await expect(s.checkpoint(name, 'bad name', 0, saved!)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it('retention drops records older than retentionMs and beyond maxRecordsPerShard', async () => {
      const aged = fresh();
      await s.createStream(aged, { shardCount: 1, retentionMs: 300 });
      await s.putRecord(aged, 'k', 'old');
      await sleep(600);
      await s.putRecord(aged, 'k', 'new');
      await s.applyRetention(aged);
      expect((await readAll(s, aged, 0)).map((r) => r.data)).toEqual(['new']);

      const capped = fresh();
      await s.createStream(capped, { shardCount: 1, maxRecordsPerShard: 3 });
      for (let i = 1; i <= 6; i++) await s.putRecord(capped, 'k', `r${i}`);
      await s.applyRetention(capped);
      expect((await readAll(s, capped, 0)).map((r) => r.data)).toEqual(['r4', 'r5', 'r6']);
    });
  });
}
