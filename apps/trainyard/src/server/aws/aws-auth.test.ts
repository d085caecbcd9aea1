import {
  canonicalRequest,
  type SigV4Request,
  sha256Hex,
  signHex,
  signingKey,
  stringToSign,
} from '@trainyard/core/access/sigv4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';
import { AwsAuthError, authenticateSigV4, requireRole } from './aws-auth.js';

let t: TestServer;
let developer: { id: string; secret: string };

beforeAll(async () => {
  t = await openTestServer();
  const key = await t.platform.keys.create('aws-auth', 'developer');
  developer = { id: key.id, secret: key.secret };
});
afterAll(async () => {
  await t?.close();
});

const body = '{"MaxResults":1}';

/** A header-signed SageMaker request as the SDKs send it: no x-amz-content-sha256 header. */
function signed(key: { id: string; secret: string }, at = new Date(), service = 'sagemaker'): SigV4Request {
  const amzDate = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const scope = { date: amzDate.slice(0, 8), region: 'us-east-1', service };
  const request: SigV4Request = {
    method: 'POST',
    path: '/',
    query: '',
    headers: {
      host: 'localhost:7070',
      'x-amz-date': amzDate,
      'x-amz-target': 'SageMaker.ListProcessingJobs',
    },
  };
  const signedHeaders = ['host', 'x-amz-date', 'x-amz-target'];
  const toSign = stringToSign(amzDate, scope, canonicalRequest(request, signedHeaders, sha256Hex(body)));
  const signature = signHex(signingKey(key.secret, scope), toSign);
  request.headers.authorization = `AWS4-HMAC-SHA256 Credential=${key.id}/${scope.date}/us-east-1/${service}/aws4_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return request;
}

const services = (auth = true) => ({
  settings: { auth, host: '127.0.0.1', metadata: '', blobs: '' },
  keys: t.platform.keys,
});
const sageMaker = { service: 'sagemaker', payloadHash: () => sha256Hex(body) };

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
}

describe('authenticateSigV4', () => {
  it('resolves the key of a request signed over the body hash it was not sent', async () => {
    const caller = await authenticateSigV4(services(), signed(developer), sageMaker);
    expect(caller.principal).toMatchObject({ keyId: developer.id, role: 'developer' });
    expect(caller.verified?.seedSignature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a changed body, another service, a skewed clock, an unknown key and no signature', async () => {
    expect(
      await refusal(
        authenticateSigV4(services(), signed(developer), {
          ...sageMaker,
          payloadHash: () => sha256Hex('{}'),
        }),
      ),
    ).toMatchObject({ code: 'UNAUTHENTICATED', details: { sigv4: 'mismatch' } });
    expect(
      await refusal(authenticateSigV4(services(), signed(developer, new Date(), 's3'), sageMaker)),
    ).toMatchObject({
      details: { sigv4: 'scope' },
    });
    const late = new Date(Date.now() - 16 * 60_000);
    expect(await refusal(authenticateSigV4(services(), signed(developer, late), sageMaker))).toMatchObject({
      details: { sigv4: 'skewed' },
    });
    const unknown = await refusal(
      authenticateSigV4(services(), signed({ id: 'AKIANOBODY', secret: 'x' }), sageMaker),
    );
    expect(unknown).toBeInstanceOf(AwsAuthError);
    expect(unknown).toMatchObject({ problem: 'unknown-key', accessKeyId: 'AKIANOBODY' });
    const anonymous = await refusal(
      authenticateSigV4(
        services(),
        { method: 'POST', path: '/', query: '', headers: { host: 'x' } },
        sageMaker,
      ),
    );
    expect(anonymous).toMatchObject({ problem: 'anonymous' });
  });

  it('marks a malformed Authorization header as a parse failure', async () => {
    const request = signed(developer);
    request.headers.authorization = 'AWS4-HMAC-SHA256 Credential=broken';
    expect(await refusal(authenticateSigV4(services(), request, sageMaker))).toMatchObject({
      code: 'UNAUTHENTICATED',
      details: { sigv4: 'malformed', stage: 'parse' },
    });
  });

  it('lets anyone in as an anonymous admin when auth is off', async () => {
    const caller = await authenticateSigV4(
      services(false),
      { method: 'POST', path: '/', query: '', headers: { host: 'x' } },
      sageMaker,
    );
    expect(caller.principal.role).toBe('admin');
  });
});

describe('requireRole', () => {
  it('lets viewers read and refuses their writes and any invoker use, naming the key and role', () => {
    const viewer = { keyId: 'k1', role: 'viewer' as const, name: 'v' };
    expect(() => requireRole(viewer, 'read', 'SageMaker')).not.toThrow();
    expect(() => requireRole(viewer, 'write', 'SageMaker')).toThrow(
      'key k1 has role "viewer", which may only read',
    );
    expect(() => requireRole({ keyId: 'k2', role: 'invoker', name: 'i' }, 'read', 'S3')).toThrow(
      'key k2 has role "invoker", which may not use S3',
    );
  });
});
