import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

describe.skipIf(!requireBuild())('trainyard keys and audit CLI (needs the build)', () => {
  let t: TestServer & { baseUrl: string };
  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates an expiring key, rotates it with a grace period, and lists the audit log', async () => {
    const server = { baseUrl: t.baseUrl, key: t.adminKey };
    const created = await runCli(
      ['keys', 'create', 'ci', '--role', 'developer', '--expires', '30d', '--json'],
      server,
    );
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(Date.parse(key.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const rotated = await runCli(['keys', 'rotate', key.id, '--grace', '1h', '--json'], server);
    expect(rotated.code, rotated.stderr).toBe(0);
    const next = JSON.parse(rotated.stdout);
    expect(next.secret).not.toBe(key.secret);
    expect(Date.parse(next.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    // Both secrets work during the grace period.
    for (const secret of [key.secret, next.secret]) {
      expect((await runCli(['whoami', '--json'], { baseUrl: t.baseUrl, key: secret })).code).toBe(0);
    }

    const audit = await runCli(['audit', 'list', '--since', '1h', '--json'], server);
    expect(audit.code, audit.stderr).toBe(0);
    const actions = JSON.parse(audit.stdout).map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['createKey', 'rotateKey']));
    const bad = await runCli(['keys', 'create', 'x', '--expires', 'someday'], server);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--expires: "someday" is neither a duration/);
  });
});
