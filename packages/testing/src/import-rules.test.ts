import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tag = `zz-import-rule-probe-${process.pid}`;

/** Throwaway modules, each breaking (or keeping) one rule of .dependency-cruiser.cjs. */
const probes: Record<string, string> = {
  [`packages/core/src/${tag}-driver.ts`]: "import 'pg';\n",
  [`packages/core/src/${tag}-fs.ts`]:
    "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
  [`packages/core/src/${tag}-clean.ts`]:
    "import { randomUUID } from 'node:crypto';\nimport { invalidArgument } from '@trainyard/contracts/errors';\nexport const c = [randomUUID, invalidArgument];\n",
  [`apps/trainyard/src/${tag}-internal.ts`]: "import '../../../packages/adapters/src/sql/sql-errors.js';\n",
  [`apps/trainyard/src/${tag}-unexported.ts`]: "import '@trainyard/adapters/sql/sql-errors';\n",
  [`packages/ml/src/${tag}-platform.ts`]: "import '@trainyard/contracts/errors';\n",
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

async function cruise(files: string[]): Promise<Violation[]> {
  const bin = join(root, 'node_modules', '.bin', 'depcruise');
  const args = [...files, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'];
  // depcruise exits non-zero when it finds violations; the JSON report is on stdout either way.
  const { stdout } = await promisify(execFile)(bin, args, { cwd: root, maxBuffer: 16 << 20 }).catch(
    (error: { stdout?: string }) => {
      if (!error.stdout) throw error;
      return { stdout: error.stdout };
    },
  );
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('import rules (dependency-cruiser, run by npm test)', () => {
  afterAll(() => {
    for (const file of Object.keys(probes)) rmSync(join(root, file), { force: true });
  });

  it('reports each broken tier rule with its name and lets a clean module pass', async () => {
    for (const [file, text] of Object.entries(probes)) writeFileSync(join(root, file), text);
    const violations = await cruise(Object.keys(probes));
    const found = (suffix: string) =>
      violations.filter((v) => v.from.endsWith(`${tag}-${suffix}.ts`)).map((v) => v.rule.name);

    expect(found('driver')).toEqual(['core-no-io-library']);
    expect(found('fs')).toEqual(['core-no-io-builtin']);
    expect(found('internal')).toEqual(['apps-use-adapter-entry-points']);
    expect(found('unexported')).toEqual(['no-unresolvable']);
    expect(found('platform')).toEqual(['ml-imports-nothing-of-the-platform']);
    expect(found('clean')).toEqual([]);
  });
});
