import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canImportPython, requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsToolEnv } from '../../testing/aws-tools.js';
import { openTestServer, type TestServer } from '../../testing/platform-fixture.js';

const run = promisify(execFile);
const awsCli = '/usr/bin/aws';
const python = '/usr/bin/python3';
const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

const hasAwsCli = requireDependency(
  'the aws CLI v2 (/usr/bin/aws)',
  () => existsSync(awsCli),
  'apt-get install awscli',
);
const hasBoto3 = requireDependency(
  'boto3 for /usr/bin/python3',
  () => canImportPython('boto3', python),
  'apt-get install python3-boto3',
);

describe('S3 door with the aws CLI and boto3', () => {
  let t: TestServer & { baseUrl: string };
  let work: string;
  let env: NodeJS.ProcessEnv;
  const big = randomBytes(20 * 1024 * 1024); // over the CLI's 8 MiB multipart threshold

  beforeAll(async () => {
    t = await openTestServer({}, { listen: true });
    work = mkdtempSync(join(tmpdir(), 'trainyard-s3cli-'));
    writeFileSync(join(work, 'train.bin'), big);
    const key = await t.platform.keys.create('s3-cli', 'developer');
    env = awsToolEnv(work, key, { ENDPOINT: t.baseUrl });
  });
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const aws = (...args: string[]) => run(awsCli, ['--endpoint-url', t.baseUrl, ...args], { env, cwd: work });

  it.skipIf(!hasAwsCli)(
    'runs aws s3 mb, cp up and down (multipart), ls and rm',
    async () => {
      await aws('s3', 'mb', 's3://cli-bucket');
      await aws('s3', 'cp', join(work, 'train.bin'), 's3://cli-bucket/data/train.bin');
      const head = await t.platform.blobs.head({ bucket: 'cli-bucket', key: 'data/train.bin' });
      expect(head.size).toBe(big.length);
      expect(head.etag).toMatch(/-3$/); // 8 + 8 + 4 MiB parts
      const listing = await aws('s3', 'ls', 's3://cli-bucket/data/');
      expect(listing.stdout).toMatch(new RegExp(`${big.length}\\s+train\\.bin`));
      expect((await aws('s3', 'ls')).stdout).toContain('cli-bucket');
      await aws('s3', 'cp', 's3://cli-bucket/data/train.bin', join(work, 'back.bin'));
      expect(md5(readFileSync(join(work, 'back.bin')))).toBe(md5(big));
      await aws('s3', 'rm', 's3://cli-bucket/data/train.bin');
      expect((await t.platform.blobs.list('cli-bucket')).items).toEqual([]);
      await aws('s3', 'rb', 's3://cli-bucket');
      await expect(t.platform.blobs.headBucket('cli-bucket')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    },
    120_000,
  );

  it.skipIf(!hasBoto3)(
    'serves boto3 upload_file and download_file',
    async () => {
      const script = `
import os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'])
s3.create_bucket(Bucket='boto-bucket')
s3.upload_file('train.bin', 'boto-bucket', 'in/train.bin')
s3.download_file('boto-bucket', 'in/train.bin', 'boto-back.bin')
print(s3.head_object(Bucket='boto-bucket', Key='in/train.bin')['ETag'])
`;
      const { stdout } = await run(python, ['-c', script], { env, cwd: work });
      expect(stdout.trim()).toMatch(/^"[0-9a-f]{32}-\d+"$/);
      expect(md5(readFileSync(join(work, 'boto-back.bin')))).toBe(md5(big));
    },
    120_000,
  );
});
