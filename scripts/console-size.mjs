// The web console's production bundle, as built in apps/console/dist: each file's size raw and
// gzip-compressed (zlib level 6), which files the first load needs (index.html and what it links),
// and the totals. `node scripts/console-size.mjs [dist-dir] [--json]`; build-console.mjs prints it
// after each build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const json = args.includes('--json');
const dist =
  args.find((a) => !a.startsWith('--')) ?? fileURLToPath(new URL('../apps/console/dist', import.meta.url));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    // The build's precompressed copies (`.gz`, for the server) are not files of the bundle.
    return path.endsWith('.gz') ? [] : [path];
  });
}

let index;
try {
  index = readFileSync(join(dist, 'index.html'), 'utf8');
} catch {
  console.error(`console-size: no build at ${dist} (run "npm run build -w @trainyard/console")`);
  process.exit(1);
}
// The first load: index.html and the scripts, preloads and styles it links (hashed assets).
const firstLoad = new Set(['index.html']);
for (const m of index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)) firstLoad.add(m[1]);

const rows = files(dist)
  .map((path) => {
    const file = relative(dist, path).split('\\').join('/');
    const body = readFileSync(path);
    return {
      file,
      raw: body.length,
      gzip: gzipSync(body, { level: 6 }).length,
      firstLoad: firstLoad.has(file),
    };
  })
  .sort((a, b) => Number(b.firstLoad) - Number(a.firstLoad) || b.gzip - a.gzip);
const sum = (list, key) => list.reduce((n, r) => n + r[key], 0);
const first = rows.filter((r) => r.firstLoad);
const totals = {
  files: rows.length,
  raw: sum(rows, 'raw'),
  gzip: sum(rows, 'gzip'),
  firstLoadRaw: sum(first, 'raw'),
  firstLoadGzip: sum(first, 'gzip'),
};

if (json) {
  console.log(JSON.stringify({ dist, files: rows, totals }, null, 2));
} else {
  const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
  const width = Math.max(...rows.map((r) => r.file.length), 4);
  console.log(`console bundle (${dist}):`);
  console.log(`  ${'file'.padEnd(width)}  ${'raw'.padStart(10)}  ${'gzip'.padStart(10)}  loaded`);
  for (const r of rows)
    console.log(
      `  ${r.file.padEnd(width)}  ${kb(r.raw).padStart(10)}  ${kb(r.gzip).padStart(10)}  ${r.firstLoad ? 'first load' : 'on demand'}`,
    );
  console.log(
    `  first load: ${kb(totals.firstLoadRaw)} raw, ${kb(totals.firstLoadGzip)} gzip; all ${totals.files} files: ${kb(totals.raw)} raw, ${kb(totals.gzip)} gzip`,
  );
}
