// Container-kind bench: the same 100-tree depth-6 XGBoost model on 28 features served by each
// kind of model container, instance alone (no router in front), driven by wrk with single-row CSV:
//   built-in   the built-in model server importing `xgboost-model` (the reference)
//   onnx       the built-in server scoring the same trees exported to ONNX (onnxruntime-node)
//   js-hooks   the built-in server around a JS script handler (modelFn/predictFn importing the same model)
//   py-hooks   the Python script handler server around inference.py (xgboost's Booster.inplace_predict)
// Rounds alternate the order; medians and ranges of req/s and p99 are printed with the ratios to
// built-in and the load average. Usage: node bench/containers/run.mjs [--duration 5] [--connections 16] [--rounds 3]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportGbdtOnnx } from '@trainyard/ml/formats/onnx';
import { importXgboostModel } from '@trainyard/ml/formats/xgboost-json';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});
const out = join(here, 'out');
const xgbDir = join(out, 'xgb');
const onnxDir = join(out, 'onnx');
const children = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

const entry = join(root, 'apps/trainyard/dist/entries/model-server.js');
const pyServer = join(root, 'packages/runtime/python/script_handler_server.py');
if (!existsSync(entry)) throw new Error('run "npx tsc -b" first: the model server entry is not built');

// The model: trained once by bench/serving/make_model.py (python3-xgboost).
if (!existsSync(join(xgbDir, 'xgboost-model')))
  execFileSync('/usr/bin/python3', [join(root, 'bench/serving/make_model.py'), xgbDir], { stdio: 'inherit' });
const xgbBytes = readFileSync(join(xgbDir, 'xgboost-model'));
mkdirSync(onnxDir, { recursive: true });
writeFileSync(join(onnxDir, 'model.onnx'), exportGbdtOnnx(importXgboostModel(xgbBytes)));
const row = readFileSync(join(xgbDir, 'row.csv'), 'utf8');
mkdirSync(join(xgbDir, 'code'), { recursive: true });
writeFileSync(
  join(xgbDir, 'code', 'hooks.mjs'),
  `import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { importXgboostModel } from '@trainyard/ml/formats/xgboost-json';
export function modelFn(modelDir) {
  return importXgboostModel(readFileSync(join(modelDir, 'xgboost-model')));
}
export function predictFn(rows, model) {
  return Array.from(model.predict(DenseMatrix.fromRows(rows)));
}
`,
);
writeFileSync(
  join(xgbDir, 'code', 'inference.py'),
  `import os
import xgboost as xgb

def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "xgboost-model"))
    booster.set_param({"nthread": 1})
    return booster

def predict_fn(data, model):
    return model.inplace_predict(data)
`,
);
// wrk finds the model under the repo, where the hooks resolve @trainyard/ml from node_modules.
const codeDir = join(xgbDir, 'code');

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function start(name, command, args, env) {
  const port = await freePort();
  const child = spawn(command, args, {
    env: {
      PATH: '/usr/bin:/bin',
      SAGEMAKER_BIND_TO_PORT: String(port),
      SAGEMAKER_MODEL_SERVER_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/ping`)).ok) {
        const check = await fetch(`${url}/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv', accept: 'text/csv' },
          body: row,
        });
        const text = (await check.text()).trim();
        return { name, url, child, prediction: text };
      }
    } catch {}
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} never answered /ping`);
}

function wrk(url) {
  const script = join(out, 'post.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(row)}\nwrk.headers["Content-Type"] = "text/csv"\nwrk.headers["Accept"] = "text/csv"\n`,
  );
  const text = execFileSync(
    '/usr/bin/wrk',
    [
      '-t2',
      `-c${values.connections}`,
      `-d${values.duration}s`,
      '--latency',
      '-s',
      script,
      `${url}/invocations`,
    ],
    { encoding: 'utf8' },
  );
  const ms = (label) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : Number.NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? '0';
  return { rps, p50: ms('50'), p99: ms('99'), errors: Number(errors) };
}

const node = process.execPath;
const servers = [
  await start('built-in', node, [entry], { SM_MODEL_DIR: xgbDir }),
  await start('onnx', node, [entry], { SM_MODEL_DIR: onnxDir }),
  await start('js-hooks', node, [entry, '--code-dir', codeDir, '--program', 'hooks.mjs'], {
    SM_MODEL_DIR: xgbDir,
  }),
  await start(
    'py-hooks',
    '/usr/bin/python3',
    [pyServer, '--code-dir', codeDir, '--program', 'inference.py'],
    {
      SM_MODEL_DIR: xgbDir,
    },
  ),
];
console.log('predictions of the bench row:', Object.fromEntries(servers.map((s) => [s.name, s.prediction])));

const runs = Object.fromEntries(servers.map((s) => [s.name, []]));
const loads = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const order = r % 2 === 0 ? servers : [...servers].reverse();
  for (const server of order) {
    loads.push(loadavg()[0]);
    runs[server.name].push(wrk(server.url));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
const base = median(runs['built-in'].map((x) => x.rps));
console.log(
  `\nload generator: wrk -t2 -c${values.connections} -d${values.duration}s, ${values.rounds} rounds (order alternating), single-row text/csv, 100-tree depth-6 GBDT on 28 features, each server one process`,
);
console.log(
  `load average (1 min) during the runs: ${range(loads.map((l) => l * 100)).replace(/(\d+)/g, (d) => (Number(d) / 100).toFixed(2))}`,
);
console.log(
  '| container | req/s median (range) | p50 ms median | p99 ms median (range) | non-2xx | req/s vs built-in |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const server of servers) {
  const list = runs[server.name];
  const rps = median(list.map((x) => x.rps));
  console.log(
    `| ${server.name} | ${rps.toFixed(0)} (${range(list.map((x) => x.rps))}) | ${median(list.map((x) => x.p50)).toFixed(2)} | ${median(list.map((x) => x.p99)).toFixed(2)} (${Math.min(...list.map((x) => x.p99)).toFixed(1)}-${Math.max(...list.map((x) => x.p99)).toFixed(1)}) | ${list.reduce((s, x) => s + x.errors, 0)} | ${(rps / base).toFixed(2)} |`,
  );
}
process.exit(0);
