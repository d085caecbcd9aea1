import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDependency } from '@trainyard/testing/require-dependency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  builtMain,
  requireBuild,
  type ServerProcess,
  startServerProcess,
} from '../testing/server-process.js';

const adminKey = 'client-commands-test-admin-key-0123456789';
const sklearnDigits = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const sklearnCancer = '/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv';

let server: ServerProcess;
let dataDir: string;
/** A working folder whose trainyard.config.json names the server's data folder (and no port). */
let workDir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `workDir` with only PATH, HOME and the given env: no --endpoint unless given. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtMain, ...args], {
      cwd: workDir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const admin = { TRAINYARD_KEY: adminKey };

const ready =
  requireBuild() &&
  requireDependency(
    "scikit-learn's bundled data files",
    () => existsSync(sklearnDigits) && existsSync(sklearnCancer),
    'apt-get install python3-sklearn',
  );

describe.skipIf(!ready)('trainyard CLI against a server process', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trainyard-cli-data-'));
    workDir = mkdtempSync(join(tmpdir(), 'trainyard-cli-work-'));
    writeFileSync(join(workDir, 'trainyard.config.json'), JSON.stringify({ dataDir }));
    server = await startServerProcess([], { TRAINYARD_DATA_DIR: dataDir, TRAINYARD_ADMIN_KEY: adminKey });
  }, 30_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  it('finds a server on any port through <data-dir>/server.json, and --endpoint / TRAINYARD_ENDPOINT win', async () => {
    expect(server.baseUrl).not.toMatch(/:7070$/);
    const found = await cli(['whoami', '--json'], admin);
    expect(found.stderr).toBe('');
    expect(JSON.parse(found.stdout)).toMatchObject({ role: 'admin' });
    const wrong = 'http://127.0.0.1:9';
    const viaEnv = await cli(['whoami'], { ...admin, TRAINYARD_ENDPOINT: wrong });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toMatch(/127\.0\.0\.1:9/);
    const viaFlag = await cli(['whoami', '--endpoint', server.baseUrl], {
      ...admin,
      TRAINYARD_ENDPOINT: wrong,
    });
    expect(viaFlag.code).toBe(0);
  });

  it('creates, lists and deletes an experiment before any run (experiments create|list|delete)', async () => {
    const created = await cli(
      ['experiments', 'create', 'cli-exp', '--description', 'from the CLI', '--json'],
      admin,
    );
    expect(created.stderr).toBe('');
    expect(JSON.parse(created.stdout)).toMatchObject({
      ExperimentName: 'cli-exp',
      Description: 'from the CLI',
    });
    const again = await cli(['experiments', 'create', 'CLI-exp'], admin);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    const listed = await cli(['experiments', 'list', '--json'], admin);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ ExperimentName: 'cli-exp', Runs: 0 }),
    );
    const deleted = await cli(['experiments', 'delete', 'cli-exp'], admin);
    expect(deleted.stdout).toBe('deleted cli-exp\n');
    const missing = await cli(['experiments', 'delete', 'cli-exp'], admin);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('answers whoami for every role, a viewer and an invoker included', async () => {
    for (const role of ['developer', 'viewer', 'invoker']) {
      const created = await cli(['keys', 'create', `k-${role}`, '--role', role, '--json'], admin);
      const { id, secret } = JSON.parse(created.stdout) as { id: string; secret: string };
      const who = await cli(['whoami'], { TRAINYARD_KEY: secret });
      expect(who.stderr).toBe('');
      expect(who.stdout).toMatch(new RegExp(`keyId\\s+${id}\\n`));
      expect(who.stdout).toMatch(new RegExp(`role\\s+${role}\\n$`));
    }
  });

  it('ends quietly when the reader of its output goes away (| head), and tables end with a newline', async () => {
    const up = await cli(['datasets', 'upload', sklearnDigits, '--name', 'digits'], admin);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const table = await cli(['datasets', 'profile', 'digits'], admin);
    expect(table.stdout.endsWith('\n')).toBe(true);
    const piped = await new Promise<Run>((resolve) => {
      const child = spawn(
        'bash',
        [
          '-c',
          `"${process.execPath}" "${builtMain}" datasets profile digits --json | head -c 20; echo " exit=\${PIPESTATUS[0]}"`,
        ],
        { cwd: workDir, env: { PATH: process.env.PATH ?? '', HOME: workDir, ...admin } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toMatch(/ exit=0\n$/);
  });

  it('names the CLI flags, not the API fields, in ingest errors', async () => {
    const rows = ['a,b', ...Array.from({ length: 20 }, (_, i) => `${i},${i}`)];
    rows[3] = '3,3,3';
    const bad = join(workDir, 'bad.csv');
    writeFileSync(bad, `${rows.join('\n')}\n`);
    const malformed = await cli(['datasets', 'upload', bad, '--name', 'bad'], admin);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toBe(
      'error: file: 1 malformed row: line 4: Expected Number of Columns: 2 Found: 3 ' +
        '(use --on-malformed skip to leave them out and keep them for inspection) (INVALID_ARGUMENT)\n',
    );
    const layout = await cli(
      ['datasets', 'upload', sklearnCancer, '--name', 'cancer', '--skip-rows', '0'],
      admin,
    );
    expect(layout.stderr).toMatch(
      /check --delimiter, --header\/--no-header and --skip-rows\) \(INVALID_ARGUMENT\)\n$/,
    );
    const names = await cli(
      ['datasets', 'upload', sklearnCancer, '--name', 'cancer', '--columns', 'a,b'],
      admin,
    );
    expect(names.stderr).toMatch(/^error: --columns: 2 names given for 31 columns/);
  });

  it('logs one access line per request at info, and no stack traces for client errors', async () => {
    const before = server.output().length;
    await cli(['whoami'], admin);
    await cli(['datasets', 'show', 'no-such-dataset'], admin);
    await fetch(`${server.baseUrl}/trainyard?tagging`, { method: 'PUT' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const log = server.output().slice(before);
    const lines = log.split('\n').filter((l) => l.trim() !== '');
    expect(lines.filter((l) => l.includes('GET /api/v1/whoami 200'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('GET /api/v1/datasets/no-such-dataset/versions/latest 404'))).toBe(
      true,
    );
    expect(log).not.toMatch(/incoming request|request completed|"stack"/);
  });
});
