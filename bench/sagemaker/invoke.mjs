// InvokeEndpoint bench: the same endpoint, key and single-row CSV request, invoked (a) with a
// bearer key (the REST API's form) and (b) SigV4-signed for service `sagemaker` by
// @aws-sdk/client-sagemaker-runtime (the runtime API's form), in alternating rounds of one run.
// Shows what SigV4 verification adds to the invoke path, as a ratio.
// Usage: npx tsc -b && node bench/sagemaker/invoke.mjs [--duration 5] [--rounds 3] [--connections 16]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
  },
});
const out = join(here, 'out');
// The serving bench's model: a 100-tree depth-6 binary:logistic GBDT on 28 features.
const modelDir = join(root, 'bench', 'serving', 'out', 'model');
mkdirSync(out, { recursive: true });
if (!existsSync(join(modelDir, 'xgboost-model')))
  process.stdout.write(
    execFileSync('/usr/bin/python3', [join(root, 'bench', 'serving', 'make_model.py'), modelDir], {
      encoding: 'utf8',
    }),
  );
execFileSync('tar', ['-czf', join(out, 'model.tar.gz'), '-C', modelDir, 'xgboost-model']);
const row = readFileSync(join(modelDir, 'row.csv'), 'utf8');

let server;
process.on('exit', () => server?.exitCode === null && server.kill('SIGKILL'));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function wrk(url, headers) {
  const script = join(out, 'post.lua');
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(row)}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
  ];
  writeFileSync(script, `${lines.join('\n')}\n`);
  const text = execFileSync(
    '/usr/bin/wrk',
    ['-t2', `-c${values.connections}`, `-d${values.duration}s`, '--latency', '-s', script, url],
    { encoding: 'utf8' },
  );
  const ms = (label) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : Number.NaN;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    requests: Number(/(\d+) requests in/.exec(text)?.[1]),
    p50: ms('50'),
    errors: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? '0'),
  };
}

/** The headers @aws-sdk/client-sagemaker-runtime sends for this request, signature included (valid 15 min; the body is fixed). */
async function sdkSignedHeaders(base, key) {
  const client = new SageMakerRuntimeClient({
    endpoint: base,
    region: 'us-east-1',
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
  });
  let headers;
  client.middlewareStack.add(
    () => async (args) => {
      headers = { ...args.request.headers };
      throw new Error('captured');
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureSigned' },
  );
  await client
    .send(new InvokeEndpointCommand({ EndpointName: 'bench', ContentType: 'text/csv', Body: row }))
    .catch(() => {});
  // wrk sets these itself.
  delete headers.host;
  delete headers['content-length'];
  return headers;
}

const dataDir = join(tmpdir(), `trainyard-bench-sm-invoke-${process.pid}`);
const blobs = await openBlobStore(`file:${join(dataDir, 'blobs')}`);
await blobs.createBucket('models');
await blobs.putFile({ bucket: 'models', key: 'bench/model.tar.gz' }, join(out, 'model.tar.gz'));
const port = await freePort();
const admin = 'bench-sm-invoke-admin-key-0123456789';
server = spawn(
  process.execPath,
  [join(root, 'apps/trainyard/dist/main.js'), 'server', '--port', String(port)],
  {
    env: {
      PATH: '/usr/bin:/bin',
      TRAINYARD_DATA_DIR: dataDir,
      TRAINYARD_ADMIN_KEY: admin,
      TRAINYARD_LOG_LEVEL: 'warn',
      TRAINYARD_WORKER_CONCURRENCY: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let output = '';
server.stdout.on('data', (d) => (output += d));
server.stderr.on('data', (d) => (output += d));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 300 && !output.includes('listening on'); i++)
  await new Promise((r) => setTimeout(r, 100));
const client = new TrainyardClient({ endpoint: base, key: admin });
const key = await client.call('createKey', { body: { name: 'bench-invoker', role: 'invoker' } });
await client.call('createModel', {
  body: {
    ModelName: 'bench',
    PrimaryContainer: {
      Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      ModelDataUrl: 's3://models/bench/model.tar.gz',
    },
  },
});
await client.call('createEndpointConfig', {
  body: {
    EndpointConfigName: 'bench',
    ProductionVariants: [
      { VariantName: 'main', ModelName: 'bench', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
    ],
  },
});
await client.call('createEndpoint', { body: { EndpointName: 'bench', EndpointConfigName: 'bench' } });
for (;;) {
  const e = await client.call('describeEndpoint', { params: { name: 'bench' } });
  if (e.EndpointStatus === 'InService') break;
  if (e.EndpointStatus === 'Failed') throw new Error(e.FailureReason);
  await new Promise((r) => setTimeout(r, 200));
}

const url = `${base}/endpoints/bench/invocations`;
const bearer = { 'Content-Type': 'text/csv', Authorization: `Bearer ${key.secret}` };
const signed = await sdkSignedHeaders(base, key);
// Both forms answer before the measurement.
for (const headers of [bearer, signed]) {
  const answer = await fetch(url, { method: 'POST', headers, body: row });
  if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
}
/** The API server's CPU time (user + system, ms) from /proc: per request it barely moves with the machine's load. */
function serverCpuMs() {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
function measured(headers) {
  const before = serverCpuMs();
  const result = wrk(url, headers);
  return { ...result, cpuUsPerRequest: ((serverCpuMs() - before) * 1000) / result.requests };
}
const runs = { bearer: [], sigv4: [] };
const loads = [];
for (let round = 0; round < Number(values.rounds); round++) {
  loads.push(loadavg()[0]);
  runs.bearer.push(measured(bearer));
  runs.sigv4.push(measured(signed));
}
loads.push(loadavg()[0]);
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write(
  `\nwrk -t2 -c${values.connections} -d${values.duration}s x ${values.rounds} alternating rounds, single-row text/csv; load average (1 min) ${loads.map((l) => l.toFixed(1)).join(' / ')}\n`,
);
process.stdout.write(
  '| auth | req/s median | req/s range | p50 ms median | server CPU µs/request median (range) | non-2xx |\n| --- | --- | --- | --- | --- | --- |\n',
);
for (const [name, rs] of Object.entries(runs)) {
  const rps = rs.map((r) => r.rps);
  const cpu = rs.map((r) => r.cpuUsPerRequest);
  process.stdout.write(
    `| ${name} | ${median(rps).toFixed(0)} | ${Math.min(...rps).toFixed(0)}-${Math.max(...rps).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ${median(cpu).toFixed(0)} (${Math.min(...cpu).toFixed(0)}-${Math.max(...cpu).toFixed(0)}) | ${rs.reduce((s, r) => s + r.errors, 0)} |\n`,
  );
}
const ratios = runs.sigv4.map((r, i) => r.rps / runs.bearer[i].rps);
const cpuRatios = runs.sigv4.map((r, i) => r.cpuUsPerRequest / runs.bearer[i].cpuUsPerRequest);
process.stdout.write(
  `\nsigv4/bearer req/s per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}\n` +
    `sigv4/bearer server CPU per request per round: ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}; median ${median(cpuRatios).toFixed(2)}\n`,
);
