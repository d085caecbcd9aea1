import { createHash } from 'node:crypto';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console sessions: cookie, CSRF, roles, revocation, rate limit', () => {
  let t: TestServer & { baseUrl: string };
  let ipCount = 0;
  /** Each sign-in comes from its own address unless a test says so: the limit is per address. */
  const freshIp = () => `10.0.0.${++ipCount}`;

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
  });
  afterAll(() => t.close());

  const signIn = (secret: string, remoteAddress = freshIp(), cookie?: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { secret },
      remoteAddress,
      ...(cookie ? { headers: { cookie } } : {}),
    });

  /** Signs in and returns the cookie header to send and the CSRF token. */
  async function session(secret: string) {
    const res = await signIn(secret);
    expect(res.statusCode).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    const id = /^trainyard_session=([^;]+);/.exec(setCookie)?.[1] as string;
    return { id, cookie: `trainyard_session=${id}`, csrf: res.json().csrfToken as string, body: res.json() };
  }

  it('signs in with a key secret: an HttpOnly, SameSite=Strict cookie and a CSRF token, no secret back', async () => {
    const developer = await t.keyWithRole('developer');
    const res = await signIn(developer);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ role: 'developer', name: expect.stringMatching(/^developer-/) });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(body)).not.toContain(developer);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^trainyard_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    // Plain http: no Secure flag, or a laptop install's browser would drop the cookie.
    expect(setCookie).not.toContain('Secure');
    expect(res.headers['cache-control']).toBe('no-store');
    const id = /trainyard_session=([^;]+)/.exec(setCookie)?.[1] as string;
    expect(id).not.toContain(developer);

    // The database holds the hash of the session id and the key id, nothing else.
    const rows = await t.platform.metadata.db.selectFrom('console_sessions').selectAll().execute();
    const row = rows.find((r) => r.id_hash === createHash('sha256').update(id).digest('hex'));
    expect(row?.key_id).toBe(body.keyId);
    expect(JSON.stringify(rows)).not.toContain(id);
    expect(JSON.stringify(rows)).not.toContain(body.csrfToken);

    const current = await t.app.inject({
      url: '/api/v1/session',
      headers: { cookie: `trainyard_session=${id}` },
    });
    expect(current.statusCode).toBe(200);
    expect(current.json()).toEqual(body);
  });

  it('refuses a wrong secret with 401 and no cookie, and a body without one with 400', async () => {
    const wrong = await signIn('not-a-key-at-all');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('UNAUTHENTICATED');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/session', payload: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.message).toMatch(/secret/);
    const revoked = await t.keyWithRole('viewer');
    const id = (await t.app.inject({ url: '/api/v1/whoami', headers: t.auth(revoked) })).json().keyId;
    await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${id}`, headers: t.auth() });
    expect((await signIn(revoked)).statusCode).toBe(401);
  });

  it('GET /session is 401 without a cookie, with a made-up one and for a bearer-only call', async () => {
    expect((await t.app.inject({ url: '/api/v1/session' })).statusCode).toBe(401);
    const madeUp = await t.app.inject({
      url: '/api/v1/session',
      headers: { cookie: `trainyard_session=${'A'.repeat(43)}` },
    });
    expect(madeUp.statusCode).toBe(401);
    const garbage = await t.app.inject({
      url: '/api/v1/session',
      headers: { cookie: 'trainyard_session=../x' },
    });
    expect(garbage.statusCode).toBe(401);
    const bearer = await t.app.inject({ url: '/api/v1/session', headers: t.auth() });
    expect(bearer.statusCode).toBe(401);
    expect(bearer.json().error.message).toMatch(/bearer/);
  });

  it('needs the CSRF token on mutating calls with the cookie: missing and wrong are 403, right passes', async () => {
    const admin = await session(t.adminKey);
    const create = (headers: Record<string, string>, name: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/keys', headers, payload: { name, role: 'viewer' } });
    const missing = await create({ cookie: admin.cookie }, 'csrf-a');
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'missing or wrong CSRF token',
    });
    const wrong = await create(
      { cookie: admin.cookie, 'x-trainyard-csrf': `${admin.csrf.slice(0, -1)}x` },
      'csrf-b',
    );
    expect(wrong.statusCode).toBe(403);
    // Another session's token does not fit this session.
    const other = await session(t.adminKey);
    expect(
      (await create({ cookie: admin.cookie, 'x-trainyard-csrf': other.csrf }, 'csrf-c')).statusCode,
    ).toBe(403);
    const right = await create({ cookie: admin.cookie, 'x-trainyard-csrf': admin.csrf }, 'csrf-d');
    expect(right.statusCode).toBe(201);
    // Reads need no token; bearer calls never do.
    expect((await t.app.inject({ url: '/api/v1/keys', headers: { cookie: admin.cookie } })).statusCode).toBe(
      200,
    );
    expect((await create(t.auth(), 'csrf-e')).statusCode).toBe(201);
    // The refused forgery is in the audit log under the session's key.
    const audit = (await t.app.inject({ url: '/api/v1/audit-log?limit=20', headers: t.auth() })).json();
    expect(
      audit.items.some(
        (e: { action: string; status: number }) => e.action === 'createKey' && e.status === 403,
      ),
    ).toBe(true);
  });

  it('enforces roles through the cookie as through a bearer key', async () => {
    const viewer = await session(await t.keyWithRole('viewer'));
    const read = await t.app.inject({ url: '/api/v1/instance-types', headers: { cookie: viewer.cookie } });
    expect(read.statusCode).toBe(200);
    const keys = await t.app.inject({ url: '/api/v1/keys', headers: { cookie: viewer.cookie } });
    expect(keys.statusCode).toBe(403);
    const write = await t.app.inject({
      method: 'POST',
      url: '/api/v1/instance-types',
      headers: { cookie: viewer.cookie, 'x-trainyard-csrf': viewer.csrf },
      payload: { name: 'ml.viewer.large', vcpus: 1, memoryMiB: 1024, pricePerHour: 0 },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.message).toMatch(/role "viewer"/);
    const invoker = await session(await t.keyWithRole('invoker'));
    expect(
      (await t.app.inject({ url: '/api/v1/instance-types', headers: { cookie: invoker.cookie } })).statusCode,
    ).toBe(403);
    // Endpoint invocations take the cookie too, with the CSRF token (they are POSTs).
    const noToken = await t.app.inject({
      method: 'POST',
      url: '/endpoints/none/invocations',
      headers: { cookie: invoker.cookie, 'content-type': 'text/csv' },
      payload: '1,2',
    });
    expect(noToken.statusCode).toBe(403);
    const withToken = await t.app.inject({
      method: 'POST',
      url: '/endpoints/none/invocations',
      headers: { cookie: invoker.cookie, 'content-type': 'text/csv', 'x-trainyard-csrf': invoker.csrf },
      payload: '1,2',
    });
    expect(withToken.statusCode).toBe(404);
  });

  it('ends a session at once when its key is revoked or expires', async () => {
    const secret = await t.keyWithRole('developer');
    const dev = await session(secret);
    expect((await t.app.inject({ url: '/api/v1/whoami', headers: { cookie: dev.cookie } })).statusCode).toBe(
      200,
    );
    await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${dev.body.keyId}`, headers: t.auth() });
    const after = await t.app.inject({ url: '/api/v1/whoami', headers: { cookie: dev.cookie } });
    expect(after.statusCode).toBe(401);

    const expiring = await t.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: t.auth(),
      payload: { name: 'short-lived', role: 'viewer', expiresAt: new Date(Date.now() + 1200).toISOString() },
    });
    const short = await session(expiring.json().secret);
    expect(
      (await t.app.inject({ url: '/api/v1/whoami', headers: { cookie: short.cookie } })).statusCode,
    ).toBe(200);
    await sleep(1300);
    const late = await t.app.inject({ url: '/api/v1/whoami', headers: { cookie: short.cookie } });
    expect(late.statusCode).toBe(401);
    expect(late.json().error.message).toMatch(/expired/);
  });

  it('never adopts a session id from before sign-in, and sign-out ends the session and clears the cookie', async () => {
    const first = await session(t.adminKey);
    // Signing in again with a cookie already set (planted or old) gives a new id and ends the old one.
    const again = await signIn(t.adminKey, freshIp(), first.cookie);
    const secondId = /trainyard_session=([^;]+)/.exec(String(again.headers['set-cookie']))?.[1];
    expect(secondId).toBeDefined();
    expect(secondId).not.toBe(first.id);
    expect(
      (await t.app.inject({ url: '/api/v1/session', headers: { cookie: first.cookie } })).statusCode,
    ).toBe(401);

    const cookie = `trainyard_session=${secondId}`;
    const noToken = await t.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } });
    expect(noToken.statusCode).toBe(403);
    const out = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie, 'x-trainyard-csrf': again.json().csrfToken },
    });
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    expect(String(out.headers['set-cookie'])).toMatch(
      /^trainyard_session=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/,
    );
    expect((await t.app.inject({ url: '/api/v1/whoami', headers: { cookie } })).statusCode).toBe(401);
    // Signing out without a live session still clears the cookie.
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } })).statusCode,
    ).toBe(204);
  });

  it('limits failed sign-ins per address: the 11th in a minute is 429, other addresses are unaffected', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 10; i++) expect((await signIn(`wrong-${i}`, ip)).statusCode).toBe(401);
    const limited = await signIn('wrong-again', ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RESOURCE_EXHAUSTED');
    // Even the right secret waits: guessing must not continue by mixing in a known key.
    expect((await signIn(t.adminKey, ip)).statusCode).toBe(429);
    expect((await signIn(t.adminKey, '192.0.2.78')).statusCode).toBe(200);
  });

  it('leaves the S3 and SageMaker doors to signatures: a valid cookie opens neither', async () => {
    const admin = await session(t.adminKey);
    const s3 = await t.app.inject({
      url: '/',
      headers: { host: 'trainyard.localhost', cookie: admin.cookie },
    });
    expect(s3.statusCode).toBe(403);
    expect(s3.body).toContain('<Code>AccessDenied</Code>');
    const sagemaker = await t.app.inject({
      method: 'POST',
      url: '/',
      headers: {
        cookie: admin.cookie,
        'x-trainyard-csrf': admin.csrf,
        'x-amz-target': 'SageMaker.ListTrainingJobs',
        'content-type': 'application/x-amz-json-1.1',
      },
      payload: '{}',
    });
    expect(sagemaker.statusCode).toBeGreaterThanOrEqual(400);
    expect(sagemaker.statusCode).toBeLessThan(500);
    expect(sagemaker.body).not.toContain('TrainingJobSummaries');
  });

  it('the SDK in session mode: signIn, calls with the cookie and CSRF header, signOut', async () => {
    // A browser keeps the cookie; here a tiny jar stands in for it around the real fetch.
    let jar = '';
    const browserFetch: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      expect(headers.get('authorization')).toBeNull();
      expect(init?.credentials).toBe('same-origin');
      if (jar) headers.set('cookie', jar);
      const response = await fetch(input, { ...init, headers });
      const set = response.headers.get('set-cookie');
      if (set) jar = set.split(';')[0] === 'trainyard_session=' ? '' : (set.split(';')[0] as string);
      return response;
    };
    const client = new TrainyardClient({
      baseUrl: t.baseUrl,
      credentials: 'session',
      key: 'ignored-in-session-mode',
      fetch: browserFetch,
    });
    const signedIn = await client.signIn(t.adminKey);
    expect(signedIn.role).toBe('admin');
    expect(client.csrfToken).toBe(signedIn.csrfToken);
    expect((await client.session()).keyId).toBe(signedIn.keyId);
    const created = await client.call('createKey', { body: { name: 'from-console', role: 'viewer' } });
    expect(created.role).toBe('viewer');
    const fresh = new TrainyardClient({ baseUrl: t.baseUrl, credentials: 'session', fetch: browserFetch });
    await expect(
      fresh.call('createKey', { body: { name: 'no-token', role: 'viewer' } }),
    ).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    await client.signOut();
    expect(jar).toBe('');
    await expect(client.session()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
