import { freshPostgresSchema } from '@trainyard/testing/postgres-fixture';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

describe('the same platform on PostgreSQL', () => {
  let t: TestServer;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const schema = await freshPostgresSchema();
    drop = schema.drop;
    t = await openTestServer({ metadata: schema.url });
  });
  afterAll(async () => {
    await t.close();
    await drop();
  });

  it('migrates, seeds the catalog, bootstraps the admin key and enforces roles', async () => {
    expect(t.platform.metadata.kind).toBe('postgres');
    const types = await t.app.inject({ url: '/api/v1/instance-types', headers: t.auth() });
    expect(types.json().items.map((i: { name: string }) => i.name)).toContain('ml.m5.large');
    const viewer = await t.keyWithRole('viewer');
    const denied = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/instance-types/ml.m5.large',
      headers: t.auth(viewer),
    });
    expect(denied.statusCode).toBe(403);
    const dup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/instance-types',
      headers: t.auth(),
      payload: { name: 'ml.m5.large', vcpus: 2, memoryMiB: 8192, pricePerHour: 1 },
    });
    expect(dup.json().error.code).toBe('ALREADY_EXISTS');
  });
});
