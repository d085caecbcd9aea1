import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { QueueTopic } from '@trainyard/adapters/messaging/queue-topic';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { loopbackWebhooks, topicConformance } from './topic-conformance.js';

topicConformance('on the embedded queue (SQLite)', async () => {
  const store = await openSqliteMetadataStore(':memory:');
  await store.migrate();
  const queue = new EmbeddedJobQueue(store.db, 'sqlite');
  const topic = new QueueTopic(store.db, queue, undefined, { webhooks: loopbackWebhooks });
  return {
    topic,
    queue,
    close: async () => {
      await topic.close();
      await queue.close();
      await store.close();
    },
  };
});
