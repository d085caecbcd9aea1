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
import type { Redis } from 'ioredis';
import { redisCall } from './redis-errors.js';
import { type ResolvedStreamOptions, streamArguments } from './stream-arguments.js';

/** Redis entry ids: `<ms>-<n>`. */
const sequencePattern = /^\d{1,15}-\d{1,15}$/;
const retentionEveryMs = 1_000;
const metaCacheMs = 1_000;

interface StreamMeta extends ResolvedStreamOptions {
  createdAt: number;
}

type Entry = [id: string, fields: string[]];

/**
 * Stream on Redis Streams: one Redis stream per shard (`<prefix>:s:{<name>}:<shard>`), entries
 * `k` (partition key) and `d` (data); the entry id is the sequence number, so XADD orders
 * concurrent producers. `maxRecordsPerShard` trims on every XADD; age trims (XTRIM MINID) run on
 * puts at most once a second and on applyRetention. Checkpoints are a hash per stream.
 */
export class RedisStream implements Stream {
  readonly kind = 'redis';
  private readonly metaCache = new Map<string, { meta: StreamMeta; at: number }>();
  private readonly retainedAt = new Map<string, number>();

  /** `redis` is an ioredis client this stream owns (it quits it on close). */
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'ty',
  ) {}

  private shardKey(name: string, shard: number): string {
    return `${this.prefix}:s:{${name}}:${shard}`;
  }

  private checkpointsKey(name: string): string {
    return `${this.prefix}:s:{${name}}:checkpoints`;
  }

  private get registry(): string {
    return `${this.prefix}:streams`;
  }

  private async meta(name: string, fresh = false): Promise<StreamMeta> {
    const hit = this.metaCache.get(name);
    if (!fresh && hit && Date.now() - hit.at < metaCacheMs) return hit.meta;
    const raw = await redisCall(() => this.redis.hget(this.registry, name));
    if (raw === null) {
      this.metaCache.delete(name);
      throw streamArguments.unknown(name);
    }
    const meta = JSON.parse(raw) as StreamMeta;
    this.metaCache.set(name, { meta, at: Date.now() });
    return meta;
  }

  async createStream(name: string, options: StreamOptions = {}): Promise<StreamDescription> {
    const o = streamArguments.options(name, options);
    const raw = await redisCall(() => this.redis.hget(this.registry, name));
    const existing = raw === null ? undefined : (JSON.parse(raw) as StreamMeta);
    if (existing && existing.shardCount !== o.shardCount) {
      throw streamArguments.shardCountClash(name, existing.shardCount, o.shardCount);
    }
    const meta: StreamMeta = { ...o, createdAt: existing?.createdAt ?? Date.now() };
    await redisCall(() => this.redis.hset(this.registry, name, JSON.stringify(meta)));
    this.metaCache.set(name, { meta, at: Date.now() });
    return this.describeStream(name);
  }

  async describeStream(name: string): Promise<StreamDescription> {
    const meta = await this.meta(name, true);
    const shards: StreamDescription['shards'] = [];
    for (let shardId = 0; shardId < meta.shardCount; shardId++) {
      const key = this.shardKey(name, shardId);
      const [len, first, last] = await Promise.all([
        this.redis.xlen(key),
        this.redis.xrange(key, '-', '+', 'COUNT', 1),
        this.redis.xrevrange(key, '+', '-', 'COUNT', 1),
      ]);
      const firstId = first[0]?.[0];
      const lastId = last[0]?.[0];
      shards.push({
        shardId,
        records: len,
        ...(firstId ? { firstSequenceNumber: firstId } : {}),
        ...(lastId ? { lastSequenceNumber: lastId } : {}),
      });
    }
    return {
      name,
      shardCount: meta.shardCount,
      retentionMs: meta.retentionMs,
      maxRecordsPerShard: meta.maxRecordsPerShard,
      createdAt: new Date(meta.createdAt),
      shards,
    };
  }

  async listStreams(): Promise<string[]> {
    return (await redisCall(() => this.redis.hkeys(this.registry))).sort();
  }

  async deleteStream(name: string): Promise<void> {
    const meta = await this.meta(name, true);
    const keys = [this.checkpointsKey(name)];
    for (let shard = 0; shard < meta.shardCount; shard++) keys.push(this.shardKey(name, shard));
    await redisCall(() =>
      this.redis
        .multi()
        .del(...keys)
        .hdel(this.registry, name)
        .exec(),
    );
    this.metaCache.delete(name);
  }

  async putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult> {
    streamArguments.record(partitionKey, data);
    const meta = await this.meta(stream);
    const shardId = shardForKey(partitionKey, meta.shardCount);
    const key = this.shardKey(stream, shardId);
    const id = await redisCall(() =>
      meta.maxRecordsPerShard === undefined
        ? this.redis.xadd(key, '*', 'k', partitionKey, 'd', data)
        : this.redis.xadd(key, 'MAXLEN', meta.maxRecordsPerShard, '*', 'k', partitionKey, 'd', data),
    );
    await this.retainNowAndThen(stream);
    return { shardId, sequenceNumber: id as string };
  }

  async getRecords(
    stream: string,
    shardId: number,
    position: StreamPosition,
    options: { limit?: number } = {},
  ): Promise<GetRecordsResult> {
    const meta = await this.meta(stream);
    streamArguments.shard(stream, shardId, meta.shardCount);
    streamArguments.position(position, sequencePattern);
    const limit = streamArguments.limit(options.limit);
    await this.retainNowAndThen(stream);
    const key = this.shardKey(stream, shardId);
    if (position.type === 'LATEST') {
      const last = await redisCall(() => this.redis.xrevrange(key, '+', '-', 'COUNT', 1));
      return {
        records: [],
        nextPosition: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last[0]?.[0] ?? '0-0' },
      };
    }
    const start =
      position.type === 'TRIM_HORIZON'
        ? '-'
        : position.type === 'AT_SEQUENCE_NUMBER'
          ? position.sequenceNumber
          : position.type === 'AFTER_SEQUENCE_NUMBER'
            ? `(${position.sequenceNumber}`
            : `${position.timestamp.getTime()}-0`;
    const entries = (await redisCall(() => this.redis.xrange(key, start, '+', 'COUNT', limit))) as Entry[];
    const records: StreamRecord[] = entries.map(([id, fields]) => {
      const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
      return {
        shardId,
        sequenceNumber: id,
        partitionKey: field('k'),
        data: field('d'),
        arrivedAt: new Date(Number(id.split('-')[0])),
      };
    });
    const last = records.at(-1);
    return {
      records,
      nextPosition: last ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber } : position,
    };
  }

  async checkpoint(stream: string, consumer: string, shardId: number, sequenceNumber: string): Promise<void> {
    const meta = await this.meta(stream);
    streamArguments.shard(stream, shardId, meta.shardCount);
    streamArguments.checkpoint(consumer, sequenceNumber, sequencePattern);
    await redisCall(() =>
      this.redis.hset(this.checkpointsKey(stream), `${consumer}/${shardId}`, sequenceNumber),
    );
  }

  async getCheckpoint(stream: string, consumer: string, shardId: number): Promise<string | undefined> {
    await this.meta(stream);
    const value = await redisCall(() =>
      this.redis.hget(this.checkpointsKey(stream), `${consumer}/${shardId}`),
    );
    return value ?? undefined;
  }

  /** Applies retention at most once a second per stream, so quiet streams trim too, when read. */
  private async retainNowAndThen(stream: string): Promise<void> {
    const now = Date.now();
    if (now - (this.retainedAt.get(stream) ?? 0) <= retentionEveryMs) return;
    this.retainedAt.set(stream, now);
    await this.applyRetention(stream);
  }

  async applyRetention(stream: string): Promise<number> {
    const meta = await this.meta(stream);
    const minId = `${Date.now() - meta.retentionMs}-0`;
    let dropped = 0;
    for (let shard = 0; shard < meta.shardCount; shard++) {
      const key = this.shardKey(stream, shard);
      dropped += Number(await redisCall(() => this.redis.xtrim(key, 'MINID', minId)));
      if (meta.maxRecordsPerShard !== undefined) {
        dropped += Number(
          await redisCall(() => this.redis.xtrim(key, 'MAXLEN', meta.maxRecordsPerShard as number)),
        );
      }
    }
    return dropped;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Connects to `redis://…` and returns a Stream owning the connection. Loads ioredis only when called. */
export async function openRedisStream(url: string, options: { prefix?: string } = {}): Promise<RedisStream> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redisCall(() => client.connect());
  return new RedisStream(client, options.prefix);
}
