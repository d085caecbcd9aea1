import { randomBytes } from 'node:crypto';
import { openRedisJobQueue } from '@trainyard/adapters/messaging/redis-job-queue';
import { Redis } from 'ioredis';
import { jobQueueConformance } from './job-queue-conformance.js';
import { testRedisUrl } from './messaging-fixtures.js';

jobQueueConformance('redis (Lua scripts, two connections)', async () => {
  const prefix = `tytest-${randomBytes(4).toString('hex')}`;
  const queues = [
    await openRedisJobQueue(testRedisUrl, { prefix }),
    await openRedisJobQueue(testRedisUrl, { prefix }),
  ] as const;
  return {
    queues: [queues[0], queues[1]],
    close: async () => {
      for (const q of queues) await q.close();
      const admin = new Redis(testRedisUrl);
      const keys = await admin.keys(`${prefix}:*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    },
  };
});
