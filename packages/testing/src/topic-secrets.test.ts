import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { QueueTopic, signatureHeader } from '@trainyard/adapters/messaging/queue-topic';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { SecretSealer } from '@trainyard/core/access/key-material';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackWebhooks } from './topic-conformance.js';

describe('webhook subscription secrets at rest', () => {
  let hook: Server;
  let url: string;
  const signatures: { body: string; signature: string }[] = [];
  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        signatures.push({ body, signature: String(req.headers[signatureHeader]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    hook.closeAllConnections();
    await new Promise((r) => hook.close(r));
  });

  it('seals secrets stored before sealing existed, and still signs with the secret the subscriber knows', async () => {
    const store = await openSqliteMetadataStore(':memory:');
    await store.migrate();
    const queue = new EmbeddedJobQueue(store.db, 'sqlite');
    // A server of the previous version stored the secret as given.
    const before = new QueueTopic(store.db, queue, undefined, { webhooks: loopbackWebhooks });
    await before.createTopic('alerts');
    const secret = 'a-secret-the-subscriber-keeps';
    await before.subscribe('alerts', { kind: 'http', url }, { secret });
    const stored = async () =>
      (await sql<{ secret: string }>`select secret from tp_subscriptions`.execute(store.db)).rows[0]?.secret;
    expect(await stored()).toBe(secret);

    const sealer = new SecretSealer(SecretSealer.newMasterKey());
    const after = new QueueTopic(store.db, queue, undefined, { webhooks: loopbackWebhooks, sealer });
    expect(await after.sealStoredSecrets()).toBe(1);
    expect(await after.sealStoredSecrets()).toBe(0);
    expect(await stored()).not.toContain(secret);
    expect(sealer.open((await stored()) ?? '')).toBe(secret);

    const loop = after.startDeliveryLoop({ pollMs: 50 });
    try {
      await after.publish('alerts', 'drift');
      for (let i = 0; i < 100 && signatures.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await loop.stop();
    }
    const [delivered] = signatures;
    expect(delivered?.signature).toBe(
      `sha256=${createHmac('sha256', secret)
        .update(delivered?.body ?? '')
        .digest('hex')}`,
    );
    await queue.close();
    await store.close();
  });
});
