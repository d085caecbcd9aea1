import { randomBytes } from 'node:crypto';
import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { QueueTopic } from '@trainyard/adapters/messaging/queue-topic';
import { openRedisJobQueue } from '@trainyard/adapters/messaging/redis-job-queue';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { Redis } from 'ioredis';
import { testRedisUrl, twoMetadataConnections } from './messaging-fixtures.js';
import { loopbackWebhooks, topicConformance } from './topic-conformance.js';

topicConformance('on the embedded queue (PostgreSQL)', async () => {
  const { stores, close } = await twoMetadataConnections('postgres');
  const queue = new EmbeddedJobQueue(stores[0].db, 'postgres');
  const topic = new QueueTopic(stores[0].db, queue, undefined, { webhooks: loopbackWebhooks });
  return {
    topic,
    queue,
    close: async () => {
      await topic.close();
      await queue.close();
      await close();
    },
  };
});

topicConformance('on the Redis queue (registry in SQLite)', async () => {
  const store = await openSqliteMetadataStore(':memory:');
  await store.migrate();
  const prefix = `tytest-${randomBytes(4).toString('hex')}`;
  const queue = await openRedisJobQueue(testRedisUrl, { prefix });
  const topic = new QueueTopic(store.db, queue, undefined, { webhooks: loopbackWebhooks });
  return {
    topic,
    queue,
    close: async () => {
      await topic.close();
      await queue.close();
      await store.close();
      const admin = new Redis(testRedisUrl);
      const keys = await admin.keys(`${prefix}:*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    },
  };
});
