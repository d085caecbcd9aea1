import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

describe('REST API in-process, on a temp SQLite file', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await openTestServer();
  });
  afterAll(() => t.close());

  it('serves health, readiness, metrics and the OpenAPI document without a key', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('trainyard_http_request_duration_seconds');
    const openApi = (await t.app.inject({ url: '/api/v1/openapi.json' })).json();
    expect(
      openApi.paths['/api/v1/keys'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['name', 'role']);
    expect((await t.app.inject({ url: '/' })).body).toContain('Trainyard is running');
  });

  it('answers 401 without a key, and with an unknown or malformed one', async () => {
    const missing = await t.app.inject({ url: '/api/v1/instance-types' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
    expect(missing.json().error.requestId).toBe(missing.headers['x-request-id']);
    const unknown = await t.app.inject({ url: '/api/v1/instance-types', headers: t.auth('not-a-real-key') });
    expect(unknown.statusCode).toBe(401);
    const malformed = await t.app.inject({
      url: '/api/v1/instance-types',
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.statusCode).toBe(401);
  });

  it('enforces roles per route with 403', async () => {
    const viewer = await t.keyWithRole('viewer');
    const invoker = await t.keyWithRole('invoker');
    const developer = await t.keyWithRole('developer');
    expect((await t.app.inject({ url: '/api/v1/instance-types', headers: t.auth(viewer) })).statusCode).toBe(
      200,
    );
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth(developer),
      payload: { name: 'x', role: 'viewer' },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('PERMISSION_DENIED');
    expect(denied.json().error.message).toContain('developer');
    expect((await t.app.inject({ url: '/api/v1/instance-types', headers: t.auth(invoker) })).statusCode).toBe(
      403,
    );
    expect((await t.app.inject({ url: '/api/v1/whoami', headers: t.auth(invoker) })).json().role).toBe(
      'invoker',
    );
  });

  it('answers 400 naming the field for a bad body, query or JSON', async () => {
    const badRole = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth(),
      payload: { name: 'ci', role: 'boss' },
    });
    expect(badRole.statusCode).toBe(400);
    expect(badRole.json().error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'body.role' });
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/v1/instance-types',
      headers: t.auth(),
      payload: { name: 'ml.x1.large', vcpus: 2, memoryMiB: 1024, pricePerHour: 1, colour: 'red' },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.message).toContain('colour');
    const badLimit = await t.app.inject({ url: '/api/v1/instance-types?limit=0', headers: t.auth() });
    expect(badLimit.json().error.field).toBe('query.limit');
    const badJson = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: { ...t.auth(), 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.field).toBe('body');
  });

  it('creates a key whose secret works once and stops working when revoked; secrets are never listed', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth(),
      payload: { name: 'ci-bot', role: 'developer' },
    });
    expect(created.statusCode).toBe(201);
    const { id, secret } = created.json();
    expect((await t.app.inject({ url: '/api/v1/whoami', headers: t.auth(secret) })).json()).toMatchObject({
      keyId: id,
      role: 'developer',
    });
    const listed = await t.app.inject({ url: '/api/v1/keys', headers: t.auth() });
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain('secretHash');
    const dup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth(),
      payload: { name: 'ci-bot', role: 'viewer' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('ALREADY_EXISTS');
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${id}`, headers: t.auth() })).statusCode,
    ).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/whoami', headers: t.auth(secret) })).statusCode).toBe(401);
  });

  it('refuses a stale expectedVersion with 409 CONFLICT and answers 404 for unknown names', async () => {
    const before = (
      await t.app.inject({ url: '/api/v1/instance-types/ml.m5.large', headers: t.auth() })
    ).json();
    const ok = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/instance-types/ml.m5.large',
      headers: t.auth(),
      payload: { pricePerHour: 0.2, expectedVersion: before.version },
    });
    expect(ok.json().version).toBe(before.version + 1);
    const stale = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/instance-types/ml.m5.large',
      headers: t.auth(),
      payload: { pricePerHour: 0.3, expectedVersion: before.version },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: 'CONFLICT', retryable: true });
    const missing = await t.app.inject({ url: '/api/v1/instance-types/ml.none.large', headers: t.auth() });
    expect(missing.statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/nothing-here', headers: t.auth() })).statusCode).toBe(404);
  });
});
