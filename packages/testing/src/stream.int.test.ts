import { randomBytes } from 'node:crypto';
import { openNatsStream } from '@trainyard/adapters/messaging/nats-stream';
import { openRedisStream } from '@trainyard/adapters/messaging/redis-stream';
import { Redis } from 'ioredis';
import { testNatsUrl, testRedisUrl } from './messaging-fixtures.js';
import { streamConformance } from './stream-conformance.js';

streamConformance('redis (Redis Streams, two connections)', async () => {
  const prefix = `tytest-${randomBytes(4).toString('hex')}`;
  const a = await openRedisStream(testRedisUrl, { prefix });
  const b = await openRedisStream(testRedisUrl, { prefix });
  return {
    streams: [a, b],
    close: async () => {
      await a.close();
      await b.close();
      const admin = new Redis(testRedisUrl);
      const keys = await admin.keys(`${prefix}:*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    },
  };
});

streamConformance('nats (JetStream, two connections)', async () => {
  const prefix = `tytest${randomBytes(4).toString('hex')}`;
  const a = await openNatsStream(testNatsUrl, { prefix });
  const b = await openNatsStream(testNatsUrl, { prefix });
  return {
    streams: [a, b],
    close: async () => {
      for (const name of await a.listStreams()) await a.deleteStream(name);
      await a.deleteCheckpointBucket();
      await a.close();
      await b.close();
    },
  };
});
