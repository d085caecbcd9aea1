import { TrainyardError } from '@trainyard/contracts/errors';
import { describe, expect, it } from 'vitest';
import {
  chunkStringToSign,
  emptySha256,
  parseSigV4,
  type SigV4Request,
  sha256Hex,
  signHex,
  signingKey,
  streamingSignedPayload,
  unsignedPayload,
  verifySigV4,
} from './sigv4.js';

// The worked examples of the S3 SigV4 documentation ("Signature Calculations for the
// Authorization Header", "Query String Authentication", "Signature Calculation: Transfer Payload
// in Multiple Chunks"): signatures computed by AWS, not by this code.
const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const credential = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';
const at = Date.UTC(2013, 4, 24, 0, 1);

function headerSigned(
  method: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  signature: string,
): SigV4Request {
  const signed = Object.keys(headers).sort().join(';');
  return {
    method,
    path,
    query,
    headers: {
      ...headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${credential},SignedHeaders=${signed},Signature=${signature}`,
    },
  };
}

function verify(request: SigV4Request, payloadHash: string, now = at) {
  const claim = parseSigV4(request);
  if (!claim) throw new Error('not signed');
  return verifySigV4(request, claim, secret, { service: 's3', payloadHash, now });
}

function failure(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    if (TrainyardError.is(error, 'UNAUTHENTICATED')) return error.details.sigv4 as string;
    throw error;
  }
  return undefined;
}

describe('SigV4 verification against AWS documentation examples', () => {
  it('verifies GET Object with a Range header', () => {
    const request = headerSigned(
      'GET',
      '/test.txt',
      '',
      {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': emptySha256,
        'x-amz-date': '20130524T000000Z',
      },
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(() => verify(request, emptySha256)).not.toThrow();
  });

  it('verifies PUT Object with an encoded key and a signed payload hash', () => {
    const payload = 'Welcome to Amazon S3.';
    const request = headerSigned(
      'PUT',
      '/test%24file.text',
      '',
      {
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': sha256Hex(payload),
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    );
    expect(() => verify(request, sha256Hex(payload))).not.toThrow();
    // One changed byte in the path, a header or the payload hash breaks the signature.
    expect(failure(() => verify({ ...request, path: '/test%24file.txt' }, sha256Hex(payload)))).toBe(
      'mismatch',
    );
    expect(failure(() => verify(request, sha256Hex(`${payload}!`)))).toBe('mismatch');
    const tampered = { ...request, headers: { ...request.headers, 'x-amz-storage-class': 'STANDARD' } };
    expect(failure(() => verify(tampered, sha256Hex(payload)))).toBe('mismatch');
  });

  it('sorts and encodes query parameters (ListObjects, GET ?lifecycle)', () => {
    const headers = {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-content-sha256': emptySha256,
      'x-amz-date': '20130524T000000Z',
    };
    const list = headerSigned(
      'GET',
      '/',
      'prefix=J&max-keys=2',
      headers,
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    );
    expect(() => verify(list, emptySha256)).not.toThrow();
    const lifecycle = headerSigned(
      'GET',
      '/',
      'lifecycle',
      headers,
      'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    );
    expect(() => verify(lifecycle, emptySha256)).not.toThrow();
  });

  it('verifies a presigned URL within its lifetime and refuses it after', () => {
    const query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const request: SigV4Request = {
      method: 'GET',
      path: '/test.txt',
      query,
      headers: { host: 'examplebucket.s3.amazonaws.com' },
    };
    expect(parseSigV4(request)).toMatchObject({
      form: 'query',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      expiresSeconds: 86400,
    });
    expect(() => verify(request, unsignedPayload, at + 3_600_000)).not.toThrow();
    expect(failure(() => verify(request, unsignedPayload, at + 86_401_000))).toBe('expired');
  });

  it('refuses a header-signed request far from the server clock, and another service scope', () => {
    const request = headerSigned(
      'GET',
      '/test.txt',
      '',
      {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': emptySha256,
        'x-amz-date': '20130524T000000Z',
      },
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(failure(() => verify(request, emptySha256, at + 16 * 60_000))).toBe('skewed');
    const claim = parseSigV4(request);
    if (!claim) throw new Error('not signed');
    expect(
      failure(() =>
        verifySigV4(request, claim, secret, { service: 'sagemaker', payloadHash: emptySha256, now: at }),
      ),
    ).toBe('scope');
  });

  it('chains aws-chunked chunk signatures from the seed signature', () => {
    const request = headerSigned(
      'PUT',
      '/examplebucket/chunkObject.txt',
      '',
      {
        'content-encoding': 'aws-chunked',
        'content-length': '66824',
        host: 's3.amazonaws.com',
        'x-amz-content-sha256': streamingSignedPayload,
        'x-amz-date': '20130524T000000Z',
        'x-amz-decoded-content-length': '66560',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    );
    const { signingKey: key, seedSignature } = verify(request, streamingSignedPayload);
    expect(key.equals(signingKey(secret, { date: '20130524', region: 'us-east-1', service: 's3' }))).toBe(
      true,
    );
    const scope = { date: '20130524', region: 'us-east-1', service: 's3' };
    const chunk1 = signHex(
      key,
      chunkStringToSign('20130524T000000Z', scope, seedSignature, sha256Hex(Buffer.alloc(65536, 'a'))),
    );
    expect(chunk1).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const chunk2 = signHex(
      key,
      chunkStringToSign('20130524T000000Z', scope, chunk1, sha256Hex(Buffer.alloc(1024, 'a'))),
    );
    expect(chunk2).toBe('0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    const final = signHex(key, chunkStringToSign('20130524T000000Z', scope, chunk2, emptySha256));
    expect(final).toBe('b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });

  it('names malformed authorization as malformed, and ignores unsigned requests', () => {
    expect(parseSigV4({ query: '', headers: {} })).toBeUndefined();
    expect(
      failure(() => parseSigV4({ query: '', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } })),
    ).toBe('malformed');
    expect(
      failure(() =>
        parseSigV4({
          query:
            'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20130524%2Fus-east-1%2Fs3%2Faws4_request',
          headers: {},
        }),
      ),
    ).toBe('malformed');
  });
});
