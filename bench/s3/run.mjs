#!/usr/bin/env node
// Upload and download throughput of one object through Trainyard's S3 door (server in its own
// process, @aws-sdk/client-s3 in this one) vs copying the same file on disk, in the same run.
// Build first: npx tsc -b ; then: node bench/s3/run.mjs [--mib 256] [--repeat 5]
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, unlink } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const run = promisify(execFile);
/** Debian's aws CLI v2 (other installs come first on PATH). */
const awsCli = '/usr/bin/aws';

const here = dirname(fileURLToPath(import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const clockTicksPerSecond = () => 100;
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const mib = Number(arg('mib', '256'));
const repeat = Number(arg('repeat', '5'));
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
// The same bytes as 8 MiB part files, for the curl multipart row (a client that holds its parts
// as files; cut once here, outside every timed step).
const partBytes = 8 * 1024 * 1024;
const partFiles = [];
for (let at = 0; at < bytes; at += partBytes) {
  const path = join(work, `part-${partFiles.length + 1}.bin`);
  await pipeline(
    createReadStream(source, { start: at, end: Math.min(at + partBytes, bytes) - 1 }),
    createWriteStream(path),
  );
  partFiles.push(path);
}
/** The base64 CRC32 of a file, as `x-amz-checksum-crc32` wants it. */
async function crc32Base64(path) {
  let crc = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) crc = crc32(chunk, crc);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc >>> 0);
  return checksum.toString('base64');
}

const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
const servers = [];
/** Starts `trainyard server` from the build at `mainJs` on its own data folder; resolves with its door. */
async function startDoor(mainJs, label) {
  const server = spawn(
    process.execPath,
    [
      // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      mainJs,
      'server',
      '--port',
      '0',
      '--data-dir',
      join(work, `data-${servers.length}`),
    ],
    {
      env: { ...process.env, TRAINYARD_ADMIN_KEY: adminKey, TRAINYARD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  servers.push(server);
  const endpoint = await new Promise((resolve, reject) => {
    let seen = '';
    server.stdout.on('data', (c) => {
      seen += c;
      const m = /listening on (http:\/\/\S+)/.exec(seen);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  });
  const whoami = await (
    await fetch(`${endpoint}/api/v1/whoami`, { headers: { authorization: `Bearer ${adminKey}` } })
  ).json();
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: whoami.keyId, secretAccessKey: adminKey },
  });
  // For curl's URLs: without this the SDK puts the CRC32 of an empty body in the query; the
  // header curl sends is the one the server checks, but the URL should not claim a wrong one.
  const presigner = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: whoami.keyId, secretAccessKey: adminKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await fetch(endpoint); // warm the connection path
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  return {
    label,
    pid: server.pid,
    s3,
    presigner,
    awsArgs: ['--endpoint-url', endpoint, '--only-show-errors'],
    awsEnv: {
      ...process.env,
      AWS_ACCESS_KEY_ID: whoami.keyId,
      AWS_SECRET_ACCESS_KEY: adminKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  };
}
const cleanup = () => {
  for (const server of servers) server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);

const copyTarget = join(work, 'copy.bin');
/** curl failing on any HTTP error, so a refused checksum fails the run instead of timing a 400. */
const curl = (args) =>
  run('curl', ['--fail-with-body', '--silent', '--show-error', '-H', 'Expect:', ...args]);

/** Seconds CompleteMultipartUpload took in the curl multipart row, per build. */
const completionSeconds = {};

/** The door rows for one server; `door.label` tells two builds apart in a --compare run. */
function doorSteps(door) {
  completionSeconds[door.label] = [];
  const { s3, presigner, awsArgs, awsEnv } = door;
  const rows = {
    'door: PutObject (one stream, aws-chunked + CRC32)': async (i) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'bench',
          Key: `put-${i}`,
          Body: createReadStream(source),
          ContentLength: bytes,
        }),
      );
    },
    'door: multipart Upload (8 MiB parts, 4 at once)': async (i) => {
      await new Upload({
        client: s3,
        params: { Bucket: 'bench', Key: `mpu-${i}`, Body: createReadStream(source) },
        partSize: 8 * 1024 * 1024,
        queueSize: 4,
      }).done();
    },
    'door: GetObject to a file': async (i) => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `put-${i}` }));
      await pipeline(got.Body, createWriteStream(copyTarget));
      if (statSync(copyTarget).size !== bytes) throw new Error('short download');
      await unlink(copyTarget);
    },
    // Lean clients that are not ours, so the door's own cost shows beside the JS SDK's.
    'door: curl PUT, presigned (+ CRC32 header)': async (i) => {
      // The CRC32 is computed inside the timed step (the client's cost), sent as a header the
      // server checks while the body streams.
      const checksum = await crc32Base64(source);
      const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'bench', Key: `curl-${i}` }), {
        expiresIn: 600,
      });
      await curl(['-X', 'PUT', '-T', source, '-H', `x-amz-checksum-crc32: ${checksum}`, url]);
    },
    'door: curl GET, presigned, to a file': async (i) => {
      const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: 'bench', Key: `curl-${i}` }), {
        expiresIn: 600,
      });
      await curl(['-o', copyTarget, url]);
      if (statSync(copyTarget).size !== bytes) throw new Error('short download');
      await unlink(copyTarget);
    },
    'door: curl multipart (8 MiB parts, 4 at once, + CRC32 headers)': async (i) => {
      const Key = `curl-mpu-${i}`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bench', Key }));
      const etags = [];
      let next = 0;
      const worker = async () => {
        while (next < partFiles.length) {
          const n = ++next;
          const path = partFiles[n - 1];
          const checksum = await crc32Base64(path);
          const url = await getSignedUrl(
            presigner,
            new UploadPartCommand({ Bucket: 'bench', Key, UploadId, PartNumber: n }),
            { expiresIn: 600 },
          );
          const { stdout } = await curl([
            '-X',
            'PUT',
            '-T',
            path,
            '-H',
            `x-amz-checksum-crc32: ${checksum}`,
            '-D',
            '-',
            '-o',
            '/dev/null',
            url,
          ]);
          etags[n - 1] = /^etag:\s*(\S+)/im.exec(stdout)?.[1];
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      const completing = process.hrtime.bigint();
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'bench',
          Key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, n) => ({ PartNumber: n + 1, ETag })) },
        }),
      );
      completionSeconds[door.label].push(Number(process.hrtime.bigint() - completing) / 1e9);
    },
    'door: curl GET of that multipart object (read across parts)': async (i) => {
      const url = await getSignedUrl(
        presigner,
        new GetObjectCommand({ Bucket: 'bench', Key: `curl-mpu-${i}` }),
        {
          expiresIn: 600,
        },
      );
      await curl(['-o', copyTarget, url]);
      if (statSync(copyTarget).size !== bytes) throw new Error('short download');
      await unlink(copyTarget);
    },
    'door: aws s3 cp upload (multipart 8 MiB, signed SHA-256)': async (i) => {
      await run(awsCli, [...awsArgs, 's3', 'cp', source, `s3://bench/cli-${i}`], {
        env: awsEnv,
      });
    },
    'door: aws s3 cp download (ranged GETs)': async (i) => {
      await run(awsCli, [...awsArgs, 's3', 'cp', `s3://bench/cli-${i}`, copyTarget], { env: awsEnv });
      if (statSync(copyTarget).size !== bytes) throw new Error('short download');
      await unlink(copyTarget);
    },
  };
  if (door.label === '') return rows;
  return Object.fromEntries(Object.entries(rows).map(([name, step]) => [`${name} [${door.label}]`, step]));
}

try {
  // --compare <path to another build's apps/trainyard/dist/main.js> runs every door row against
  // that server too, interleaved in the same rounds (e.g. the main branch's build, before a change).
  const compare = arg('compare', undefined);
  const doors = [
    await startDoor(
      join(here, '..', '..', 'apps', 'trainyard', 'dist', 'main.js'),
      compare ? 'this build' : '',
    ),
  ];
  if (compare) doors.push(await startDoor(compare, 'other build'));
  const doorOf = new Map();
  const steps = {
    'disk: stream copy (read + write)': async () => {
      await pipeline(createReadStream(source), createWriteStream(copyTarget));
      await unlink(copyTarget);
    },
    'disk: copyFile': async () => {
      await copyFile(source, copyTarget);
      await unlink(copyTarget);
    },
  };
  // With two builds, their rows interleave (A's PutObject, B's PutObject, A's GetObject, …) and
  // which build goes first alternates by round, so load from elsewhere hits both alike.
  const perDoor = doors.map((door) => Object.entries(doorSteps(door)));
  for (const [k, [name, step]] of (perDoor[0] ?? []).entries()) {
    for (const [d, rows] of perDoor.entries()) {
      const [twinName, twinStep] = rows[k] ?? [name, step];
      steps[twinName] = twinStep;
      doorOf.set(twinName, doors[d]);
    }
  }
  /** Round i's order: builds swapped in odd rounds (only when comparing). */
  const orderOf = (i) => {
    const entries = Object.entries(steps);
    if (doors.length < 2 || i % 2 === 0) return entries;
    const swapped = [...entries];
    for (let at = 0; at + 1 < swapped.length; at++) {
      const [a, b] = [swapped[at], swapped[at + 1]];
      if (a && b && doorOf.get(a[0]) === doors[0] && doorOf.get(b[0]) === doors[1]) {
        swapped[at] = b;
        swapped[at + 1] = a;
        at++;
      }
    }
    return swapped;
  };
  const peerName = 'disk: stream copy (read + write)';
  // --only put,curl (words of the row names, comma-separated) keeps the disk copy and those rows.
  const only = arg('only', undefined);
  if (only !== undefined) {
    for (const name of Object.keys(steps)) {
      const wanted = only.split(',').some((word) => name.toLowerCase().includes(word));
      if (name !== peerName && !wanted) delete steps[name];
    }
  }
  // CPU seconds (user + system) of both processes per step: unlike wall time, barely moved by
  // other load on the machine, so it shows what each step costs even when the run is noisy.
  const ticks = clockTicksPerSecond();
  // [all the server's threads, its main (request) thread alone]: the door hashes large bodies on
  // a worker thread, which shortens the request thread's work but not the total.
  const serverCpu = (name) => {
    const pid = doorOf.get(name)?.pid;
    if (pid === undefined) return [0, 0];
    const of = (path) => {
      const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    };
    return [of(`/proc/${pid}/stat`), of(`/proc/${pid}/task/${pid}/stat`)];
  };
  // This process plus the children it waited for (curl, the aws CLI).
  const clientCpu = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks;
  };
  const cpu = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
  const seconds = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
  const ratios = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
  const loadBefore = loadavg();
  for (let i = 0; i < repeat; i++) {
    const round = {};
    for (const [name, step] of orderOf(i)) {
      const serverBefore = serverCpu(name);
      const clientBefore = clientCpu();
      const start = process.hrtime.bigint();
      await step(i);
      round[name] = Number(process.hrtime.bigint() - start) / 1e9;
      seconds[name].push(round[name]);
      const serverAfter = serverCpu(name);
      cpu[name].push([
        clientCpu() - clientBefore,
        serverAfter[0] - serverBefore[0],
        serverAfter[1] - serverBefore[1],
      ]);
    }
    // The disk copy again after the door steps, so the peer brackets them in time.
    const start = process.hrtime.bigint();
    await steps[peerName](i);
    const peerAfter = Number(process.hrtime.bigint() - start) / 1e9;
    const peer = (round[peerName] + peerAfter) / 2;
    for (const name of Object.keys(steps)) ratios[name].push(round[name] / peer);
    console.error(
      `round ${i + 1}/${repeat}: ${Object.entries(round)
        .map(
          ([n, s]) =>
            `${n.replace(/ \[.*\]$/, '').split(' (')[0]}${/ \[.*\]$/.exec(n)?.[0] ?? ''} ${s.toFixed(2)}s`,
        )
        .join(', ')}, disk again ${peerAfter.toFixed(2)}s`,
    );
  }
  const loadAfter = loadavg();
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const results = {};
  for (const name of Object.keys(steps)) {
    results[name] = {
      seconds: median(seconds[name]),
      ratio: median(ratios[name]),
      clientCpuSeconds: median(cpu[name].map(([c]) => c)),
      serverCpuSeconds: median(cpu[name].map(([, s]) => s)),
      serverRequestThreadCpuSeconds: median(cpu[name].map(([, , m]) => m)),
      runs: seconds[name],
    };
  }
  const fmt = (l) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `\n${mib} MiB object, ${repeat} rounds, medians; ratio = door time / disk stream copy of the same round (lower is better)`,
  );
  console.log(`load average before: ${fmt(loadBefore)}, after: ${fmt(loadAfter)} (${cpus().length} CPUs)\n`);
  console.log(
    '| what | seconds | MiB/s | ratio vs disk stream copy | CPU s client | CPU s server | of which request thread |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `| ${name} | ${r.seconds.toFixed(2)} | ${(mib / r.seconds).toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.clientCpuSeconds.toFixed(2)} | ${r.serverCpuSeconds.toFixed(2)} | ${r.serverRequestThreadCpuSeconds.toFixed(2)} |`,
    );
  }
  // With --compare: each round's time of this build over the other's, the pair run back to back,
  // so a change shows apart from the load's drift over the run.
  const pairs = Object.keys(steps).filter((name) => name.endsWith(' [this build]'));
  if (pairs.length > 0) {
    console.log('\nthis build / other build, per round (median):');
    for (const name of pairs) {
      const other = name.replace(' [this build]', ' [other build]');
      const paired = seconds[name].map((s, i) => s / seconds[other][i]);
      console.log(
        `  ${name.replace(' [this build]', '')}: ${paired.map((x) => x.toFixed(2)).join(' ')} (${median(paired).toFixed(2)})`,
      );
    }
  }
  for (const [label, values] of Object.entries(completionSeconds)) {
    if (values.length === 0) continue;
    console.log(
      `\nCompleteMultipartUpload of the curl multipart row${label ? ` [${label}]` : ''}: median ${median(values).toFixed(3)} s (${fmt(values)})`,
    );
  }
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(
    join(here, 'out', 'last-run.json'),
    JSON.stringify(
      { mib, repeat, loadBefore, loadAfter, results, completionSeconds, at: new Date().toISOString() },
      null,
      1,
    ),
  );
  for (const door of doors) {
    door.s3.destroy();
    door.presigner.destroy();
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  cleanup();
  process.exit();
}
