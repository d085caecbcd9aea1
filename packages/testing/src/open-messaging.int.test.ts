import { randomBytes } from 'node:crypto';
import { openMessaging } from '@trainyard/adapters/messaging/open-messaging';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { describe, expect, it } from 'vitest';
import { testNatsUrl, testRedisUrl } from './messaging-fixtures.js';
import { freshPostgresSchema } from './postgres-fixture.js';

describe('openMessaging on the services', () => {
  it('picks the backend of each port by URI scheme', async () => {
    const store = await openSqliteMetadataStore(':memory:');
    await store.migrate();
    const prefix = `tyopen${randomBytes(3).toString('hex')}`;
    const { url, drop } = await freshPostgresSchema();
    const cases = [
      [url, { queues: 'embedded-postgres', streams: 'embedded-postgres' }],
      [`${testRedisUrl}?prefix=${prefix}`, { queues: 'redis', streams: 'redis' }],
      [`${testNatsUrl}?prefix=${prefix}`, { queues: 'embedded-sqlite', streams: 'nats' }],
    ] as const;
    try {
      for (const [uri, kinds] of cases) {
        const m = await openMessaging(uri, store);
        try {
          expect(m.backends).toMatchObject(kinds);
          await m.queues.createQueue(`${prefix}-q`);
          await m.queues.send(`${prefix}-q`, 'hello');
          const [got] = await m.queues.receive(`${prefix}-q`);
          expect(got?.body).toBe('hello');
          await m.queues.delete(`${prefix}-q`, got!.receiptHandle);
          await m.streams.createStream(`${prefix}-s`);
          await m.streams.putRecord(`${prefix}-s`, 'k', 'v');
          const read = await m.streams.getRecords(`${prefix}-s`, 0, { type: 'TRIM_HORIZON' });
          expect(read.records.map((r) => r.data)).toEqual(['v']);
          await m.streams.deleteStream(`${prefix}-s`);
        } finally {
          await m.close();
        }
      }
    } finally {
      await drop();
      await store.close();
      const { Redis } = await import('ioredis');
      const admin = new Redis(testRedisUrl);
      const keys = await admin.keys(`${prefix}:*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });
});
