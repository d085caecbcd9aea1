import { invalidArgument } from '@trainyard/contracts/errors';
import type { JobQueue } from '@trainyard/core/ports/job-queue';
import type { Stream } from '@trainyard/core/ports/stream';
import type { Topic } from '@trainyard/core/ports/topic';
import type { SqlMetadataStore } from '../sql/sql-metadata-store.js';
import type { SecretBox } from './queue-topic.js';

/** The three messaging ports, as one configured backend serves them. */
export interface Messaging {
  queues: JobQueue;
  topics: Topic;
  streams: Stream;
  /** The adapter kind serving each port, e.g. `{queues: 'embedded-sqlite', streams: 'nats', topics: 'on embedded-sqlite'}`. */
  backends: { queues: string; topics: string; streams: string };
  close(): Promise<void>;
}

export const knownMessagingSchemes = [
  'embedded:',
  'postgres://',
  'postgresql://',
  'redis://',
  'rediss://',
  'nats://',
];

export interface MessagingOptions {
  /** CIDRs webhooks may reach although loopback, link-local or private (default none). */
  webhookAllowedNetworks?: readonly string[];
  /** Seals webhook subscription secrets at rest (the server's SecretSealer). */
  sealer?: SecretBox;
}

/** Splits `?prefix=name` (the key / subject namespace on a shared Redis or NATS) off a URL. */
function withoutPrefix(uri: string): { url: string; prefix: string } {
  const parsed = new URL(uri);
  const prefix = parsed.searchParams.get('prefix') ?? 'ty';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw invalidArgument('messaging', `prefix "${prefix}" must be 1..32 of A-Z a-z 0-9 _ -`);
  }
  parsed.searchParams.delete('prefix');
  return { url: parsed.toString(), prefix };
}

/**
 * Opens the messaging tier a URI names, loading only that backend's driver:
 *
 * | URI | JobQueue | Topic | Stream |
 * | --- | --- | --- | --- |
 * | `embedded:` | metadata database | registry + deliveries in the metadata database | metadata database |
 * | `postgres://…[?schema=s]` | that PostgreSQL (SKIP LOCKED) | that PostgreSQL | that PostgreSQL |
 * | `redis://…[?prefix=p]` | Redis (Lua) | registry in metadata, deliveries on Redis | Redis Streams |
 * | `nats://…[?prefix=p]` | metadata database (NATS serves streams only) | metadata database | JetStream |
 */
export async function openMessaging(
  uri: string,
  metadata: SqlMetadataStore,
  options: MessagingOptions = {},
): Promise<Messaging> {
  const { EmbeddedJobQueue } = await import('./embedded-job-queue.js');
  const { QueueTopic } = await import('./queue-topic.js');
  const { WebhookTargetPolicy } = await import('./webhook-target.js');
  const webhooks = new WebhookTargetPolicy(options.webhookAllowedNetworks ?? []);
  const assemble = async (
    queues: JobQueue,
    streams: Stream,
    registry: SqlMetadataStore,
    extra?: () => Promise<void>,
  ) => {
    const topics = new QueueTopic(registry.db, queues, undefined, {
      webhooks,
      ...(options.sealer ? { sealer: options.sealer } : {}),
    });
    await topics.sealStoredSecrets();
    return {
      queues,
      topics,
      streams,
      backends: { queues: queues.kind, topics: `on ${queues.kind}`, streams: streams.kind },
      close: async () => {
        await topics.close();
        await queues.close();
        await streams.close();
        await extra?.();
      },
    };
  };

  if (uri === 'embedded:' || uri === 'embedded') {
    const { EmbeddedStream } = await import('./embedded-stream.js');
    return assemble(
      new EmbeddedJobQueue(metadata.db, metadata.kind),
      new EmbeddedStream(metadata.db, metadata.kind),
      metadata,
    );
  }
  if (uri.startsWith('postgres://') || uri.startsWith('postgresql://')) {
    const { openPostgresMetadataStore } = await import('../sql/postgres-metadata-store.js');
    const { EmbeddedStream } = await import('./embedded-stream.js');
    const store = await openPostgresMetadataStore(uri);
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return assemble(
      new EmbeddedJobQueue(store.db, 'postgres'),
      new EmbeddedStream(store.db, 'postgres'),
      store,
      () => store.close(),
    );
  }
  if (uri.startsWith('redis://') || uri.startsWith('rediss://')) {
    const { url, prefix } = withoutPrefix(uri);
    const { openRedisJobQueue } = await import('./redis-job-queue.js');
    const { openRedisStream } = await import('./redis-stream.js');
    const queues = await openRedisJobQueue(url, { prefix });
    const streams = await openRedisStream(url, { prefix }).catch(async (error: unknown) => {
      await queues.close();
      throw error;
    });
    return assemble(queues, streams, metadata);
  }
  if (uri.startsWith('nats://')) {
    const { url, prefix } = withoutPrefix(uri);
    const { openNatsStream } = await import('./nats-stream.js');
    return assemble(
      new EmbeddedJobQueue(metadata.db, metadata.kind),
      await openNatsStream(url, { prefix }),
      metadata,
    );
  }
  throw invalidArgument(
    'messaging',
    `"${uri}" has an unknown scheme; known: ${knownMessagingSchemes.join(', ')}`,
  );
}
