import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../core/random.js';
import { DenseMatrix } from '../data/matrix.js';
import { trainGbdt } from '../gbdt/gbdt.js';
import { exportXgboostJson, importXgboostModel } from './xgboost-json.js';

const dir = mkdtempSync(join(tmpdir(), 'xgb-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs python3-xgboost; a missing package fails the test naming what to install. */
function python(script: string): string {
  const run = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
  if (run.status !== 0) {
    if (/No module named '(xgboost|numpy)'/.test(run.stderr)) {
      throw new Error('this test needs python3-xgboost: apt-get install python3-xgboost');
    }
    throw new Error(run.stderr);
  }
  return run.stdout;
}

function data(n: number, d: number, seed: number): { x: DenseMatrix; y: Float32Array; rows: number[][] } {
  const rng = new Random(seed);
  const rows: number[][] = [];
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: d }, () => rng.next() * 4 - 2);
    if (i % 7 === 0) row[1] = Number.NaN;
    rows.push(row);
    y[i] = Math.sin(row[0]!) + (Number.isNaN(row[1]!) ? 0.5 : row[1]! * 0.3) + (rng.next() - 0.5) * 0.1;
  }
  return { x: DenseMatrix.fromRows(rows), y, rows };
}

const cases = [
  { objective: 'reg:squarederror', label: (v: number) => v },
  { objective: 'binary:logistic', label: (v: number) => (v > 0.2 ? 1 : 0) },
  { objective: 'multi:softprob', label: (v: number) => (v < -0.3 ? 0 : v < 0.6 ? 1 : 2), num_class: '3' },
] as const;

describe('exportXgboostJson', () => {
  for (const c of cases) {
    it(`writes an xgboost-model python3-xgboost 1.7 loads without an extension and predicts the same (${c.objective})`, () => {
      const { x, y, rows } = data(400, 4, 3);
      const labels = Float32Array.from(y, c.label);
      const model = trainGbdt(
        { x, y: labels },
        {
          objective: c.objective,
          num_round: '30',
          max_depth: '4',
          eta: '0.2',
          ...('num_class' in c ? { num_class: c.num_class } : {}),
        },
      );
      const file = join(dir, `xgboost-model-${c.objective.replace(':', '-')}`);
      writeFileSync(file, exportXgboostJson(model));
      writeFileSync(
        `${file}.rows.json`,
        JSON.stringify(rows.map((r) => r.map((v) => (Number.isNaN(v) ? null : v)))),
      );
      const out = python(`
import json, numpy as np, xgboost as xgb
rows = json.load(open(${JSON.stringify(`${file}.rows.json`)}))
x = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float32)
b = xgb.Booster(); b.load_model(${JSON.stringify(file)})
print(json.dumps(b.predict(xgb.DMatrix(x, missing=np.nan)).reshape(-1).tolist()))
`);
      const theirs = JSON.parse(out) as number[];
      const ours = model.predict(x);
      expect(theirs.length).toBe(ours.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('imports xgboost-model files python3-xgboost saved as JSON and as UBJSON', () => {
    const { rows } = data(200, 3, 9);
    writeFileSync(
      join(dir, 'train.json'),
      JSON.stringify(rows.map((r) => r.map((v) => (Number.isNaN(v) ? null : v)))),
    );
    const out = python(`
import json, numpy as np, xgboost as xgb, shutil
rows = json.load(open(${JSON.stringify(join(dir, 'train.json'))}))
x = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float32)
y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(np.float32)
b = xgb.train({'objective': 'binary:logistic', 'max_depth': 3, 'eta': 0.3}, xgb.DMatrix(x, label=y, missing=np.nan), 20)
b.save_model(${JSON.stringify(join(dir, 'm.json'))}); b.save_model(${JSON.stringify(join(dir, 'm.ubj'))})
print(json.dumps(b.predict(xgb.DMatrix(x, missing=np.nan)).tolist()))
`);
    const expected = JSON.parse(out) as number[];
    const x = DenseMatrix.fromRows(rows);
    for (const file of ['m.json', 'm.ubj']) {
      const model = importXgboostModel(readFileSync(join(dir, file)));
      const pred = model.predict(x);
      let worst = 0;
      for (let i = 0; i < pred.length; i++) worst = Math.max(worst, Math.abs(pred[i]! - expected[i]!));
      expect(worst, file).toBeLessThan(1e-5);
    }
  });

  it("refuses XGBoost's deprecated binary format, saying how to convert it", () => {
    expect(() => importXgboostModel(new TextEncoder().encode('binf\0\0\0?'))).toThrow(/save_model/);
  });
});
