#!/usr/bin/env node
// Datasets bench: ingest+profile and a 6-step recipe on a generated 1M x 30 CSV, Trainyard (DuckDB)
// beside pandas doing the same work in the same run. Each side runs in its own process.
// Build first: npx tsc -b packages/adapters packages/runtime
// Then: node bench/data/run.mjs [--rows 1000000] [--repeat 1]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const rows = Number(arg('rows', '1000000'));
const repeat = Number(arg('repeat', '1'));
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const csv = join(out, `bench-${rows}.csv`);

if (!existsSync(csv)) {
  // 20 numeric (n0..n9 with 5% missing), 7 categorical (c0, c1 with 3% missing), 2 integer, a 0/1 label.
  const normal = 'sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())';
  const cols = [];
  for (let i = 0; i < 20; i++) {
    const v = `round(${normal} * ${1 + (i % 4)} + ${i % 3}, 4)`;
    cols.push(i < 10 ? `CASE WHEN random() < 0.05 THEN NULL ELSE ${v} END AS n${i}` : `${v} AS n${i}`);
  }
  [3, 5, 8, 12, 20, 50, 200].forEach((k, i) => {
    const v = `'k' || CAST(floor(random() * ${k}) AS INTEGER)`;
    cols.push(i < 2 ? `CASE WHEN random() < 0.03 THEN NULL ELSE ${v} END AS c${i}` : `${v} AS c${i}`);
  });
  cols.push('CAST(floor(random() * 100) AS INTEGER) AS i0', 'CAST(floor(random() * 10000) AS INTEGER) AS i1');
  cols.push('CAST(random() < 0.3 AS INTEGER) AS label');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run('SELECT setseed(0.42)');
  await conn.run(`COPY (SELECT ${cols.join(', ')} FROM range(${rows})) TO '${csv}' (HEADER, DELIMITER ',')`);
  conn.closeSync();
  instance.closeSync();
}
const mb = statSync(csv).size / 1e6;
console.log(`data: ${csv} (${rows} rows x 30 columns, ${mb.toFixed(0)} MB)`);

function runOurs() {
  const work = mkdtempSync(join(out, 'ours-'));
  try {
    return JSON.parse(execFileSync(process.execPath, [join(here, 'ours.mjs'), csv, work], { encoding: 'utf8' }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
function runPandas() {
  return JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'peer.py'), csv], { encoding: 'utf8' }));
}

const best = (list, key) => Math.min(...list.map((r) => r[key]));
const ours = [];
const pandas = [];
for (let i = 0; i < repeat; i++) {
  pandas.push(runPandas());
  ours.push(runOurs());
}
console.log('trainyard', JSON.stringify(ours.at(-1)));
console.log('pandas   ', JSON.stringify(pandas.at(-1)));
const ratio = (a, b) => (a / b).toFixed(2);
const table = [
  ['ingest + profile (ms)', best(ours, 'ingestProfileMs'), best(pandas, 'ingestProfileMs')],
  ['6-step recipe (ms)', best(ours, 'recipeMs'), best(pandas, 'recipeMs')],
  [
    'both (ms)',
    best(ours, 'ingestProfileMs') + best(ours, 'recipeMs'),
    best(pandas, 'ingestProfileMs') + best(pandas, 'recipeMs'),
  ],
  ['peak RSS (MiB)', best(ours, 'maxRssMiB'), best(pandas, 'maxRssMiB')],
];
console.log(`\n${'measure'.padEnd(24)}${'trainyard'.padStart(11)}${'pandas'.padStart(11)}${'ratio'.padStart(9)}`);
for (const [name, a, b] of table) {
  console.log(`${name.padEnd(24)}${String(a).padStart(11)}${String(b).padStart(11)}${ratio(a, b).padStart(9)}`);
}
console.log(`(runRecipe incl. profiling and storing the 3 splits as versions: ${best(ours, 'runRecipeMs')} ms)`);
console.log('target: time ratio <= 0.30');
