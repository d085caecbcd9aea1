import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import {
  maxRecordBytes,
  maxRetentionMs,
  maxShardCount,
  minRetentionMs,
} from '@trainyard/contracts/messaging-limits';
import { checkMessagingName } from '@trainyard/core/messaging/messaging-names';
import type { StreamOptions, StreamPosition } from '@trainyard/core/ports/stream';

export interface ResolvedStreamOptions {
  shardCount: number;
  retentionMs: number;
  maxRecordsPerShard: number | undefined;
}

/** Argument checks every Stream adapter shares, so they refuse the same inputs the same way. */
export const streamArguments = {
  options(name: string, options: StreamOptions = {}): ResolvedStreamOptions {
    checkMessagingName('stream', name);
    const shardCount = options.shardCount ?? 1;
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > maxShardCount) {
      throw invalidArgument('shardCount', `must be an integer in 1..${maxShardCount}, got ${shardCount}`);
    }
    const retentionMs = options.retentionMs ?? 24 * 3600_000;
    if (!Number.isInteger(retentionMs) || retentionMs < minRetentionMs || retentionMs > maxRetentionMs) {
      throw invalidArgument(
        'retentionMs',
        `must be an integer in ${minRetentionMs}..${maxRetentionMs}, got ${retentionMs}`,
      );
    }
    const max = options.maxRecordsPerShard;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 1e12)) {
      throw invalidArgument('maxRecordsPerShard', `must be a positive integer, got ${max}`);
    }
    return { shardCount, retentionMs, maxRecordsPerShard: max };
  },

  record(partitionKey: string, data: string): void {
    if (typeof partitionKey !== 'string' || partitionKey.length < 1 || partitionKey.length > 256) {
      throw invalidArgument('partitionKey', 'must be 1..256 characters');
    }
    if (typeof data !== 'string') throw invalidArgument('data', 'must be a string');
    if (Buffer.byteLength(data) > maxRecordBytes) throw invalidArgument('data', 'is larger than 1 MiB');
  },

  shard(name: string, shardId: number, shardCount: number): void {
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= shardCount) {
      throw invalidArgument('shardId', `stream "${name}" has shards 0..${shardCount - 1}, got ${shardId}`);
    }
  },

  limit(limit: number | undefined): number {
    const value = limit ?? 1000;
    if (!Number.isInteger(value) || value < 1 || value > 10_000) {
      throw invalidArgument('limit', `must be an integer in 1..10000, got ${value}`);
    }
    return value;
  },

  /** Checks a position's sequence number against the adapter's format. */
  position(position: StreamPosition, sequencePattern: RegExp): StreamPosition {
    switch (position?.type) {
      case 'TRIM_HORIZON':
      case 'LATEST':
        return position;
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER':
        if (typeof position.sequenceNumber !== 'string' || !sequencePattern.test(position.sequenceNumber)) {
          throw invalidArgument(
            'sequenceNumber',
            `"${position.sequenceNumber}" is not a sequence number of this stream`,
          );
        }
        return position;
      case 'AT_TIMESTAMP':
        if (!(position.timestamp instanceof Date) || Number.isNaN(position.timestamp.getTime())) {
          throw invalidArgument('timestamp', 'must be a valid time');
        }
        return position;
      default:
        throw invalidArgument(
          'position',
          'must be TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP',
        );
    }
  },

  checkpoint(consumer: string, sequenceNumber: string, sequencePattern: RegExp): void {
    checkMessagingName('consumer', consumer);
    if (typeof sequenceNumber !== 'string' || !sequencePattern.test(sequenceNumber)) {
      throw invalidArgument('sequenceNumber', `"${sequenceNumber}" is not a sequence number of this stream`);
    }
  },

  unknown(name: string): TrainyardError {
    return new TrainyardError('NOT_FOUND', `stream "${name}" does not exist`, { field: 'stream' });
  },

  shardCountClash(name: string, existing: number, wanted: number): TrainyardError {
    return new TrainyardError(
      'ALREADY_EXISTS',
      `stream "${name}" already exists with ${existing} shards (asked for ${wanted})`,
      { field: 'shardCount' },
    );
  },
};
