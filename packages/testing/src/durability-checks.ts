import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { Stream, StreamPosition } from '@trainyard/core/ports/stream';

/** Every `<shard>:<sequence number>` a stream holds. */
export async function storedRecordIds(stream: Stream, name: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const { shardCount } = await stream.describeStream(name);
  for (let shard = 0; shard < shardCount; shard++) {
    let position: StreamPosition = { type: 'TRIM_HORIZON' };
    for (;;) {
      const { records, nextPosition } = await stream.getRecords(name, shard, position, { limit: 1000 });
      for (const r of records) ids.add(`${shard}:${r.sequenceNumber}`);
      position = nextPosition;
      if (records.length < 1000) break;
    }
  }
  return ids;
}

/** Ids of every message a queue holds (up to 1000). */
export async function storedMessageIds(queue: JobQueue, name: string): Promise<Set<string>> {
  return new Set((await queue.peek(name, 1000)).map((m) => m.id));
}
