// The install step's second half (root `prepare`, after `tsc -b`): builds the web console with
// `npm run build -w @trainyard/console`, so `npm install && npm start` serves it at `/`. A checkout
// without apps/console (or a server-only install) skips it and `/` shows the plain home page.
// After a build it prints each file's raw and gzip size (scripts/console-size.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const manifest = fileURLToPath(new URL('../apps/console/package.json', import.meta.url));
if (!existsSync(manifest)) {
  console.log('build-console: no apps/console here; the server will show its plain home page');
  process.exit(0);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['run', 'build', '-w', '@trainyard/console'], { stdio: 'inherit' });
if (result.status === 0) {
  const size = fileURLToPath(new URL('./console-size.mjs', import.meta.url));
  spawnSync(process.execPath, [size], { stdio: 'inherit' });
}
process.exit(result.status ?? 1);
