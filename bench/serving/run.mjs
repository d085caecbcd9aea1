// Serving bench: (a) a Trainyard endpoint with one instance, (b) a bare node:http server calling
// the same predict in process (the floor), (c) gunicorn + Flask + xgboost (SageMaker's XGBoost
// container stack), one after another in one run, driven by wrk with single-row CSV requests.
// The servers run side by side; each round drives each of them in turn (alternating, so the other
// engineers' load on this shared machine falls on all of them alike), and the table shows medians
// and ranges over the rounds. Then a fixed-rate run at half of (a)'s median peak gives its p99.
// Usage: node bench/serving/run.mjs [--duration 10] [--connections 16] [--rounds 3] [--compare /work/main]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import { fixedRate } from './fixed-rate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    compare: { type: 'string' },
  },
});
const out = join(here, 'out');
const modelDir = join(out, 'model');
const children = [];
// The Trainyard server gets SIGTERM (it stops its instances itself); the others are killed.
process.on('exit', () => {
  for (const child of children)
    if (child.exitCode === null) child.kill(child.graceful ? 'SIGTERM' : 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(command, args, env) {
  const child = spawn(command, args, {
    env: { PATH: '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.output = () => output;
  children.push(child);
  return child;
}

async function waitPing(url, child) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/ping`)).ok) return;
    } catch {}
    if (child && child.exitCode !== null) throw new Error(`exited: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered /ping`);
}

/** CPU seconds (user + system) used so far by the process trees under `roots`, from /proc/<pid>/stat. */
function treeCpuSeconds(roots) {
  const stats = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(entry), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {}
  }
  const members = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of stats)
      if (!members.has(s.pid) && members.has(s.ppid)) {
        members.add(s.pid);
        grew = true;
      }
  }
  return stats.filter((s) => members.has(s.pid)).reduce((sum, s) => sum + s.ticks, 0) / 100;
}

function wrk(url, headers, pids = []) {
  const cpuBefore = treeCpuSeconds(pids);
  const row = readFileSync(join(modelDir, 'row.csv'), 'utf8');
  const script = join(out, 'post.lua');
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(row)}`,
    'wrk.headers["Content-Type"] = "text/csv"',
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
    if (!m) return Number.NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  const cpu = treeCpuSeconds(pids) - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? '0';
  const socket = /Socket errors: (.*)/.exec(text)?.[1];
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p50: ms('50'),
    p99: ms('99'),
    errors: Number(errors),
    socket,
    // Server-side CPU per request (all processes of the server under test): what a saturated
    // machine's throughput follows, and far less moved by the other load than wall time.
    cpuUs: requests > 0 ? (cpu / requests) * 1e6 : Number.NaN,
  };
}

mkdirSync(out, { recursive: true });
if (!existsSync(join(modelDir, 'xgboost-model')))
  process.stdout.write(
    execFileSync('/usr/bin/python3', [join(here, 'make_model.py'), modelDir], { encoding: 'utf8' }),
  );
execFileSync('tar', ['-czf', join(out, 'model.tar.gz'), '-C', modelDir, 'xgboost-model']);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();
/** Label → the URL wrk drives and its headers, filled as each server comes up. */
const targets = {};

// (a) Trainyard: a server process, a model, an endpoint with one ml.m5.large instance.
const key = 'bench-serving-admin-key-0123456789';
const dataDirs = [];
const row0 = readFileSync(join(modelDir, 'row.csv'), 'utf8');

/** Starts `trainyard server` from the checkout at `codeRoot` with the bench endpoint InService. */
async function startTrainyard(codeRoot, tag) {
  const dataDir = join(tmpdir(), `trainyard-bench-serving-${process.pid}-${tag}`);
  dataDirs.push(dataDir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const blobs = await openBlobStore(`file:${join(dataDir, 'blobs')}`);
  await blobs.createBucket('models');
  await blobs.putFile({ bucket: 'models', key: 'bench/model.tar.gz' }, join(out, 'model.tar.gz'));
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" shows where the server spends its time.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const server = start(
    process.execPath,
    [...nodeArgs, join(codeRoot, 'apps/trainyard/dist/main.js'), 'server', '--port', String(port)],
    {
      TRAINYARD_DATA_DIR: dataDir,
      TRAINYARD_ADMIN_KEY: key,
      TRAINYARD_LOG_LEVEL: 'warn',
      TRAINYARD_WORKER_CONCURRENCY: '0',
      // BENCH_JOB_ISOLATION=none measures the instance outside the sandbox (default: auto, as served).
      TRAINYARD_JOB_ISOLATION: process.env.BENCH_JOB_ISOLATION ?? 'auto',
    },
  );
  server.graceful = true;
  for (let i = 0; i < 300 && !server.output().includes('listening on'); i++)
    await new Promise((r) => setTimeout(r, 100));
  const client = new TrainyardClient({ endpoint: base, key });
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
  const check = await client.invokeEndpoint('bench', row0);
  process.stdout.write(
    `trainyard endpoint (${codeRoot}) answers ${check.body.trim()} (variant ${check.invokedProductionVariant})\n`,
  );
  const [instance] = (await client.call('listEndpointInstances', { params: { name: 'bench' } })).items;
  // The router takes the framed lane to an instance whose row has a LaneUrl (built-in models).
  const path = instance.LaneUrl
    ? `the framed lane (${instance.LaneUrl}), HTTP ${instance.Url} for /ping only`
    : `HTTP keep-alive (${instance.Url}): the instance has no LaneUrl`;
  return { server, base, instance, path };
}

const trainyard = await startTrainyard(root, 'a');
const trainyardServer = trainyard.server;
const base = trainyard.base;
const lanePath = trainyard.path;
targets['(a) trainyard endpoint'] = {
  url: `${base}/endpoints/bench/invocations`,
  headers: { Authorization: `Bearer ${key}` },
  pids: [trainyardServer.pid],
};
// Where the time goes: the same instance without the router in front.
targets['(a) its instance alone'] = {
  url: `${trainyard.instance.Url}/invocations`,
  headers: {},
  pids: [trainyard.instance.Pid],
};
// --compare <checkout>: the same endpoint served by another checkout's build (e.g. main), driven
// in the same rounds: a before/after of the router on the same machine at the same moment.
let compared;
if (values.compare) {
  compared = await startTrainyard(values.compare, 'compare');
  targets["(a') compared checkout"] = {
    url: `${compared.base}/endpoints/bench/invocations`,
    headers: { Authorization: `Bearer ${key}` },
    pids: [compared.server.pid],
  };
}

// (b) the floor: node:http + predict in process.
{
  const port = await freePort();
  const bare = start(process.execPath, [join(here, 'bare-server.mjs')], {
    SM_MODEL_DIR: modelDir,
    SAGEMAKER_BIND_TO_PORT: String(port),
  });
  await waitPing(`http://127.0.0.1:${port}`, bare);
  targets['(b) bare node:http'] = {
    url: `http://127.0.0.1:${port}/invocations`,
    headers: {},
    pids: [bare.pid],
  };
}

// (c) gunicorn + Flask + xgboost, 2 sync workers (the instance's 2 vCPUs), as SageMaker's container.
{
  const port = await freePort();
  const peer = start(
    '/usr/bin/gunicorn3',
    ['-w', '2', '-b', `127.0.0.1:${port}`, '--chdir', here, 'peer_app:app'],
    { SM_MODEL_DIR: modelDir, OMP_NUM_THREADS: '1' },
  );
  await waitPing(`http://127.0.0.1:${port}`, peer);
  targets['(c) gunicorn+flask+xgboost'] = {
    url: `http://127.0.0.1:${port}/invocations`,
    headers: {},
    pids: [peer.pid],
  };
}

// What the servers burn with no request at all (reconciler passes, the instance's memory
// watchdog, metric sampling), as a share of one core over 5 s.
const idle = {};
{
  const before = Object.fromEntries(Object.entries(targets).map(([n, t]) => [n, treeCpuSeconds(t.pids)]));
  await new Promise((r) => setTimeout(r, 5000));
  for (const [n, t] of Object.entries(targets)) idle[n] = ((treeCpuSeconds(t.pids) - before[n]) / 5) * 100;
}

const rounds = Number(values.rounds);
const results = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
for (let round = 0; round < rounds; round++)
  for (const [name, target] of Object.entries(targets))
    results[name].push(wrk(target.url, target.headers, target.pids));

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stat = (runs, field, digits) => {
  const xs = runs.map((r) => r[field]);
  return `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
};

// p99 at half of (a)'s peak: a fixed rate, latency from each request's scheduled time.
const peak = median(results['(a) trainyard endpoint'].map((r) => r.rps));
const row = readFileSync(join(modelDir, 'row.csv'), 'utf8');
// The same fixed rate against (b) right after: the floor of what this machine (and the Node
// generator) shows as tail latency at that moment, so a p99 that the load makes is seen as such.
const atHalf = (name) =>
  fixedRate({
    ...targets[name],
    headers: { ...targets[name].headers, 'content-type': 'text/csv' },
    body: row,
    rate: Math.max(1, Math.round(peak / 2)),
    seconds: Number(values.duration),
  });
const half = await atHalf('(a) trainyard endpoint');
const halfBare = await atHalf('(b) bare node:http');
const halfCompared = compared ? await atHalf("(a') compared checkout") : undefined;
const loadAfter = load();

// Which path (a)'s requests took: the router counts every invocation it answers in /metrics,
// and takes the lane for every one when the instance row has a LaneUrl. The count must match
// what was sent: the bench's check, wrk's and the fixed rate's.
const sentToA = 1 + results['(a) trainyard endpoint'].reduce((sum, r) => sum + r.requests, 0) + half.sent;
const scraped = await (
  await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } })
).text();
let routed = 0;
for (const m of scraped.matchAll(/^trainyard_endpoint_invocations_total\{([^}]*)\} (\d+)/gm))
  if (m[1].includes('endpoint="bench"')) routed += Number(m[2]);

process.stdout.write(
  `\nload generator: wrk -t2 -c${values.connections} -d${values.duration}s, single-row text/csv, 100-tree depth-6 GBDT on 28 features; ${rounds} rounds, each server in turn; median [min–max]\n`,
);
process.stdout.write(
  `load average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}; ${process.env.BENCH_NOTE ?? ''}\n`,
);
process.stdout.write(
  '| server | req/s | p50 ms | p99 ms | server CPU µs/request | non-2xx |\n| --- | --- | --- | --- | --- | --- |\n',
);
for (const [name, runs] of Object.entries(results)) {
  const errors = runs.reduce((sum, r) => sum + r.errors, 0);
  const socket = runs.map((r) => r.socket).filter(Boolean);
  process.stdout.write(
    `| ${name} | ${stat(runs, 'rps', 0)} | ${stat(runs, 'p50', 2)} | ${stat(runs, 'p99', 2)} | ${stat(runs, 'cpuUs', 0)} | ${errors}${socket.length ? ` (${socket.join('; ')})` : ''} |\n`,
  );
}
process.stdout.write(
  `\nidle (no requests, 5 s), % of one core: ${Object.entries(idle)
    .map(([n, v]) => `${n} ${v.toFixed(1)}`)
    .join(', ')}\n`,
);
const ratios = (x, y) => {
  const r = results[x].map((run, i) => run.rps / results[y][i].rps);
  return `${median(r).toFixed(2)} [${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}]`;
};
process.stdout.write(
  `\n(a)/(b) req/s = ${ratios('(a) trainyard endpoint', '(b) bare node:http')} (per round; target >= 0.7)\n`,
);
if (compared) {
  const cpu = (name) => results[name].map((r) => r.cpuUs);
  const cpuRatio = cpu('(a) trainyard endpoint').map((x, i) => x / cpu("(a') compared checkout")[i]);
  process.stdout.write(
    `(a)/(a') req/s = ${ratios('(a) trainyard endpoint', "(a') compared checkout")}, server CPU per request (a)/(a') = ${median(cpuRatio).toFixed(2)} [${Math.min(...cpuRatio).toFixed(2)}–${Math.max(...cpuRatio).toFixed(2)}] (per round; (a') is ${values.compare}, its path: ${compared.path})\n`,
  );
}
process.stdout.write(
  `(a)/(c) req/s = ${ratios('(a) trainyard endpoint', '(c) gunicorn+flask+xgboost')} (per round; target >= 5)\n`,
);
process.stdout.write(
  `(a) at a fixed ${Math.round(peak / 2)} req/s (half its median peak), ${values.duration} s, fixed-rate.mjs (Node, latency from the scheduled time): achieved ${half.rps.toFixed(0)} req/s, p50 ${half.p50.toFixed(2)} ms, p90 ${half.p90.toFixed(2)} ms, p99 ${half.p99.toFixed(2)} ms, max ${half.max.toFixed(2)} ms, ${half.failed} failed (target p99 < 5 ms)\n`,
);
process.stdout.write(
  `(b) at the same fixed rate right after (the machine's floor for that figure): p50 ${halfBare.p50.toFixed(2)} ms, p90 ${halfBare.p90.toFixed(2)} ms, p99 ${halfBare.p99.toFixed(2)} ms, max ${halfBare.max.toFixed(2)} ms, ${halfBare.failed} failed\n`,
);
if (halfCompared)
  process.stdout.write(
    `(a') at the same fixed rate: p50 ${halfCompared.p50.toFixed(2)} ms, p90 ${halfCompared.p90.toFixed(2)} ms, p99 ${halfCompared.p99.toFixed(2)} ms, max ${halfCompared.max.toFixed(2)} ms, ${halfCompared.failed} failed\n`,
  );
process.stdout.write(
  `(a) path: router -> instance over ${lanePath}: ${routed} invocations counted by the router for ${sentToA} sent (wrk counts only completed requests, so a few in flight at each run's end may be counted by the router alone)\n`,
);
// The server stops its instances on SIGTERM; the other servers are killed on exit.
for (const server of [trainyardServer, compared?.server].filter(Boolean)) {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
process.exit(0);
