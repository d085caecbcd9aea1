import { createHash } from 'node:crypto';

/**
 * The shard a partition key belongs to: Kinesis hashes the key with MD5 into a 128-bit space
 * split into equal ranges, one per shard; the top 48 bits are enough to pick the range.
 */
export function shardForKey(partitionKey: string, shardCount: number): number {
  const digest = createHash('md5').update(partitionKey, 'utf8').digest();
  const top = digest.readUIntBE(0, 6);
  return Math.min(shardCount - 1, Math.floor((top * shardCount) / 2 ** 48));
}
