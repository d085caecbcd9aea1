import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packDirectory, unpackArchive } from './model-packaging.js';

const dir = mkdtempSync(join(tmpdir(), 'packaging-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packDirectory / unpackArchive', () => {
  it('packs names relative to the folder (no ./), as SageMaker packs model.tar.gz, and unpacks them', async () => {
    const model = join(dir, 'model');
    mkdirSync(join(model, 'code'), { recursive: true });
    writeFileSync(join(model, 'xgboost-model'), '{}');
    writeFileSync(join(model, 'code', 'inference.py'), 'print(1)');
    await packDirectory(model, join(dir, 'model.tar.gz'));
    const names = execFileSync('tar', ['-tzf', join(dir, 'model.tar.gz')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(names).toEqual(['code/', 'code/inference.py', 'xgboost-model']);
    await unpackArchive(join(dir, 'model.tar.gz'), join(dir, 'out'));
    expect(readFileSync(join(dir, 'out', 'code', 'inference.py'), 'utf8')).toBe('print(1)');
  });

  it('packs an empty model folder into an empty archive', async () => {
    mkdirSync(join(dir, 'empty'));
    await packDirectory(join(dir, 'empty'), join(dir, 'empty.tar.gz'));
    expect(execFileSync('tar', ['-tzf', join(dir, 'empty.tar.gz')], { encoding: 'utf8' })).toBe('');
  });
});
