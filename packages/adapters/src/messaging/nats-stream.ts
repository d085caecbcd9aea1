import { TrainyardError } from '@trainyard/contracts/errors';
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
import {
  AckPolicy,
  type ConsumerConfig,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
  type StoredMsg,
  type StreamConfig,
} from 'nats';
import { type ResolvedStreamOptions, streamArguments } from './stream-arguments.js';

const sequencePattern = /^\d{1,18}$/;
const keyHeader = 'Ty-Partition-Key';
const metaCacheMs = 1_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface DirectGet {
  getMessage(stream: string, query: { seq: number; next_by_subj: string }): Promise<StoredMsg>;
}

interface StreamMeta extends ResolvedStreamOptions {
  createdAt: number;
}

function isNotFound(error: unknown): boolean {
  const e = error as { api_error?: { code?: number; err_code?: number }; code?: string; message?: string };
  return e?.api_error?.code === 404 || e?.code === '404' || /not found/i.test(e?.message ?? '');
}

async function natsCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TrainyardError) throw error;
    const e = error as { code?: string; message?: string };
    if (['CONNECTION_CLOSED', 'CONNECTION_REFUSED', 'TIMEOUT', '503'].includes(e.code ?? '')) {
      throw new TrainyardError(
        'UNAVAILABLE',
        `NATS JetStream is unavailable: ${e.message}`,
        {},
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Stream on NATS JetStream: one JetStream stream per Trainyard stream (`<prefix>_<name>`), one
 * subject per shard (`<prefix>.stream.<name>.<shard>`); the JetStream sequence is the sequence
 * number (it increases across the whole stream, so also within a shard). The server enforces
 * retention (`max_age`, `max_msgs_per_subject`). Reads use a short-lived ordered consumer filtered
 * to the shard; checkpoints live in the KV bucket `<prefix>_checkpoints`. Durability is the
 * server's file storage: a put is acknowledged once JetStream has stored it.
 */
export class NatsStream implements Stream {
  readonly kind = 'nats';
  private readonly js: JetStreamClient;
  private readonly metaCache = new Map<string, { meta: StreamMeta; at: number }>();
  private checkpointsKv: Promise<KV> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly prefix = 'ty',
  ) {
    this.js = nc.jetstream();
  }

  private streamName(name: string): string {
    return `${this.prefix}_${name}`;
  }

  private subject(name: string, shard: number): string {
    return `${this.prefix}.stream.${name}.${shard}`;
  }

  private kv(): Promise<KV> {
    this.checkpointsKv ??= this.js.views.kv(`${this.prefix}_checkpoints`, { history: 1 });
    return this.checkpointsKv;
  }

  private config(name: string, meta: StreamMeta): Partial<StreamConfig> {
    return {
      name: this.streamName(name),
      subjects: [`${this.prefix}.stream.${name}.*`],
      description: JSON.stringify(meta),
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(meta.retentionMs),
      max_msgs_per_subject: meta.maxRecordsPerShard ?? -1,
      // The dedupe window may not exceed max_age; puts do not use dedupe ids anyway.
      duplicate_window: nanos(Math.min(meta.retentionMs, 120_000)),
      num_replicas: 1,
      allow_direct: true,
    };
  }

  private async meta(name: string, fresh = false): Promise<StreamMeta> {
    const hit = this.metaCache.get(name);
    if (!fresh && hit && Date.now() - hit.at < metaCacheMs) return hit.meta;
    try {
      const info = await natsCall(() => this.jsm.streams.info(this.streamName(name)));
      const meta = JSON.parse(info.config.description ?? '{}') as StreamMeta;
      this.metaCache.set(name, { meta, at: Date.now() });
      return meta;
    } catch (error) {
      if (isNotFound(error)) {
        this.metaCache.delete(name);
        throw streamArguments.unknown(name);
      }
      throw error;
    }
  }

  async createStream(name: string, options: StreamOptions = {}): Promise<StreamDescription> {
    const o = streamArguments.options(name, options);
    let existing: StreamMeta | undefined;
    try {
      existing = await this.meta(name, true);
    } catch (error) {
      if (!TrainyardError.is(error, 'NOT_FOUND')) throw error;
    }
    if (existing && existing.shardCount !== o.shardCount) {
      throw streamArguments.shardCountClash(name, existing.shardCount, o.shardCount);
    }
    const meta: StreamMeta = { ...o, createdAt: existing?.createdAt ?? Date.now() };
    const config = this.config(name, meta);
    await natsCall(() =>
      existing ? this.jsm.streams.update(this.streamName(name), config) : this.jsm.streams.add(config),
    );
    this.metaCache.set(name, { meta, at: Date.now() });
    return this.describeStream(name);
  }

  async describeStream(name: string): Promise<StreamDescription> {
    const meta = await this.meta(name, true);
    const info = await natsCall(() =>
      this.jsm.streams.info(this.streamName(name), { subjects_filter: `${this.prefix}.stream.${name}.*` }),
    );
    const counts = (info.state.subjects ?? {}) as Record<string, number>;
    const shards: StreamDescription['shards'] = [];
    for (let shardId = 0; shardId < meta.shardCount; shardId++) {
      const subject = this.subject(name, shardId);
      const records = counts[subject] ?? 0;
      if (records === 0) {
        shards.push({ shardId, records });
        continue;
      }
      const [first, last] = await Promise.all([
        // jsm.direct exists at runtime (nats.js 2.29) but is missing from JetStreamManager's type.
        (this.jsm as unknown as { direct: DirectGet }).direct.getMessage(this.streamName(name), {
          seq: 0,
          next_by_subj: subject,
        }),
        this.jsm.streams.getMessage(this.streamName(name), { last_by_subj: subject }),
      ]);
      shards.push({
        shardId,
        records,
        firstSequenceNumber: String(first.seq),
        lastSequenceNumber: String(last.seq),
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
    const names: string[] = [];
    const lead = `${this.prefix}_`;
    for await (const name of this.jsm.streams.names(`${this.prefix}.stream.>`)) {
      if (name.startsWith(lead)) names.push(name.slice(lead.length));
    }
    return names.sort();
  }

  async deleteStream(name: string): Promise<void> {
    await this.meta(name, true);
    await natsCall(() => this.jsm.streams.delete(this.streamName(name)));
    this.metaCache.delete(name);
    const kv = await this.kv();
    const keys: string[] = [];
    for await (const key of await kv.keys(`${name}.>`)) keys.push(key);
    for (const key of keys) await kv.purge(key);
  }

  async putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult> {
    streamArguments.record(partitionKey, data);
    const meta = await this.meta(stream);
    const shardId = shardForKey(partitionKey, meta.shardCount);
    const h = headers();
    h.set(keyHeader, partitionKey);
    const ack = await natsCall(() =>
      this.js.publish(this.subject(stream, shardId), encoder.encode(data), { headers: h }),
    );
    return { shardId, sequenceNumber: String(ack.seq) };
  }

  /** The newest record of a shard (sequence and time), if any. */
  private async last(stream: string, subject: string): Promise<{ seq: number; time: number } | undefined> {
    try {
      const m = await this.jsm.streams.getMessage(this.streamName(stream), { last_by_subj: subject });
      return { seq: m.seq, time: m.time.getTime() };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
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
    const subject = this.subject(stream, shardId);
    const last = await natsCall(() => this.last(stream, subject));
    if (position.type === 'LATEST') {
      return {
        records: [],
        nextPosition: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: String(last?.seq ?? 0) },
      };
    }
    const empty = { records: [], nextPosition: position };
    // A fetch waits for messages that do not exist yet, so first make sure there is one to read.
    if (!last) return empty;
    const base = {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      // Left behind by a crashed reader, the server removes it after this long.
      inactive_threshold: nanos(30_000),
    };
    let config: Partial<ConsumerConfig>;
    if (position.type === 'TRIM_HORIZON') {
      config = { ...base, deliver_policy: DeliverPolicy.All };
    } else if (position.type === 'AT_TIMESTAMP') {
      if (last.time < position.timestamp.getTime()) return empty;
      config = {
        ...base,
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: position.timestamp.toISOString(),
      };
    } else {
      const start = Number(position.sequenceNumber) + (position.type === 'AFTER_SEQUENCE_NUMBER' ? 1 : 0);
      if (start > last.seq) return empty;
      config = { ...base, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, start) };
    }
    const records: StreamRecord[] = [];
    const streamName = this.streamName(stream);
    // An explicit ephemeral pull consumer: nats.js's ordered consumer needs nats-server 2.10.
    const info = await natsCall(() => this.jsm.consumers.add(streamName, config));
    try {
      const consumer = await natsCall(() => this.js.consumers.get(streamName, info.name));
      const messages = await consumer.fetch({ max_messages: limit, expires: 2_000 });
      for await (const m of messages) {
        records.push({
          shardId,
          sequenceNumber: String(m.seq),
          partitionKey: m.headers?.get(keyHeader) ?? '',
          data: decoder.decode(m.data),
          arrivedAt: new Date(Math.floor(m.info.timestampNanos / 1e6)),
        });
        // pending 0: nothing more matches now; stopping here saves waiting for the fetch to expire.
        if (records.length >= limit || m.info.pending === 0 || m.seq >= last.seq) break;
      }
      messages.stop();
    } finally {
      await this.jsm.consumers.delete(streamName, info.name).catch(() => false);
    }
    const tail = records.at(-1);
    return {
      records,
      nextPosition: tail ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: tail.sequenceNumber } : position,
    };
  }

  async checkpoint(stream: string, consumer: string, shardId: number, sequenceNumber: string): Promise<void> {
    const meta = await this.meta(stream);
    streamArguments.shard(stream, shardId, meta.shardCount);
    streamArguments.checkpoint(consumer, sequenceNumber, sequencePattern);
    const kv = await natsCall(() => this.kv());
    await natsCall(() => kv.put(`${stream}.${consumer}.${shardId}`, encoder.encode(sequenceNumber)));
  }

  async getCheckpoint(stream: string, consumer: string, shardId: number): Promise<string | undefined> {
    await this.meta(stream);
    const kv = await natsCall(() => this.kv());
    const entry = await natsCall(() => kv.get(`${stream}.${consumer}.${shardId}`));
    if (entry?.operation !== 'PUT') return undefined;
    return decoder.decode(entry.value);
  }

  async applyRetention(stream: string): Promise<number> {
    // JetStream enforces max_age and max_msgs_per_subject itself; nothing to do but check it exists.
    await this.meta(stream);
    return 0;
  }

  /** Removes the checkpoint bucket of this prefix (tests and uninstall). */
  async deleteCheckpointBucket(): Promise<void> {
    await this.jsm.streams.delete(`KV_${this.prefix}_checkpoints`).catch(() => false);
    this.checkpointsKv = undefined;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** Connects to `nats://host:port` and returns a Stream owning the connection. */
export async function openNatsStream(url: string, options: { prefix?: string } = {}): Promise<NatsStream> {
  const parsed = new URL(url);
  const nc = await natsCall(() =>
    connect({
      servers: `${parsed.hostname}:${parsed.port || '4222'}`,
      ...(parsed.username
        ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }
        : {}),
      name: 'trainyard',
    }),
  );
  const jsm = await nc.jetstreamManager();
  return new NatsStream(nc, jsm, options.prefix);
}
