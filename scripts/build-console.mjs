// The install step's second half (root `prepare`, after `tsc -b`): builds the web console with
// `npm run build -w @trainyard/console`, so `npm install && npm start` serves it at `/`. A checkout
// without apps/console (or a server-only install) skips it and `/` shows the plain home page.
// After a build it prints each file's raw and gzip size (scripts/console-size.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const manifest = fileURLToPath(new URL('../apps/console/package.json', import.meta.url));
if (!existsSync(manifest)) {
  console.log('build-console: no apps/console here; the server will show its plain home page');
  process.exit(0);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['run', 'build', '-w', '@trainyard/console'], { stdio: 'inherit' });
if (result.status === 0) {
  precompress(fileURLToPath(new URL('../apps/console/dist', import.meta.url)));
  const size = fileURLToPath(new URL('./console-size.mjs', import.meta.url));
  spawnSync(process.execPath, [size], { stdio: 'inherit' });
}
process.exit(result.status ?? 1);

/**
 * Writes `<file>.gz` beside each text file of the build (zlib level 9, once at build time) so the
 * server can answer `Accept-Encoding: gzip` without compressing per request.
 */
function precompress(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) precompress(path);
    else if (['.html', '.js', '.css', '.svg', '.json'].includes(extname(name))) {
      const raw = readFileSync(path);
      const gz = gzipSync(raw, { level: 9 });
      if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
    }
  }
}
