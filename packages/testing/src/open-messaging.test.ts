import { openMessaging } from '@trainyard/adapters/messaging/open-messaging';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('openMessaging', () => {
  let store: Awaited<ReturnType<typeof openSqliteMetadataStore>>;
  beforeEach(async () => {
    store = await openSqliteMetadataStore(':memory:');
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('refuses an unknown scheme, naming the field and every known scheme', async () => {
    const error = await openMessaging('kafka://127.0.0.1:9092', store).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'messaging' } });
    for (const scheme of ['embedded:', 'postgres://', 'redis://', 'nats://']) {
      expect((error as Error).message).toContain(scheme);
    }
  });

  it('serves all three ports from the metadata database with embedded:', async () => {
    const m = await openMessaging('embedded:', store);
    expect(m.backends).toEqual({
      queues: 'embedded-sqlite',
      topics: 'on embedded-sqlite',
      streams: 'embedded-sqlite',
    });
    await m.queues.createQueue('q');
    await m.queues.send('q', 'x');
    expect((await m.queues.receive('q'))[0]?.body).toBe('x');
    await m.streams.createStream('s');
    expect((await m.streams.putRecord('s', 'k', 'v')).sequenceNumber).toBe('1');
    await m.topics.createTopic('t');
    expect((await m.topics.listTopics()).map((t) => t.name)).toEqual(['t']);
    await m.close();
  });
});
