import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadServerConfig, type ServerConfigInput } from '../config.js';
import { doorServicesOf } from '../doors.js';
import { openPlatform, type Platform } from '../platform.js';
import { buildHttpApp } from '../server/http-app.js';

export interface TestServer {
  platform: Platform;
  app: FastifyInstance;
  /** Secret of the bootstrap admin key. */
  adminKey: string;
  dataDir: string;
  /** `Authorization` header for a key secret (the admin's by default). */
  auth(secret?: string): { authorization: string };
  /** Creates a key with `role` and returns its secret. */
  keyWithRole(role: 'admin' | 'developer' | 'viewer' | 'invoker'): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real platform in-process on a temp data dir (SQLite file, filesystem blobs), for route
 * tests with `app.inject()`. Pass `listen: true` to also serve on a random loopback port.
 */
export async function openTestServer(
  overrides: ServerConfigInput = {},
  options: { listen?: boolean } = {},
): Promise<TestServer & { baseUrl: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-test-'));
  const adminKey = `test-admin-${Math.random().toString(36).slice(2)}-key`;
  const config = loadServerConfig({
    env: {},
    cwd: dataDir,
    // No console build unless a test passes consoleDir: route tests see the same `/` whether or
    // not apps/console has been built on this machine.
    flags: {
      dataDir,
      adminKey,
      logLevel: 'silent',
      port: 0,
      consoleDir: join(dataDir, 'no-console'),
      ...overrides,
    },
  });
  const platform = await openPlatform(config, pino({ level: config.logLevel }));
  const app = await buildHttpApp(doorServicesOf(platform));
  const baseUrl = options.listen ? await app.listen({ port: 0, host: '127.0.0.1' }) : 'http://in-process';
  let n = 0;
  return {
    platform,
    app,
    adminKey,
    dataDir,
    baseUrl,
    auth: (secret = adminKey) => ({ authorization: `Bearer ${secret}` }),
    keyWithRole: async (role) => (await platform.keys.create(`${role}-${n++}`, role)).secret,
    close: async () => {
      // A test is over: connections a client left open (keep-alive, an unread body) must not hold
      // the close, which otherwise waits for each of them.
      if (options.listen) app.server.closeAllConnections();
      await app.close();
      await platform.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
