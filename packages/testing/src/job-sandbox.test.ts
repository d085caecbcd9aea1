import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  handOverWorkdir,
  installBubblewrap,
  type JobIsolation,
  prepareJobIsolation,
  sandboxedCommand,
} from '@trainyard/runtime/jobs/job-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDependency } from './require-dependency.js';

const bubblewrap = requireDependency('bubblewrap', () => existsSync('/usr/bin/bwrap'), installBubblewrap);

/** What a hostile job script tries, printed as one JSON line. */
const probe = `
const fs = require('node:fs');
const data = process.argv[1];
const tryIt = (f) => { try { return String(f()).slice(0, 80); } catch (e) { return 'refused: ' + e.code; } };
console.log(JSON.stringify({
  masterKey: tryIt(() => fs.readFileSync(data + '/master.key', 'utf8')),
  database: tryIt(() => fs.readFileSync(data + '/trainyard.db', 'utf8')),
  listData: tryIt(() => fs.readdirSync(data).join(',')),
  environ: tryIt(() => fs.readFileSync('/proc/1/environ', 'utf8')),
  writeUsr: tryIt(() => fs.writeFileSync('/usr/evil', 'x')),
  writeOwn: tryIt(() => { fs.writeFileSync('out.txt', 'ok'); return 'written'; }),
  hostTmp: tryIt(() => fs.existsSync(process.argv[2])),
  uid: process.getuid(),
}));
`;

describe('job sandbox', () => {
  let dataDir: string;
  let workdir: string;
  let isolation: JobIsolation;
  // A file in the host's /tmp: the sandbox has a private one.
  const marker = join(tmpdir(), `trainyard-sandbox-marker-${process.pid}`);

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'trainyard-sandbox-'));
    writeFileSync(join(dataDir, 'master.key'), 'the-master-key\n', { mode: 0o600 });
    writeFileSync(marker, 'host');
    writeFileSync(join(dataDir, 'trainyard.db'), 'SQLite format 3');
    mkdirSync(join(dataDir, 'blobs'));
    workdir = join(dataDir, 'jobs', 'processing', 'probe');
    mkdirSync(workdir, { recursive: true });
    isolation = prepareJobIsolation({ dataDir });
    handOverWorkdir(isolation, workdir);
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(marker, { force: true });
  });

  const run = () => {
    const command = sandboxedCommand(isolation, workdir, process.execPath, ['-e', probe, dataDir, marker]);
    const result = spawnSync(command.file, command.args, {
      cwd: workdir,
      env: { PATH: '/usr/bin:/bin', HOME: workdir, SECRET_OF_THE_SERVER: 'must-not-leak' },
      encoding: 'utf8',
      ...(command.uid === undefined ? {} : { uid: command.uid, gid: command.gid }),
    });
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
  };

  it('reports the isolation in force, the strongest this machine has', () => {
    expect(isolation.summary).toMatch(/^job isolation: /);
    if (process.getuid?.() === 0) expect(isolation.user?.name).toBe('trainyard-job');
    // Where bubblewrap is installed the sandbox must be in force, nothing weaker.
    if (bubblewrap) expect(isolation.mode).toBe('bubblewrap');
  });

  it.skipIf(!bubblewrap)(
    'hides the data folder, keeps system folders read-only and lets the job write only its folder',
    () => {
      const seen = run();
      expect(seen.masterKey).toMatch(/^refused: E(NOENT|ACCES)/);
      expect(seen.database).toMatch(/^refused: E(NOENT|ACCES)/);
      expect(seen.listData).not.toContain('master.key');
      expect(seen.writeUsr).toMatch(/^refused: E(ROFS|ACCES|PERM)/);
      expect(seen.writeOwn).toBe('written');
      expect(seen.hostTmp).toBe('false');
      // PID 1 of the sandbox is bubblewrap with the job's scrubbed environment, not the server.
      expect(seen.environ).not.toContain('the-master-key');
      if (process.getuid?.() === 0) {
        expect(seen.uid).not.toBe(0);
        expect(statSync(join(workdir, 'out.txt')).uid).toBe(isolation.user?.uid);
      }
    },
  );

  it.skipIf(!bubblewrap)('runs entry scripts of an install folder that lives under /tmp (a CI clone)', () => {
    const install = mkdtempSync(join(tmpdir(), 'trainyard-install-'));
    try {
      chmodSync(install, 0o755);
      writeFileSync(join(install, 'entry.js'), "console.log('ran from the install folder');", {
        mode: 0o644,
      });
      const withInstall: JobIsolation = {
        ...isolation,
        readOnlyPaths: [...isolation.readOnlyPaths, install],
      };
      const command = sandboxedCommand(withInstall, workdir, process.execPath, [join(install, 'entry.js')]);
      const result = spawnSync(command.file, command.args, {
        cwd: workdir,
        env: { PATH: '/usr/bin:/bin', HOME: workdir },
        encoding: 'utf8',
        ...(command.uid === undefined ? {} : { uid: command.uid, gid: command.gid }),
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe('ran from the install folder');
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });

  it('without bubblewrap, as root, still keeps the job user out of the data folder', () => {
    if (process.getuid?.() !== 0) return;
    const fallback: JobIsolation = { ...isolation, mode: 'unprivileged-user', bwrap: undefined };
    const command = sandboxedCommand(fallback, workdir, process.execPath, ['-e', probe, dataDir, marker]);
    const result = spawnSync(command.file, command.args, {
      cwd: workdir,
      env: { PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
      uid: command.uid,
      gid: command.gid,
    });
    const seen = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}');
    expect(seen.masterKey).toBe('refused: EACCES');
    expect(seen.database).toBe('refused: EACCES');
    expect(seen.listData).toBe('refused: EACCES');
    expect(seen.writeOwn).toBe('written');
  });
});
