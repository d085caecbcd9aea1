import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { exportGbdtOnnx } from '@trainyard/ml/formats/onnx';
import { trainGbdt } from '@trainyard/ml/gbdt/gbdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer } from './model-server.js';
import { loadServedModel } from './served-model.js';

// Made once by packages/runtime/fixtures/make_torch_mlp.py with Debian's python3-torch.
const torchFixture = JSON.parse(
  readFileSync(new URL('../../fixtures/torch-mlp.expected.json', import.meta.url), 'utf8'),
) as { features: number; rows: number[][]; outputs: number[][] };

const ml = JSON.parse(
  readFileSync(new URL('../../../ml/fixtures/data-binary.json', import.meta.url), 'utf8'),
) as { features: number; train: { x: (number | null)[]; y: number[] }; test: { x: (number | null)[] } };

function matrix(x: (number | null)[], cols: number): DenseMatrix {
  return DenseMatrix.fromRowMajor(
    x.map((v) => (v === null ? Number.NaN : v)),
    x.length / cols,
    cols,
  );
}

describe('ONNX models on the built-in model server', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];

  async function serve(files: Record<string, Uint8Array | string>): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-model-'));
    dirs.push(dir);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const { server } = await startModelServer({ modelDir: dir, port: 0 });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const gbdt = trainGbdt(
    { x: matrix(ml.train.x, ml.features), y: ml.train.y },
    { objective: 'binary:logistic', num_round: 20, max_depth: 4 },
  );
  let torchUrl: string;
  let gbdtUrl: string;

  beforeAll(async () => {
    torchUrl = await serve({
      'model.onnx': readFileSync(new URL('../../fixtures/torch-mlp.onnx', import.meta.url)),
    });
    gbdtUrl = await serve({ 'churn.onnx': exportGbdtOnnx(gbdt) });
  });
  afterAll(() => {
    for (const server of servers) server.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the PyTorch MLP: outputs equal what torch computed, one row and a batch, CSV and JSON', async () => {
    const csv = torchFixture.rows.map((r) => r.join(',')).join('\n');
    const response = await fetch(`${torchUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv,
    });
    expect(response.status).toBe(200);
    const got = (await response.text())
      .trim()
      .split('\n')
      .map((line) => line.split(',').map(Number));
    expect(got).toHaveLength(torchFixture.rows.length);
    for (let i = 0; i < got.length; i++)
      for (let k = 0; k < 3; k++)
        expect(Math.abs(got[i]![k]! - torchFixture.outputs[i]![k]!)).toBeLessThan(1e-5);
    const one = await fetch(`${torchUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(torchFixture.rows[0]),
    });
    const body = (await one.json()) as { predictions: { score: number[] }[] };
    expect(body.predictions).toHaveLength(1);
    expect(body.predictions[0]!.score[2]).toBeCloseTo(torchFixture.outputs[0]![2]!, 5);
    const narrow = await fetch(`${torchUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,2,3',
    });
    expect(narrow.status).toBe(400);
    expect(await narrow.text()).toContain('row 1 has 3 values; the model expects 6 features');
  });

  it('serves a @trainyard/ml GBDT export: P(class 1) equals the native model within 1e-5, missing cells included', async () => {
    const x = matrix(ml.test.x, ml.features);
    const native = gbdt.predict(x);
    const rows = Array.from({ length: x.rows }, (_, i) =>
      ml.test.x
        .slice(i * ml.features, (i + 1) * ml.features)
        .map((v) => (v === null ? '' : String(v)))
        .join(','),
    );
    const response = await fetch(`${gbdtUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: rows.join('\n'),
    });
    expect(response.status).toBe(200);
    const got = (await response.text()).trim().split('\n').map(Number);
    expect(got).toHaveLength(x.rows);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - native[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('says what is wrong with an ONNX file it cannot serve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-bad-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'model.onnx'), 'not a protobuf');
    await expect(loadServedModel(dir)).rejects.toThrow('model.onnx: ONNX Runtime cannot load it');
    rmSync(join(dir, 'model.onnx'));
    copyFileSync(new URL('../../fixtures/torch-mlp.onnx', import.meta.url), join(dir, 'a.onnx'));
    copyFileSync(new URL('../../fixtures/torch-mlp.onnx', import.meta.url), join(dir, 'b.onnx'));
    await expect(loadServedModel(dir)).rejects.toThrow('several ONNX files (a.onnx, b.onnx)');
  });
});
