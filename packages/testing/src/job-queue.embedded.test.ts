import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { jobQueueConformance } from './job-queue-conformance.js';
import { twoMetadataConnections } from './messaging-fixtures.js';

jobQueueConformance('embedded (SQLite file, two connections)', async () => {
  const { stores, close } = await twoMetadataConnections('sqlite');
  const queues = stores.map((s) => new EmbeddedJobQueue(s.db, 'sqlite')) as [
    EmbeddedJobQueue,
    EmbeddedJobQueue,
  ];
  return {
    queues,
    close: async () => {
      for (const q of queues) await q.close();
      await close();
    },
  };
});
