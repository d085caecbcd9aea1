/**
 * Stream: Kinesis semantics. A stream has N shards; a record's partition key hashes (MD5, as
 * Kinesis does) to one shard, and within a shard records keep the order they were stored in and
 * carry increasing sequence numbers. Readers read a shard from a position and named consumers
 * save checkpoints. Retention drops records older than `retentionMs` and keeps at most
 * `maxRecordsPerShard` per shard. Adapters: embedded (SQL), Redis Streams, NATS JetStream.
 * Stream names: 1..80 of `A-Za-z0-9_-`. Times are milliseconds.
 *
 * Sequence numbers are opaque strings that only compare within one shard of one stream; pass
 * them back as positions, do not parse them.
 *
 * @example
 * await streams.createStream('capture', { shardCount: 2, retentionMs: 24 * 3600_000 });
 * const { shardId, sequenceNumber } = await streams.putRecord('capture', 'endpoint-a', '{"x":1}');
 * const checkpoint = await streams.getCheckpoint('capture', 'monitor', shardId);
 * const from = checkpoint ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint } : { type: 'TRIM_HORIZON' };
 * const { records, nextPosition } = await streams.getRecords('capture', shardId, from, { limit: 500 });
 */

export interface StreamOptions {
  /** 1..64. Default 1. */
  shardCount?: number;
  /** Records older than this are dropped, ms. Default 24 h. */
  retentionMs?: number;
  /** At most this many records per shard are kept (oldest dropped first). Default unlimited. */
  maxRecordsPerShard?: number;
}

export interface StreamDescription {
  name: string;
  shardCount: number;
  retentionMs: number;
  maxRecordsPerShard: number | undefined;
  shards: { shardId: number; records: number; firstSequenceNumber?: string; lastSequenceNumber?: string }[];
  createdAt: Date;
}

export type StreamPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  /** The first record stored at or after this time. */
  | { type: 'AT_TIMESTAMP'; timestamp: Date };

export interface StreamRecord {
  shardId: number;
  sequenceNumber: string;
  partitionKey: string;
  /** The payload (text; binary callers base64-encode). */
  data: string;
  /** When the stream stored it. */
  arrivedAt: Date;
}

export interface GetRecordsResult {
  records: StreamRecord[];
  /** Where the next read continues: after the last record returned, or (LATEST) after the current tip. */
  nextPosition: StreamPosition;
}

export interface PutResult {
  shardId: number;
  sequenceNumber: string;
}

export interface Stream {
  /** `embedded-sqlite`, `embedded-postgres`, `redis` or `nats`. */
  readonly kind: string;
  /**
   * Creates the stream. Idempotent for the same shard count; retention options are updated.
   * @throws ALREADY_EXISTS when it exists with another shard count; INVALID_ARGUMENT for bad options
   */
  createStream(name: string, options?: StreamOptions): Promise<StreamDescription>;
  /** @throws NOT_FOUND */
  describeStream(name: string): Promise<StreamDescription>;
  /** Stream names, sorted. */
  listStreams(): Promise<string[]>;
  /** Deletes the stream, its records and its checkpoints. @throws NOT_FOUND */
  deleteStream(name: string): Promise<void>;
  /** Stores one record in the shard its partition key hashes to. @throws NOT_FOUND */
  putRecord(stream: string, partitionKey: string, data: string): Promise<PutResult>;
  /**
   * Reads up to `limit` (1..10 000, default 1 000) records of one shard from `position`, oldest first.
   * @throws NOT_FOUND for an unknown stream; INVALID_ARGUMENT for a shard outside 0..shardCount-1
   */
  getRecords(
    stream: string,
    shardId: number,
    position: StreamPosition,
    options?: { limit?: number },
  ): Promise<GetRecordsResult>;
  /** Saves a consumer's position in a shard: the last sequence number it has processed. */
  checkpoint(stream: string, consumer: string, shardId: number, sequenceNumber: string): Promise<void>;
  /** The last checkpoint of a consumer in a shard, if any. */
  getCheckpoint(stream: string, consumer: string, shardId: number): Promise<string | undefined>;
  /**
   * Drops records past the retention limits now; adapters also do it on their own (on put or in
   * the server). Returns how many records were dropped when the backend can tell, else 0.
   */
  applyRetention(stream: string): Promise<number>;
  close(): Promise<void>;
}
