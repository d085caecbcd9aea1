// Trainyard's side of the data bench, in its own process so its peak RSS is its own.
// node bench/data/ours.mjs <csv> <workdir>  -> one JSON line
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../../packages/adapters/dist/duckdb/duckdb-engine.js';
import { FsBlobStore } from '../../packages/adapters/dist/blob/fs-blob-store.js';
import { DatasetSqlStore } from '../../packages/adapters/dist/sql/dataset-sql-store.js';
import { openSqliteMetadataStore } from '../../packages/adapters/dist/sql/sqlite-metadata-store.js';
import { DatasetService, parseRecipe } from '../../packages/runtime/dist/data/dataset-service.js';
import { runRecipe } from '../../packages/runtime/dist/data/run-recipe.js';

const [csv, work] = process.argv.slice(2);
const recipe = JSON.parse(readFileSync(new URL('./recipe.json', import.meta.url), 'utf8'));
const metadata = await openSqliteMetadataStore(join(work, 'meta.db'));
await metadata.migrate();
const blobs = await new FsBlobStore(join(work, 'blobs')).init();
const engine = await DuckDbEngine.open({ tempDirectory: join(work, 'spill'), memoryLimit: process.env.BENCH_MEMORY_LIMIT ?? '1GB' });
const datasets = new DatasetService({ store: new DatasetSqlStore(metadata.db), blobs, engine, workDir: join(work, 'scratch') });

const ms = (t) => Math.round(performance.now() - t);
// CPU time of the whole process (DuckDB's threads included): less moved by other work on a shared
// machine than wall time, so before/after comparisons of the same side use it too.
const cpuMs = (u) => {
  const d = process.cpuUsage(u);
  return Math.round((d.user + d.system) / 1000);
};
let t = performance.now();
let u = process.cpuUsage();
// The whole version path: CSV -> Parquet, profile (one aggregate scan + value counts + correlation sample)
// with SHA-256 + MD5 (one read) overlapping it, a rename into the blob store, metadata.
const phases = {};
let phase;
let phaseStart = t;
const version = await datasets.createVersionFromUri('bench', `file:${csv}`, { ingest: { target: 'label' } }, (e) => {
  if (phase) phases[phase] = ms(phaseStart);
  phase = e.phase;
  phaseStart = performance.now();
});
phases[phase] = ms(phaseStart);
const ingestProfileMs = ms(t);
const ingestProfileCpuMs = cpuMs(u);

t = performance.now();
u = process.cpuUsage();
// The recipe itself: fit (one aggregate query per fitting step) and one streaming COPY into 3 split files.
const staged = await datasets.stageVersion('bench', version.version);
const fitted = await engine.fitRecipe(staged.path, version.schema, parseRecipe(recipe), { target: 'label' });
const outputs = await engine.applyRecipe(staged.path, fitted, join(work, 'recipe-out'));
const recipeMs = ms(t);
const recipeCpuMs = cpuMs(u);

t = performance.now();
// The same recipe through runRecipe: also profiles and stores each split as a new version.
const run = await runRecipe(datasets, { dataset: 'bench', recipe, output: 'bench-prep' });
const runRecipeMs = ms(t);

await engine.close();
await metadata.close();
console.log(
  JSON.stringify({
    rows: version.rowCount,
    columns: version.schema.length,
    ingestProfileMs,
    ingestProfileCpuMs,
    phases,
    recipeMs,
    recipeCpuMs,
    runRecipeMs,
    splits: Object.fromEntries(outputs.map((o) => [o.split, o.rowCount])),
    outputColumns: outputs[0]?.schema.length,
    storedVersions: run.versions.length,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
