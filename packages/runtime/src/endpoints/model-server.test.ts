import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from './model-server.js';
import { loadServedModel } from './served-model.js';

// Made by python3-xgboost (packages/ml/fixtures/make_fixtures.py): a SageMaker XGBoost-style artifact.
const fixtures = new URL('../../../ml/fixtures/', import.meta.url);
const data = JSON.parse(readFileSync(new URL('data-binary.json', fixtures), 'utf8')) as {
  features: number;
  test: { x: (number | null)[] };
};
const expected = JSON.parse(readFileSync(new URL('xgb-binary.expected.json', fixtures), 'utf8')) as {
  pred: number[];
};

describe('the built-in model server', () => {
  let dir: string;
  let base: string;
  let close: () => void;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'model-server-'));
    copyFileSync(new URL('xgb-binary.model.json', fixtures), join(dir, 'xgboost-model'));
    const { server } = await startModelServer({ modelDir: dir, port: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => {
    close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const invoke = (body: string | Uint8Array, type = 'text/csv', accept?: string) =>
    fetch(`${base}/invocations`, {
      method: 'POST',
      headers: { 'content-type': type, ...(accept ? { accept } : {}) },
      body,
    });

  it('answers /ping and predicts an xgboost-model as python3-xgboost does, empty cells as missing', async () => {
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    const f = data.features;
    const rows = Array.from({ length: 20 }, (_, i) =>
      data.test.x
        .slice(i * f, (i + 1) * f)
        .map((v) => (v === null ? '' : String(v)))
        .join(','),
    );
    expect(rows.some((r) => r.includes(',,') || r.startsWith(',') || r.endsWith(','))).toBe(true);
    const response = await invoke(rows.join('\n'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv');
    const got = (await response.text()).trim().split('\n').map(Number);
    expect(got).toHaveLength(20);
    for (let i = 0; i < 20; i++) expect(Math.abs(got[i]! - expected.pred[i]!)).toBeLessThan(1e-5);

    const json = await invoke(
      JSON.stringify({ instances: [rows[0]!.split(',').map((v) => (v === '' ? null : Number(v)))] }),
      'application/json',
    );
    const parsed = (await json.json()) as { predictions: { score: number }[] };
    expect(parsed.predictions[0]!.score).toBeCloseTo(expected.pred[0]!, 5);
  });

  it('reads application/x-npy bodies written by numpy (C and Fortran order, float32/float64, one row) and names what is wrong in a bad one', async () => {
    // Debian's python3-numpy writes the files: the runtime must read numpy's own output.
    const npy = mkdtempSync(join(tmpdir(), 'npy-'));
    const f = data.features;
    writeFileSync(join(npy, 'x.json'), JSON.stringify(data.test.x.slice(0, 20 * f)));
    execFileSync('/usr/bin/python3', [
      '-c',
      `import json, numpy as np, sys
d = sys.argv[1]
x = np.array([np.nan if v is None else v for v in json.load(open(d + '/x.json'))], dtype=np.float64).reshape(20, ${f})
np.save(d + '/c32.npy', x.astype(np.float32))
np.save(d + '/f64.npy', np.asfortranarray(x))
np.save(d + '/row.npy', x[0])
np.save(d + '/obj.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)
np.save(d + '/wide.npy', np.zeros((2, ${f + 1})))`,
      npy,
    ]);
    const file = (name: string) => readFileSync(join(npy, name));
    for (const name of ['c32.npy', 'f64.npy']) {
      const response = await invoke(file(name), 'application/x-npy', 'text/csv');
      expect(response.status).toBe(200);
      const got = (await response.text()).trim().split('\n').map(Number);
      expect(got).toHaveLength(20);
      for (let i = 0; i < 20; i++) expect(Math.abs(got[i]! - expected.pred[i]!)).toBeLessThan(1e-5);
    }
    // One row, and JSON back when no Accept is given (NPY is read, not written).
    const one = await invoke(file('row.npy'), 'application/x-npy');
    expect(one.headers.get('content-type')).toBe('application/json');
    expect(((await one.json()) as { predictions: { score: number }[] }).predictions[0]!.score).toBeCloseTo(
      expected.pred[0]!,
      5,
    );
    const good = file('c32.npy');
    const cases: [Uint8Array, string][] = [
      [Buffer.from('1,2,3,4'), 'does not start with the NPY magic'],
      [good.subarray(0, 9), 'does not start with the NPY magic'],
      [
        good.subarray(0, good.length - 4),
        `the data is ${good.length - 4 - 128} bytes; shape (20, ${f}) of <f4 needs ${20 * f * 4}`,
      ],
      [
        Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff]), good.subarray(10, 40)]),
        'the header says 65535 bytes',
      ],
      [file('obj.npy'), 'dtype "|O" is not a number type'],
      [file('wide.npy'), `row 1 has ${f + 1} values; the model expects ${f} features`],
      [
        Buffer.from(Buffer.concat([good.subarray(0, 6), Buffer.from([9]), good.subarray(7)])),
        'format version 9',
      ],
    ];
    for (const [body, message] of cases) {
      const response = await invoke(body, 'application/x-npy');
      expect({ status: response.status, text: await response.text() }).toEqual({
        status: 400,
        text: expect.stringContaining(message),
      });
    }
    rmSync(npy, { recursive: true, force: true });
  });

  it('refuses bad input with a status and a message naming the problem', async () => {
    const cases: [string, string, string | undefined, number, string][] = [
      ['1,2', 'text/csv', undefined, 400, `row 1 has 2 values; the model expects ${data.features} features`],
      [
        `x${',1'.repeat(data.features - 1)}`,
        'text/csv',
        undefined,
        400,
        'row 1, column 1: "x" is not a number',
      ],
      ['', 'text/csv', undefined, 400, 'the body is empty'],
      ['1', 'image/png', undefined, 415, 'is not supported'],
      ['1', 'text/csv', 'image/png', 406, 'Accept "image/png" is not supported'],
      ['{"instances": [', 'application/json', undefined, 400, 'the body is not valid JSON'],
      ['{"rows": []}', 'application/json', undefined, 400, 'JSON body must be'],
      ['[["a"]]', 'application/json', undefined, 400, 'row 1 has 1 values'],
    ];
    for (const [body, type, accept, status, message] of cases) {
      const response = await invoke(body, type, accept);
      expect({ status: response.status, text: await response.text() }).toEqual({
        status,
        text: expect.stringContaining(message),
      });
    }
  });

  it('says which file it wanted when the archive holds no model, and refuses the deprecated binary xgboost-model', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'model-empty-'));
    await expect(loadServedModel(empty)).rejects.toThrow('no model.json, xgboost-model or *.onnx');
    writeFileSync(join(empty, 'xgboost-model'), Buffer.from([0x62, 0x69, 0x6e, 0x66]));
    await expect(loadServedModel(empty)).rejects.toThrow(
      "xgboost-model: model: is in XGBoost's deprecated binary format",
    );
    rmSync(empty, { recursive: true, force: true });
  });
});
