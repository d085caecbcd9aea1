import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const python = '/usr/bin/python3';
const run = promisify(execFile);

/** Presigns with boto3's default client config (SigV2 query auth for S3), as users' scripts do. */
async function boto3Presign(
  baseUrl: string,
  key: { id: string; secret: string },
  requests: {
    method: 'get_object' | 'put_object' | 'create_bucket';
    key?: string;
    expiresIn?: number;
    params?: Record<string, string>;
  }[],
): Promise<string[]> {
  const script = `
import json, sys, boto3
args = json.loads(sys.argv[1])
s3 = boto3.client('s3', endpoint_url=args['endpoint'], aws_access_key_id=args['id'],
                  aws_secret_access_key=args['secret'], region_name='us-east-1')
for r in args['requests']:
    params = dict(Bucket='presigned', **({'Key': r['key']} if 'key' in r else {}), **r.get('params', {}))
    print(s3.generate_presigned_url(r['method'], Params=params, ExpiresIn=r.get('expiresIn', 3600)))
`;
  const { stdout } = await run(python, [
    '-c',
    script,
    JSON.stringify({ endpoint: baseUrl, id: key.id, secret: key.secret, requests }),
  ]);
  return stdout.trim().split('\n');
}

let t: TestServer & { baseUrl: string };
let admin: { id: string; secret: string };

const boto3 = requireDependency(
  "Debian's boto3 (/usr/bin/python3)",
  () => canImportPython('boto3'),
  'apt-get install python3-boto3',
);

describe.skipIf(!boto3)("S3 door: SigV2 presigned URLs from boto3's generate_presigned_url", () => {
  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    const who = await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: t.auth() });
    admin = { id: who.json().keyId, secret: t.adminKey };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('uploads with a presigned PUT and downloads with a presigned GET (space in the key, response override)', async () => {
    const [create, put, get, getAsText] = await boto3Presign(t.baseUrl, admin, [
      { method: 'create_bucket' },
      { method: 'put_object', key: 'shared/my data.csv' },
      { method: 'get_object', key: 'shared/my data.csv' },
      { method: 'get_object', key: 'shared/my data.csv', params: { ResponseContentType: 'text/plain' } },
    ]);
    const created = await fetch(create as string, { method: 'PUT' });
    expect(await created.text()).toBe('');
    expect(put).toMatch(/[?&]AWSAccessKeyId=.*&Signature=.*&Expires=\d+$/);
    const body = 'a,b\n1,2\n';
    // Bytes, so fetch sends no Content-Type: the URL was signed without one (S3 would refuse it too).
    const uploaded = await fetch(put as string, { method: 'PUT', body: new TextEncoder().encode(body) });
    expect(uploaded.status).toBe(200);
    const downloaded = await fetch(get as string);
    expect(downloaded.status).toBe(200);
    expect(await downloaded.text()).toBe(body);
    const typed = await fetch(getAsText as string);
    expect(typed.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('refuses a changed signature, an expired URL and a viewer writing, in S3 XML', async () => {
    const [get] = await boto3Presign(t.baseUrl, admin, [{ method: 'get_object', key: 'shared/my data.csv' }]);
    const tampered = await fetch((get as string).replace(/Signature=[^&]+/, 'Signature=AAAA'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toMatch(/<Code>SignatureDoesNotMatch<\/Code>/);
    const [expired] = await boto3Presign(t.baseUrl, admin, [
      { method: 'get_object', key: 'shared/my data.csv', expiresIn: -10 },
    ]);
    const late = await fetch(expired as string);
    expect(late.status).toBe(403);
    expect(await late.text()).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired/);
    const viewerSecret = await t.keyWithRole('viewer');
    const viewerWho = await t.app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: t.auth(viewerSecret),
    });
    const viewer = { id: viewerWho.json().keyId as string, secret: viewerSecret };
    const [viewerPut, viewerGet] = await boto3Presign(t.baseUrl, viewer, [
      { method: 'put_object', key: 'shared/other.csv' },
      { method: 'get_object', key: 'shared/my data.csv' },
    ]);
    const refused = await fetch(viewerPut as string, { method: 'PUT', body: new TextEncoder().encode('x') });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/may only read/);
    const read = await fetch(viewerGet as string);
    expect(read.status).toBe(200);
    expect(await read.text()).not.toBe('');
  });
});
