#!/usr/bin/env node
// Datasets bench: ingest+profile and a 6-step recipe on a generated 1M x 30 CSV, Trainyard (DuckDB)
// beside pandas doing the same work in the same run. Each side runs in its own process.
// Build first: npx tsc -b packages/adapters packages/runtime
// Then: node bench/data/run.mjs [--rows 1000000] [--repeat 5]
// Prints medians over the repeats; the two sides alternate which goes first, and ratios are also
// taken per repeat (the two runs next to each other) because other work on a shared machine moves
// both sides' times by tens of percent between minutes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const rows = Number(arg('rows', '1000000'));
const repeat = Number(arg('repeat', '5'));
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
  const work = mkdtempSync(join(out, 'pandas-'));
  try {
    return JSON.parse(
      execFileSync('/usr/bin/python3', [join(here, 'peer.py'), csv, work], { encoding: 'utf8' }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average before: ${load()}`);
const ours = [];
const pandas = [];
for (let i = 0; i < repeat; i++) {
  if (i % 2 === 0) {
    pandas.push(runPandas());
    ours.push(runOurs());
  } else {
    ours.push(runOurs());
    pandas.push(runPandas());
  }
  const o = ours.at(-1);
  const p = pandas.at(-1);
  console.log(
    `run ${i + 1}: trainyard ${o.ingestProfileMs} + ${o.recipeMs} ms (${JSON.stringify(o.phases)}), pandas ${p.ingestProfileMs} + ${p.recipeMs} ms (persisting: +${p.persistMs} + ${p.recipePersistMs} ms)`,
  );
}
console.log(`load average after: ${load()}`);
console.log('trainyard', JSON.stringify(ours.at(-1)));
console.log('pandas   ', JSON.stringify(pandas.at(-1)));
const both = (r) => r.ingestProfileMs + r.recipeMs;
const withPersist = (r) => both(r) + r.persistMs + r.recipePersistMs;
const measures = [
  ['ingest + profile (ms)', (r) => r.ingestProfileMs, (r) => r.ingestProfileMs],
  ['6-step recipe (ms)', (r) => r.recipeMs, (r) => r.recipeMs],
  ['both (ms)', both, both],
  ['both, pandas persisting (ms)', both, withPersist],
  ['peak RSS (MiB)', (r) => r.maxRssMiB, (r) => r.maxRssMiB],
];
console.log(
  `\n${'median of runs'.padEnd(30)}${'trainyard'.padStart(11)}${'pandas'.padStart(11)}${'ratio'.padStart(8)}${'paired'.padStart(8)}`,
);
for (const [name, mine, theirs] of measures) {
  const a = median(ours.map(mine));
  const b = median(pandas.map(theirs));
  const paired = median(ours.map((o, i) => mine(o) / theirs(pandas[i])));
  console.log(
    `${name.padEnd(30)}${String(Math.round(a)).padStart(11)}${String(Math.round(b)).padStart(11)}${(a / b).toFixed(2).padStart(8)}${paired.toFixed(2).padStart(8)}`,
  );
}
console.log('ratio: median ours / median pandas; paired: median of per-run ratios');
console.log(
  `(runRecipe incl. profiling and storing the 3 splits as versions: median ${Math.round(median(ours.map((r) => r.runRecipeMs)))} ms)`,
);
console.log('target: time ratio <= 0.30');
