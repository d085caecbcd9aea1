import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('access key expiry, rotation, last use and the audit log', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await openTestServer();
  });
  afterAll(() => t.close());

  const whoami = (secret: string) => t.app.inject({ url: '/api/v1/whoami', headers: t.auth(secret) });
  const createKey = (body: object) =>
    t.app.inject({ method: 'POST', url: '/api/v1/keys', headers: t.auth(), payload: body });

  it('refuses a key once it expires, and an expiry in the past up front', async () => {
    const past = await createKey({ name: 'old', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.statusCode).toBe(400);
    expect(past.json().error).toMatchObject({ field: 'expiresAt' });
    const bad = await createKey({ name: 'old', role: 'viewer', expiresAt: 'tomorrow' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/body.expiresAt/);

    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await createKey({ name: 'short', role: 'developer', expiresAt });
    expect(created.statusCode).toBe(201);
    expect(created.json().expiresAt).toBe(expiresAt);
    expect((await whoami(created.json().secret)).statusCode).toBe(200);
    await sleep(1600);
    const late = await whoami(created.json().secret);
    expect(late.statusCode).toBe(401);
    expect(late.json().error.message).toMatch(/expired at/);
  });

  it('rotates a secret: the new one works at once, the old one only during the grace period', async () => {
    const key = (await createKey({ name: 'ci', role: 'developer' })).json();
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/api/v1/keys/${key.id}/rotate`,
      headers: t.auth(),
      payload: { graceSeconds: 1 },
    });
    expect(rotated.statusCode).toBe(200);
    const { secret: fresh, previousSecretExpiresAt, id } = rotated.json();
    expect(id).toBe(key.id);
    expect(fresh).not.toBe(key.secret);
    expect(Date.parse(previousSecretExpiresAt)).toBeGreaterThan(Date.now());
    expect((await whoami(fresh)).json()).toMatchObject({ keyId: key.id, name: 'ci' });
    expect((await whoami(key.secret)).statusCode).toBe(200);
    await sleep(1100);
    const old = await whoami(key.secret);
    expect(old.statusCode).toBe(401);
    expect(old.json().error.message).toMatch(/replaced by a rotation/);
    expect((await whoami(fresh)).statusCode).toBe(200);

    // Grace 0 ends the old secret at once; a revoked key cannot be rotated back to life.
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/v1/keys/${key.id}/rotate`,
      headers: t.auth(),
      payload: { graceSeconds: 0 },
    });
    expect((await whoami(fresh)).statusCode).toBe(401);
    expect((await whoami(again.json().secret)).statusCode).toBe(200);
    await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${key.id}`, headers: t.auth() });
    const dead = await t.app.inject({
      method: 'POST',
      url: `/api/v1/keys/${key.id}/rotate`,
      headers: t.auth(),
      payload: {},
    });
    expect(dead.statusCode).toBe(404);
  });

  it('shows when a key was last used', async () => {
    const key = (await createKey({ name: 'used', role: 'developer' })).json();
    expect(key.lastUsedAt).toBeNull();
    await whoami(key.secret);
    const listed = (await t.app.inject({ url: '/api/v1/keys?limit=1000', headers: t.auth() })).json();
    const found = listed.items.find((k: { id: string }) => k.id === key.id);
    expect(Date.parse(found.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(listed)).not.toContain(key.secret);
  });

  it('records every mutating call, refused ones included, for admins only', async () => {
    const viewer = await t.keyWithRole('viewer');
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/topics',
      headers: { ...t.auth(viewer), 'x-forwarded-for': '203.0.113.9' },
      payload: { name: 'viewer-topic' },
    });
    expect(refused.statusCode).toBe(403);
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/v1/topics',
      headers: t.auth(),
      payload: { name: 'admin-topic' },
    });
    expect(made.statusCode).toBe(201);
    // Reads are not mutating calls and are not recorded.
    await t.app.inject({ url: '/api/v1/topics', headers: t.auth(viewer) });

    expect((await t.app.inject({ url: '/api/v1/audit-log', headers: t.auth(viewer) })).statusCode).toBe(403);
    const log = await t.app.inject({ url: '/api/v1/audit-log?limit=2', headers: t.auth() });
    expect(log.statusCode).toBe(200);
    const [newest, before] = log.json().items;
    expect(newest).toMatchObject({
      keyName: 'admin',
      role: 'admin',
      door: 'rest',
      action: 'createTopic',
      target: '/api/v1/topics',
      status: 201,
      requestId: made.headers['x-request-id'],
    });
    expect(before).toMatchObject({ role: 'viewer', action: 'createTopic', status: 403 });
    // The socket's address, not a header the caller chose.
    expect(before.sourceIp).toBe('127.0.0.1');
    expect(log.json().nextPageToken).toBeDefined();
    const next = await t.app.inject({
      url: `/api/v1/audit-log?limit=1000&pageToken=${log.json().nextPageToken}`,
      headers: t.auth(),
    });
    expect(next.json().items.every((e: { id: string }) => e.id < before.id)).toBe(true);
    const byKey = await t.app.inject({ url: `/api/v1/audit-log?keyId=${before.keyId}`, headers: t.auth() });
    expect(byKey.json().items).toHaveLength(1);
  });
});
