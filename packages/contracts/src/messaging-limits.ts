/**
 * Limits of queues, topics and streams, written once: the REST contract's zod schemas, core's
 * name checks and the adapters' argument checks all read these, so the doors and the backends
 * cannot drift apart.
 */

/** Queue and stream names become Redis keys, NATS subjects and stream names: no dots or spaces there. */
export const messagingNameRules = {
  queue: { re: /^[A-Za-z0-9_.-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ . -' },
  stream: { re: /^[A-Za-z0-9_-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ -' },
  topic: { re: /^[A-Za-z0-9_.-]{1,256}$/, rule: '1..256 of A-Z a-z 0-9 _ . -' },
  consumer: { re: /^[A-Za-z0-9_-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ -' },
} as const;

export type MessagingNameKind = keyof typeof messagingNameRules;

/** Shards of one stream: 1..maxShardCount. */
export const maxShardCount = 64;

/** Largest stream record `data`, bytes. */
export const maxRecordBytes = 1024 * 1024;

/** How long a stream keeps records, ms: 100 ms to 365 days. */
export const minRetentionMs = 100;
export const maxRetentionMs = 365 * 24 * 3_600_000;
