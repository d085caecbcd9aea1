import { afterEach, describe, expect, it, vi } from 'vitest';
import { canImportPython, requireDependency } from './require-dependency.js';

describe('requireDependency', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('passes a present dependency in and out of CI', () => {
    vi.stubEnv('CI', 'true');
    expect(requireDependency('node', () => true, 'it runs this')).toBe(true);
  });

  it('fails under CI=true, naming what to install', () => {
    vi.stubEnv('CI', 'true');
    expect(() =>
      requireDependency(
        'pandas',
        () => canImportPython('surely_not_a_module_x9'),
        'apt-get install python3-pandas',
      ),
    ).toThrow(/pandas is missing; install it: apt-get install python3-pandas/);
    expect(() =>
      requireDependency(
        'the aws CLI',
        () => {
          throw new Error('ENOENT');
        },
        'apt-get install awscli',
      ),
    ).toThrow(/the aws CLI is missing/);
  });

  it('outside CI skips with a visible reason', () => {
    vi.stubEnv('CI', '');
    const printed = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(requireDependency('boto3', () => false, 'apt-get install python3-boto3')).toBe(false);
    expect(String(printed.mock.calls[0]?.[0])).toMatch(/\[skip\].*boto3.*apt-get install python3-boto3/);
  });
});
