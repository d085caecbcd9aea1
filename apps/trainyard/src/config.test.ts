import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrainyardError } from '@trainyard/contracts/errors';
import { describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

const cwd = mkdtempSync(join(tmpdir(), 'trainyard-config-'));

describe('server config', () => {
  it('defaults to ./trainyard-data, port 7070 on 127.0.0.1, SQLite and files under the data dir', () => {
    const config = loadServerConfig({ env: {}, cwd });
    expect(config).toMatchObject({
      port: 7070,
      host: '127.0.0.1',
      auth: true,
      dataDir: join(cwd, 'trainyard-data'),
    });
    expect(config.metadata).toBe(`sqlite:${join(cwd, 'trainyard-data', 'trainyard.db')}`);
    expect(config.blobs).toBe(`file:${join(cwd, 'trainyard-data', 'blobs')}`);
  });

  it('takes flags over TRAINYARD_* env over trainyard.config.json over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-config-'));
    writeFileSync(
      join(dir, 'trainyard.config.json'),
      JSON.stringify({ port: 8001, dataDir: 'from-file', logLevel: 'warn' }),
    );
    const fileOnly = loadServerConfig({ env: {}, cwd: dir });
    expect(fileOnly).toMatchObject({ port: 8001, dataDir: join(dir, 'from-file'), logLevel: 'warn' });
    const env = { TRAINYARD_PORT: '8002', TRAINYARD_DATA_DIR: '/srv/ty' };
    expect(loadServerConfig({ env, cwd: dir })).toMatchObject({
      port: 8002,
      dataDir: '/srv/ty',
      logLevel: 'warn',
    });
    expect(loadServerConfig({ env, cwd: dir, flags: { port: '8003' } })).toMatchObject({
      port: 8003,
      dataDir: '/srv/ty',
    });
  });

  it('names the field and its source in errors', () => {
    const fromEnv = () => loadServerConfig({ env: { TRAINYARD_PORT: 'seventy' }, cwd });
    expect(fromEnv).toThrow(TrainyardError);
    expect(fromEnv).toThrow(/port \(from env TRAINYARD_PORT\)/);
    expect(() => loadServerConfig({ env: {}, cwd, flags: { port: 70000 } })).toThrow(/port \(from flag\)/);
    expect(() => loadServerConfig({ env: {}, cwd, configFile: 'missing.json' })).toThrow(/does not exist/);
    expect(() => loadServerConfig({ env: {}, cwd, flags: { adminKey: 'short' } })).toThrow(/adminKey/);
  });

  it('refuses to bind a non-loopback address with auth off', () => {
    expect(() => loadServerConfig({ env: {}, cwd, flags: { host: '0.0.0.0', auth: false } })).toThrow(
      /auth off/,
    );
    expect(loadServerConfig({ env: {}, cwd, flags: { host: '127.0.0.1', auth: false } }).auth).toBe(false);
    expect(loadServerConfig({ env: { TRAINYARD_AUTH: 'off' }, cwd }).auth).toBe(false);
    expect(loadServerConfig({ env: {}, cwd, flags: { host: '0.0.0.0' } }).host).toBe('0.0.0.0');
  });
});
