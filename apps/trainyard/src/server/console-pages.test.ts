import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('serving the built console: files, SPA fallback, CSP; the API, doors and probes untouched', () => {
  let t: TestServer & { baseUrl: string };
  let consoleDir: string;
  const indexHtml =
    '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>';

  beforeAll(async () => {
    consoleDir = mkdtempSync(join(tmpdir(), 'trainyard-console-'));
    mkdirSync(join(consoleDir, 'assets'));
    writeFileSync(join(consoleDir, 'index.html'), indexHtml);
    writeFileSync(join(consoleDir, 'assets', 'index-abc123.js'), 'console.log("app");\n');
    // The build writes gzip copies beside text files (scripts/build-console.mjs).
    writeFileSync(join(consoleDir, 'assets', 'index-abc123.js.gz'), gzipSync('console.log("app");\n'));
    writeFileSync(join(consoleDir, 'index.html.gz'), gzipSync(indexHtml));
    writeFileSync(join(consoleDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(consoleDir, '.secret'), 'not for you');
    t = await openTestServer({ consoleDir }, { listen: true });
  });
  afterAll(async () => {
    await t.close();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  it('serves index.html at / and for deep links, never cached, with a CSP allowing no inline script', async () => {
    for (const url of ['/', '/training/jobs/xgb-1?tab=logs', '/datasets/churn/versions/3']) {
      const res = await t.app.inject({ url, headers: { accept: html } });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(indexHtml);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves hashed assets with a year of cache, other files briefly; a missing asset or non-HTML request is a 404', async () => {
    const asset = await t.app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await t.app.inject({ url: '/favicon.svg' });
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('public, max-age=300');
    expect(
      (await t.app.inject({ url: '/assets/index-old999.js', headers: { accept: html } })).statusCode,
    ).toBe(404);
    const json = await t.app.inject({ url: '/some/page', headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(404);
    expect(json.json().error.code).toBe('NOT_FOUND');
  });

  it('answers Accept-Encoding: gzip with the build-time gzip copy, others with the file itself', async () => {
    for (const url of ['/assets/index-abc123.js', '/']) {
      const zipped = await t.app.inject({ url, headers: { accept: html, 'accept-encoding': 'gzip, br' } });
      expect(zipped.headers['content-encoding'], url).toBe('gzip');
      expect(zipped.headers.vary).toBe('accept-encoding');
      expect(Number(zipped.headers['content-length'])).toBe(zipped.rawPayload.length);
      const plain = await t.app.inject({ url, headers: { accept: html } });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(gunzipSync(zipped.rawPayload).toString()).toBe(plain.body);
    }
    // A file without a gzip copy goes out as it is.
    const icon = await t.app.inject({ url: '/favicon.svg', headers: { 'accept-encoding': 'gzip' } });
    expect(icon.headers['content-encoding']).toBeUndefined();
  });

  it('never serves files outside the build or dotfiles', async () => {
    for (const url of [
      '/.secret',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2F..%2Fetc%2Fpasswd',
      '/assets/..%2F.secret',
      '/a%00b',
    ]) {
      const res = await t.app.inject({ url, headers: { accept: html } });
      expect(res.body, url).not.toContain('not for you');
      expect(res.body, url).not.toContain('root:');
    }
  });

  it('leaves /api/v1, /endpoints, probes and metrics alone', async () => {
    const unknown = await t.app.inject({ url: '/api/v1/unknown', headers: { accept: html } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/json/);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
    const invoke = await t.app.inject({ url: '/endpoints/x/whatever', headers: { accept: html } });
    expect(invoke.statusCode).toBe(404);
    expect(invoke.headers['content-type']).toMatch(/^application\/json/);
    expect((await t.app.inject({ url: '/healthz', headers: { accept: html } })).json()).toEqual({
      status: 'ok',
    });
    expect((await t.app.inject({ url: '/metrics', headers: { accept: html } })).body).toContain('trainyard_');
    // A browser-looking request carrying AWS query parameters is not the console's either.
    const presignedLike = await t.app.inject({ url: '/bucket/key?X-Amz-Foo=1', headers: { accept: html } });
    expect(presignedLike.body).not.toBe(indexHtml);
  });

  it('S3 requests (signed, or a virtual-hosted bucket) still reach the S3 door', async () => {
    const secret = await t.keyWithRole('developer');
    const keyId = (await t.app.inject({ url: '/api/v1/whoami', headers: t.auth(secret) })).json().keyId;
    const s3 = new S3Client({
      endpoint: t.baseUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: keyId, secretAccessKey: secret },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'pages' }));
    await s3.send(new PutObjectCommand({ Bucket: 'pages', Key: 'a.txt', Body: 'hello' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'pages' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['a.txt']);
    s3.destroy();
    const virtual = await t.app.inject({ url: '/', headers: { host: 'pages.localhost', accept: html } });
    expect(virtual.body).toContain('<Code>AccessDenied</Code>');
  });

  it('without a build, / stays the plain home page', async () => {
    const bare = await openTestServer();
    try {
      const home = await bare.app.inject({ url: '/', headers: { accept: html } });
      expect(home.body).toContain('Trainyard is running');
      expect((await bare.app.inject({ url: '/training', headers: { accept: html } })).statusCode).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
