import { shardForKey } from '@trainyard/core/messaging/shard-for-key';
import type {
  GetRecordsResult,
  PutResult,
  Stream,
  StreamDescription,
  StreamOptions,
  StreamPosition,
  StreamRecord,
} from '@trainyard/core/ports/stream';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../sql/database.js';
import { sqlCall } from '../sql/sql-errors.js';
import type { MessagingTables, MsStreamsTable } from './messaging-tables.js';
import { streamArguments } from './stream-arguments.js';

type Db = Kysely<MessagingTables>;

const sequencePattern = /^\d{1,18}$/;
/** Puts apply retention to their stream at most this often. */
const retentionEveryMs = 1_000;

/**
 * The embedded Stream: records are rows of the metadata database. A put takes the shard's next
 * sequence number and inserts the record in one transaction; the shard row's lock orders
 * concurrent producers, so readers never see a gap that is filled later. Retention runs on puts
 * (at most once a second per stream) and on {@link applyRetention}.
 */
export class EmbeddedStream implements Stream {
  readonly kind: string;
  private readonly db: Db;
  private readonly retainedAt = new Map<string, number>();
  /** Puts re-read a stream's shard count at most once a second (it changes only by delete + create). */
  private readonly shardCounts = new Map<string, { count: number; at: number }>();

  constructor(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
    this.db = db.withTables<MessagingTables>() as unknown as Db;
    this.kind = `embedded-${dialect}`;
  }

  private async row(name: string): Promise<Selectable<MsStreamsTable>> {
    const row = await this.db
      .selectFrom('ms_streams')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw streamArguments.unknown(name);
    return row;
  }

  async createStream(name: string, options: StreamOptions = {}): Promise<StreamDescription> {
    const o = streamArguments.options(name, options);
    await sqlCall(`stream "${name}"`, () =>
      this.db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('ms_streams')
          .selectAll()
          .where('name', '=', name)
          .executeTakeFirst();
        if (existing && existing.shard_count !== o.shardCount) {
          throw streamArguments.shardCountClash(name, existing.shard_count, o.shardCount);
        }
        const retention = {
          retention_ms: o.retentionMs,
          max_records_per_shard: o.maxRecordsPerShard ?? null,
        };
        if (existing) {
          await tx.updateTable('ms_streams').set(retention).where('name', '=', name).execute();
          return;
        }
        await tx
          .insertInto('ms_streams')
          .values({ name, shard_count: o.shardCount, ...retention, created_at: Date.now() })
          .execute();
        await tx
          .insertInto('ms_shards')
          .values(Array.from({ length: o.shardCount }, (_, shard) => ({ stream: name, shard, last_seq: 0 })))
          .execute();
      }),
    );
    return this.describeStream(name);
  }

  async describeStream(name: string): Promise<StreamDescription> {
    const row = await this.row(name);
    const stats = await this.db
      .selectFrom('ms_records')
      .select((eb) => [
        'shard',
        eb.fn.countAll<number>().as('n'),
        eb.fn.min('seq').as('first'),
        eb.fn.max('seq').as('last'),
      ])
      .where('stream', '=', name)
      .groupBy('shard')
      .execute();
    const byShard = new Map(stats.map((s) => [Number(s.shard), s]));
    return {
      name,
      shardCount: row.shard_count,
      retentionMs: Number(row.retention_ms),
      maxRecordsPerShard: row.max_records_per_shard === null ? undefined : Number(row.max_records_per_shard),
      createdAt: new Date(Number(row.created_at)),
      shards: Array.from({ length: row.shard_count }, (_, shardId) => {
        const s = byShard.get(shardId);
        return s
          ? {
              shardId,
              records: Number(s.n),
              firstSequenceNumber: String(s.first),
              lastSequenceNumber: String(s.last),
            }
          : { shardId, records: 0 };
      }),
    };
  }

  async listStreams(): Promise<string[]> {
    return (await this.db.selectFrom('ms_streams').select('name').orderBy('name').execute()).map(
      (r) => r.name,
    );
  }

  async deleteStream(name: string): Promise<void> {
    await this.row(name);
    await this.db.transaction().execute(async (tx) => {
      for (const table of ['ms_records', 'ms_shards', 'ms_checkpoints'] as const) {
        await tx.deleteFrom(table).where('stream', '=', name).execute();
      }
      await tx.deleteFrom('ms_streams').where('name', '=', name).execute();
    });
    this.retainedAt.delete(name);
    this.shardCounts.delete(name);
  }

  async putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult> {
    streamArguments.record(partitionKey, data);
    const cached = this.shardCounts.get(stream);
    let shardCount = cached?.count;
    if (cached === undefined || Date.now() - cached.at > 1_000) {
      shardCount = (await this.row(stream)).shard_count;
      this.shardCounts.set(stream, { count: shardCount, at: Date.now() });
    }
    const shardId = shardForKey(partitionKey, shardCount as number);
    const seq = await sqlCall(`record of stream "${stream}"`, () =>
      this.db.transaction().execute(async (tx) => {
        const next = await tx
          .updateTable('ms_shards')
          .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
          .where('stream', '=', stream)
          .where('shard', '=', shardId)
          .returning('last_seq')
          .executeTakeFirst();
        // The stream was deleted since its shard count was cached.
        if (!next) throw streamArguments.unknown(stream);
        const seq = Number(next.last_seq);
        await tx
          .insertInto('ms_records')
          .values({ stream, shard: shardId, seq, partition_key: partitionKey, data, arrived_at: Date.now() })
          .execute();
        return seq;
      }),
    );
    await this.retainNowAndThen(stream);
    return { shardId, sequenceNumber: String(seq) };
  }

  async getRecords(
    stream: string,
    shardId: number,
    position: StreamPosition,
    options: { limit?: number } = {},
  ): Promise<GetRecordsResult> {
    const row = await this.row(stream);
    streamArguments.shard(stream, shardId, row.shard_count);
    streamArguments.position(position, sequencePattern);
    const limit = streamArguments.limit(options.limit);
    await this.retainNowAndThen(stream);
    if (position.type === 'LATEST') {
      const shard = await this.db
        .selectFrom('ms_shards')
        .select('last_seq')
        .where('stream', '=', stream)
        .where('shard', '=', shardId)
        .executeTakeFirstOrThrow();
      return {
        records: [],
        nextPosition: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: String(shard.last_seq) },
      };
    }
    let query = this.db
      .selectFrom('ms_records')
      .selectAll()
      .where('stream', '=', stream)
      .where('shard', '=', shardId)
      .orderBy('seq')
      .limit(limit);
    if (position.type === 'AT_SEQUENCE_NUMBER')
      query = query.where('seq', '>=', Number(position.sequenceNumber));
    if (position.type === 'AFTER_SEQUENCE_NUMBER')
      query = query.where('seq', '>', Number(position.sequenceNumber));
    if (position.type === 'AT_TIMESTAMP')
      query = query.where('arrived_at', '>=', position.timestamp.getTime());
    const rows = await query.execute();
    const records: StreamRecord[] = rows.map((r) => ({
      shardId,
      sequenceNumber: String(r.seq),
      partitionKey: r.partition_key,
      data: r.data,
      arrivedAt: new Date(Number(r.arrived_at)),
    }));
    const last = records.at(-1);
    return {
      records,
      nextPosition: last ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber } : position,
    };
  }

  async checkpoint(stream: string, consumer: string, shardId: number, sequenceNumber: string): Promise<void> {
    const row = await this.row(stream);
    streamArguments.shard(stream, shardId, row.shard_count);
    streamArguments.checkpoint(consumer, sequenceNumber, sequencePattern);
    const now = Date.now();
    await sqlCall('checkpoint', () =>
      this.db
        .insertInto('ms_checkpoints')
        .values({ stream, consumer, shard: shardId, sequence_number: sequenceNumber, updated_at: now })
        .onConflict((oc) =>
          oc
            .columns(['stream', 'consumer', 'shard'])
            .doUpdateSet({ sequence_number: sequenceNumber, updated_at: now }),
        )
        .execute(),
    );
  }

  async getCheckpoint(stream: string, consumer: string, shardId: number): Promise<string | undefined> {
    await this.row(stream);
    const row = await this.db
      .selectFrom('ms_checkpoints')
      .select('sequence_number')
      .where('stream', '=', stream)
      .where('consumer', '=', consumer)
      .where('shard', '=', shardId)
      .executeTakeFirst();
    return row?.sequence_number;
  }

  /** Applies retention at most once a second per stream, so quiet streams trim too, when read. */
  private async retainNowAndThen(stream: string): Promise<void> {
    const now = Date.now();
    if (now - (this.retainedAt.get(stream) ?? 0) <= retentionEveryMs) return;
    this.retainedAt.set(stream, now);
    await this.applyRetention(stream);
  }

  async applyRetention(stream: string): Promise<number> {
    const row = await this.row(stream);
    let dropped = 0;
    const byAge = await this.db
      .deleteFrom('ms_records')
      .where('stream', '=', stream)
      .where('arrived_at', '<', Date.now() - Number(row.retention_ms))
      .executeTakeFirst();
    dropped += Number(byAge.numDeletedRows);
    const max = row.max_records_per_shard;
    if (max !== null) {
      // Sequence numbers of a shard are contiguous, so "the newest max" is "seq > last - max".
      const shards = await this.db
        .selectFrom('ms_shards')
        .select(['shard', 'last_seq'])
        .where('stream', '=', stream)
        .execute();
      for (const s of shards) {
        const bySize = await this.db
          .deleteFrom('ms_records')
          .where('stream', '=', stream)
          .where('shard', '=', s.shard)
          .where('seq', '<=', Number(s.last_seq) - Number(max))
          .executeTakeFirst();
        dropped += Number(bySize.numDeletedRows);
      }
    }
    return dropped;
  }

  async close(): Promise<void> {
    // The database belongs to the metadata store, which closes it.
  }
}
