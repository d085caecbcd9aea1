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

  const invoke = (body: string, type = 'text/csv', accept?: string) =>
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
      ['1', 'application/x-npy', undefined, 415, 'is not supported'],
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
