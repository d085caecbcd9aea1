import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointSqlStore } from '@trainyard/adapters/sql/endpoint-sql-store';
import type { OpenedMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import { EndpointReconciler } from '@trainyard/runtime/endpoints/endpoint-reconciler';
import { installBubblewrap } from '@trainyard/runtime/jobs/job-sandbox';
import { LocalProcessExecutor } from '@trainyard/runtime/jobs/local-process-executor';
import { requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

// Isolation needs bubblewrap, or root (the unprivileged job user); without either instances run as
// the server's user, which is what this test must show does not happen.
const isolated = requireDependency(
  'bubblewrap (or running as root)',
  () => existsSync('/usr/bin/bwrap') || process.getuid?.() === 0,
  installBubblewrap,
);

/**
 * A model server written by an attacker, shipped in its model archive: it goes for the server's
 * data folder, database, master key, environment and a file outside its folder, then answers every
 * invocation with what it got.
 */
const probe = `
const fs = require('node:fs');
const http = require('node:http');
const got = {};
const attempt = (name, read) => {
  try { got[name] = 'GOT ' + String(read()).slice(0, 200); } catch (e) { got[name] = 'refused: ' + (e.code || e.message); }
};
attempt('secretFile', () => fs.readFileSync(process.env.PROBE_SECRET_FILE, 'utf8'));
attempt('database', () => fs.readFileSync(process.env.PROBE_DB_FILE).length);
attempt('masterKey', () => fs.readFileSync(process.env.PROBE_DATA_DIR + '/master.key', 'utf8'));
attempt('serverEnviron', () => fs.readFileSync('/proc/' + process.env.PROBE_SERVER_PID + '/environ', 'utf8'));
attempt('modelsCache', () => fs.readdirSync(process.env.PROBE_DATA_DIR + '/endpoints/models').join(','));
attempt('writeOutside', () => { fs.writeFileSync(process.env.PROBE_DATA_DIR + '/pwned', 'x'); return 'wrote'; });
let listing = [];
try { listing = fs.readdirSync(process.env.PROBE_DATA_DIR); } catch (e) { listing = ['refused: ' + e.code]; }
got.dataDirListing = listing.join(',');
got.envSecret = process.env.TRAINYARD_PROBE_SERVER_SECRET || 'absent';
got.uid = process.getuid();
http.createServer((req, res) => {
  const body = JSON.stringify(got);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1');
`;

describe.runIf(isolated)('endpoint instances run in the job sandbox', () => {
  let t: TestServer & { baseUrl: string };
  let reconciler: EndpointReconciler;
  let scratch: string;

  beforeAll(async () => {
    t = await openTestServer();
    scratch = mkdtempSync(join(tmpdir(), 'trainyard-instance-attack-'));
    writeFileSync(join(t.dataDir, 'secret.txt'), 'the-server-secret');
    process.env.TRAINYARD_PROBE_SERVER_SECRET = 'env-secret-of-the-server';
    const dir = join(scratch, 'model');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'probe.cjs'), probe);
    execFileSync('tar', ['-czf', join(scratch, 'model.tar.gz'), '-C', dir, 'probe.cjs']);
    await t.platform.blobs.createBucket('models').catch(() => undefined);
    await t.platform.blobs.putFile(
      { bucket: 'models', key: 'probe/model.tar.gz' },
      join(scratch, 'model.tar.gz'),
    );
    // The platform's own wiring (endpoint-services.ts) with a model server that is the attacker's script.
    const metadata = t.platform.metadata as OpenedMetadataStore;
    reconciler = new EndpointReconciler({
      store: new EndpointSqlStore(metadata.db),
      instanceTypes: metadata.instanceTypes,
      leases: metadata.leases,
      blobs: t.platform.blobs,
      executor: new LocalProcessExecutor({ isolation: t.platform.jobs.prepareIsolation() }),
      modelServer: {
        command: process.execPath,
        args: ['-e', 'require(process.env.SM_MODEL_DIR + "/probe.cjs")'],
      },
      workDir: join(t.dataDir, 'endpoints'),
      healthTimeoutMs: 20_000,
    });
  }, 60_000);

  afterAll(async () => {
    delete process.env.TRAINYARD_PROBE_SERVER_SECRET;
    await reconciler?.close();
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('a model that reads the data folder, database, master key or server environment gets nothing', async () => {
    const api = async (url: string, payload: object) => {
      const response = await t.app.inject({ method: 'POST', url, headers: t.auth(), payload });
      expect(response.statusCode, response.body).toBeLessThan(300);
    };
    const dbFile = t.platform.config.metadata.replace(/^sqlite:/, '');
    await api('/api/v1/models', {
      ModelName: 'probe',
      PrimaryContainer: {
        Image: 'trainyard/model-server',
        ModelDataUrl: 's3://models/probe/model.tar.gz',
        Environment: {
          PROBE_SECRET_FILE: join(t.dataDir, 'secret.txt'),
          PROBE_DATA_DIR: t.dataDir,
          PROBE_DB_FILE: dbFile,
          PROBE_SERVER_PID: String(process.pid),
        },
      },
    });
    await api('/api/v1/endpoint-configs', {
      EndpointConfigName: 'probe',
      ProductionVariants: [
        { VariantName: 'main', ModelName: 'probe', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    });
    await api('/api/v1/endpoints', { EndpointName: 'probe', EndpointConfigName: 'probe' });
    for (let i = 0; i < 200; i++) {
      await reconciler.reconcileOnce();
      const status = (await t.platform.endpoints.service.describeEndpoint('probe')).EndpointStatus;
      if (status === 'InService') break;
      expect(status).not.toBe('Failed');
      await new Promise((r) => setTimeout(r, 100));
    }
    const answer = await t.app.inject({
      method: 'POST',
      url: '/endpoints/probe/invocations',
      headers: { ...t.auth(), 'content-type': 'text/csv' },
      payload: '1',
    });
    expect(answer.statusCode, answer.body).toBe(200);
    const got = answer.json() as Record<string, string | number>;
    for (const name of ['secretFile', 'database', 'masterKey', 'serverEnviron', 'modelsCache'])
      expect(String(got[name]), `${name}: ${got[name]}`).toMatch(/^refused/);
    expect(got.dataDirListing).not.toMatch(/secret\.txt|master\.key/);
    expect(got.envSecret).toBe('absent');
    // Whatever the probe could write lands in the sandbox, never in the real data folder.
    expect(existsSync(join(t.dataDir, 'pwned'))).toBe(false);
    if (process.getuid?.() === 0) expect(got.uid).not.toBe(0);
  }, 60_000);
});
