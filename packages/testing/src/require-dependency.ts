import { spawnSync } from 'node:child_process';

/** True when `CI` is set to anything but "" / "false" / "0", as CI services set it. */
function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Gate for tests that need something outside node_modules (pandas, the aws CLI, boto3, the build
 * output). Returns true when `check` finds it. When it is missing: under `CI=true` it throws, so
 * the test file fails with `installHint` instead of the tests vanishing as skipped; elsewhere it
 * prints why and returns false, for `it.skipIf(!requireDependency(...))`.
 *
 * @example
 * const pandas = requireDependency('pandas', () => canImportPython('pandas'), 'apt-get install python3-pandas');
 * it.skipIf(!pandas)('runs a pandas script', async () => { ... });
 */
export function requireDependency(name: string, check: () => boolean, installHint: string): boolean {
  let present: boolean;
  try {
    present = check();
  } catch {
    present = false;
  }
  if (present) return true;
  const message = `${name} is missing; install it: ${installHint}`;
  if (inCi()) throw new Error(`${message} (CI is set, so tests that need it fail instead of skipping)`);
  process.stderr.write(`[skip] tests that need ${name} are skipped: ${message}\n`);
  return false;
}

/** True when Debian's `/usr/bin/python3` (where apt puts pandas, boto3, sklearn) imports `module`. */
export function canImportPython(module: string, python = '/usr/bin/python3'): boolean {
  return spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}
