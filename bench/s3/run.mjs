#!/usr/bin/env node
// Upload and download throughput of one object through Trainyard's S3 door (server in its own
// process, @aws-sdk/client-s3 in this one) vs copying the same file on disk, in the same run.
// Build first: npx tsc -b ; then: node bench/s3/run.mjs [--mib 256] [--repeat 3]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const mib = Number(arg('mib', '256'));
const repeat = Number(arg('repeat', '3'));
const bytes = mib * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'trainyard-bench-s3-'));
const source = join(work, 'source.bin');
{
  // Random data so nothing on the path can shortcut it; written in 16 MiB blocks.
  const out = createWriteStream(source);
  for (let at = 0; at < bytes; at += 16 * 1024 * 1024) {
    if (!out.write(randomBytes(Math.min(16 * 1024 * 1024, bytes - at)))) {
      await new Promise((r) => out.once('drain', r));
    }
  }
  await new Promise((r) => out.end(r));
}

const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
const server = spawn(
  process.execPath,
  [
    join(here, '..', '..', 'apps', 'trainyard', 'dist', 'main.js'),
    'server',
    '--port',
    '0',
    '--data-dir',
    join(work, 'data'),
  ],
  {
    env: { ...process.env, TRAINYARD_ADMIN_KEY: adminKey, TRAINYARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const endpoint = await new Promise((resolve, reject) => {
  let seen = '';
  server.stdout.on('data', (c) => {
    seen += c;
    const m = /listening on (http:\/\/\S+)/.exec(seen);
    if (m) resolve(m[1]);
  });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
});
const cleanup = () => {
  server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);

try {
  const whoami = await (
    await fetch(`${endpoint}/api/v1/whoami`, { headers: { authorization: `Bearer ${adminKey}` } })
  ).json();
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: whoami.keyId, secretAccessKey: adminKey },
  });
  await fetch(endpoint); // warm the connection path
  const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));

  const time = async (fn) => {
    const runs = [];
    for (let i = 0; i < repeat; i++) {
      const start = process.hrtime.bigint();
      await fn(i);
      runs.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    runs.sort((a, b) => a - b);
    return runs[Math.floor(runs.length / 2)]; // median
  };
  const copyTarget = join(work, 'copy.bin');
  const results = {
    'disk: stream copy (read + write)': await time(async () => {
      await pipeline(createReadStream(source), createWriteStream(copyTarget));
      await unlink(copyTarget);
    }),
    'disk: copyFile': await time(async () => {
      await copyFile(source, copyTarget);
      await unlink(copyTarget);
    }),
    'door: PutObject (one stream, aws-chunked + CRC32)': await time(async (i) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: `put-${i}`,
          Body: createReadStream(source),
          ContentLength: bytes,
        }),
      );
    }),
    'door: multipart Upload (8 MiB parts, 4 at once)': await time(async (i) => {
      await new Upload({
        client: s3,
        params: { Bucket: 'bench', Key: `mpu-${i}`, Body: createReadStream(source) },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      }).done();
    }),
    'door: GetObject to a file': await time(async (i) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `put-${i % repeat}` }));
      await pipeline(got.Body, createWriteStream(copyTarget));
      if (statSync(copyTarget).size !== bytes) throw new Error('short download');
      await unlink(copyTarget);
    }),
  };
  const peer = results['disk: stream copy (read + write)'];
  console.log(
    `\n${mib} MiB object, median of ${repeat}; ratio = time / disk stream copy (lower is better)\n`,
  );
  console.log('| what | seconds | MiB/s | ratio vs disk stream copy |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, seconds] of Object.entries(results)) {
    console.log(
      `| ${name} | ${seconds.toFixed(2)} | ${(mib / seconds).toFixed(0)} | ${(seconds / peer).toFixed(2)} |`,
    );
  }
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(
    join(here, 'out', 'last-run.json'),
    JSON.stringify({ mib, repeat, results, at: new Date().toISOString() }, null, 1),
  );
  s3.destroy();
} finally {
  cleanup();
  process.exit(0);
}
