import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptHandlerServer } from './instance-command.js';
import { startModelServer } from './model-server.js';
import { loadScriptHandler } from './script-handler.js';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'script-handler-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A model folder with `weights.json` and the given code files under code/. */
function modelFolder(code: Record<string, string>): { modelDir: string; codeDir: string } {
  const modelDir = mkdtempSync(join(scratch, 'model-'));
  writeFileSync(join(modelDir, 'weights.json'), JSON.stringify({ w: [1, 2, 3], b: 0.5 }));
  const codeDir = join(modelDir, 'code');
  mkdirSync(codeDir);
  for (const [name, text] of Object.entries(code)) writeFileSync(join(codeDir, name), text);
  return { modelDir, codeDir };
}

const post = (url: string, body: string | Uint8Array, type: string, accept?: string) =>
  fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': type, ...(accept ? { accept } : {}) },
    body,
  });

describe('TS/JS script handlers (modelFn, inputFn, predictFn, outputFn)', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const { modelDir, codeDir } = modelFolder({
      'inference.mjs': `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
export function modelFn(modelDir) {
  const { w, b } = JSON.parse(readFileSync(join(modelDir, 'weights.json'), 'utf8'));
  return { predict: (rows) => rows.map((r) => r.reduce((s, v, j) => s + v * w[j], b)) };
}
export function predictFn(rows, model) {
  if (rows.some((r) => r.length !== 3)) throw Object.assign(new Error('each row needs 3 values'), { status: 400 });
  if (rows[0][0] === 666) throw new Error('the model broke');
  return model.predict(rows);
}
`,
    });
    const handler = await loadScriptHandler({ modelDir, codeDir, program: 'inference.mjs' });
    ({ server } = await startModelServer({ modelDir, port: 0, handler }));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('runs the hooks with the default input and output: CSV rows in, JSON (the default Accept) or CSV out', async () => {
    const json = await post(url, '1,1,1\n0,0,2', 'text/csv');
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual([6.5, 6.5]);
    const csv = await post(url, '[[1,0,0]]', 'application/json', 'text/csv');
    expect(await csv.text()).toBe('1.5\n');
    // NPY from numpy: rows of numbers for predictFn, as the CSV rows above.
    const npy = execFileSync('/usr/bin/python3', [
      '-c',
      'import io, sys, numpy as np; b = io.BytesIO(); np.save(b, np.array([[1, 1, 1], [0, 0, 2]], dtype=np.float32)); sys.stdout.buffer.write(b.getvalue())',
    ]);
    const fromNpy = await post(url, npy, 'application/x-npy');
    expect(await fromNpy.json()).toEqual([6.5, 6.5]);
    const badNpy = await post(url, npy.subarray(0, npy.length - 1), 'application/x-npy');
    expect(await badNpy.text()).toContain('application/x-npy body: the data is 23 bytes');
  });

  it('answers a hook error with its 4xx status, or 500 with the message; an unknown type with 415', async () => {
    const bad = await post(url, '1,2', 'text/csv');
    expect({ status: bad.status, text: await bad.text() }).toEqual({
      status: 400,
      text: 'predictFn failed: each row needs 3 values',
    });
    const broken = await post(url, '666,1,1', 'text/csv');
    expect(broken.status).toBe(500);
    expect(await broken.text()).toContain('predictFn failed: the model broke');
    const type = await post(url, 'x', 'image/png');
    expect(type.status).toBe(415);
    expect(await type.text()).toContain('not supported by the default inputFn');
  });

  it('refuses a module without modelFn, with snake_case names, or whose modelFn throws, saying which', async () => {
    const load = (code: string) => {
      const { modelDir, codeDir } = modelFolder({ 'inference.mjs': code });
      return loadScriptHandler({ modelDir, codeDir, program: 'inference.mjs' });
    };
    await expect(load('export const x = 1;')).rejects.toThrow('exports no modelFn(modelDir)');
    await expect(load('export function model_fn() {}')).rejects.toThrow(
      'exports model_fn; TS/JS hooks are named modelFn, inputFn, predictFn, outputFn',
    );
    await expect(load('export function modelFn() { throw new Error("no weights"); }')).rejects.toThrow(
      'modelFn failed: no weights',
    );
    const { modelDir, codeDir } = modelFolder({});
    await expect(loadScriptHandler({ modelDir, codeDir, program: 'missing.mjs' })).rejects.toThrow(
      'SAGEMAKER_PROGRAM "missing.mjs" is not in the code directory',
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the Python script handler server; resolves once it listens, or with its exit and stderr. */
async function startPython(
  program: string,
  code: Record<string, string>,
  workers = 1,
): Promise<{ url: string; child: ChildProcess } | { exitCode: number | null; stderr: string }> {
  const { modelDir, codeDir } = modelFolder(code);
  const port = await freePort();
  const child = spawn(
    '/usr/bin/python3',
    [scriptHandlerServer, '--code-dir', codeDir, '--program', program],
    {
      env: {
        PATH: '/usr/bin:/bin',
        SM_MODEL_DIR: modelDir,
        SAGEMAKER_BIND_TO_PORT: String(port),
        SAGEMAKER_MODEL_SERVER_WORKERS: String(workers),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('serving')) resolve({ url: `http://127.0.0.1:${port}`, child });
    });
    child.on('exit', (exitCode) => resolve({ exitCode, stderr }));
  });
}

// Needs Debian's python3 with numpy (python3-numpy), as the script handler server does; no skip.
describe('Python script handlers (model_fn, input_fn, predict_fn, output_fn)', () => {
  let url: string;
  let child: ChildProcess;

  beforeAll(async () => {
    const started = await startPython(
      'inference.py',
      {
        'inference.py': `
import json, os
import numpy as np
from helper import bias

class Linear:
    def __init__(self, w, b):
        self.w, self.b = np.array(w), b
    def predict(self, x):
        if x[0][0] == 666:
            raise RuntimeError("the model broke")
        if x[0][0] == 777:
            return np.array([os.getpid()])
        return x @ self.w + self.b + bias()

def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.json")) as f:
        d = json.load(f)
    return Linear(d["w"], d["b"])
`,
        'helper.py': 'def bias():\n    return 0.0\n',
      },
      2,
    );
    if (!('url' in started)) throw new Error(`the script handler server did not start: ${started.stderr}`);
    ({ url, child } = started);
  });
  afterAll(() => child?.kill());

  it('answers /ping and runs model_fn with the default input_fn, predict_fn and output_fn', async () => {
    expect((await fetch(`${url}/ping`)).status).toBe(200);
    const json = await post(url, '1,1,1\n0,0,2', 'text/csv');
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual([6.5, 6.5]);
    const one = await post(url, '1,0,0', 'text/csv', 'text/csv');
    expect(one.headers.get('content-type')).toBe('text/csv');
    expect((await one.text()).trim()).toBe('1.5');
    const lines = await post(url, '[1,0,0]\n[0,1,0]\n', 'application/jsonlines', 'application/jsonlines');
    expect(await lines.text()).toBe('1.5\n2.5\n');
  });

  it('answers 415 for a type the defaults do not read, 400 for non-numbers, 500 with the message when predict raises', async () => {
    const type = await post(url, 'x', 'image/png');
    expect(type.status).toBe(415);
    expect(await type.text()).toContain("content type 'image/png' is not supported by the default input_fn");
    const cells = await post(url, '[["a", 1, 2]]', 'application/json');
    expect(cells.status).toBe(400);
    const broken = await post(url, '666,1,1', 'text/csv');
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe('RuntimeError: the model broke');
    const empty = await post(url, '', 'text/csv');
    expect(empty.status).toBe(400);
    // A streamed (chunked) body is read too.
    const streamed = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: new Blob(['1,1,1\n', '0,0,2']).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(await streamed.json()).toEqual([6.5, 6.5]);
    const huge = await post(url, '1,1,1\n'.repeat(1_200_000), 'text/csv');
    expect(huge.status).toBe(413);
    expect((await fetch(`${url}/ping`)).status).toBe(200);
  });

  it('exits naming the problem when model_fn raises or transform_fn is combined with input_fn', async () => {
    // One worker, and two (each runs model_fn; the supervisor says why as its last line).
    for (const workers of [1, 2]) {
      const raising = await startPython(
        'inference.py',
        { 'inference.py': 'def model_fn(model_dir):\n    raise ValueError("weights.bin is missing")\n' },
        workers,
      );
      expect(raising).toMatchObject({ exitCode: 1 });
      expect((raising as { stderr: string }).stderr.trim().split('\n').at(-1)).toBe(
        'model_fn failed: ValueError: weights.bin is missing',
      );
    }
    const both = await startPython('serve.py', {
      'serve.py':
        'def model_fn(d):\n    return 1\ndef transform_fn(m, b, c, a):\n    return b\ndef input_fn(b, c):\n    return b\n',
    });
    expect((both as { stderr: string }).stderr).toContain(
      'transform_fn cannot be combined with input_fn: define one or the other',
    );
  });
  it('runs SAGEMAKER_MODEL_SERVER_WORKERS worker processes on one port and stops them all on SIGTERM', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 60 && pids.size < 2; i++) {
      const response = await fetch(`${url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', connection: 'close' },
        body: '777,0,0',
      });
      pids.add(((await response.json()) as number[])[0]!);
    }
    expect(pids.size).toBe(2);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    // Gone, not left running (the supervisor reaps them before it exits).
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `worker ${pid}`).toBe(false);
  });
});
