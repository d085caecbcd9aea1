import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runtime's own programs a job process runs: built-in processors now; algorithms and model servers next. */
export type RuntimeEntryPoint = 'recipe-processor' | 'builtin-algorithm';

/**
 * The built script of a runtime entry point (`dist/entries/<name>.js`), run with the server's node;
 * undefined before a build. From the sources (tests under vitest) it points at the built copy.
 */
export function runtimeEntryPoint(name: RuntimeEntryPoint): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const dist = fileURLToPath(import.meta.url).endsWith('.ts') ? join(here, '..', 'dist') : here;
  const script = join(dist, 'entries', `${name}.js`);
  return existsSync(script) ? script : undefined;
}
