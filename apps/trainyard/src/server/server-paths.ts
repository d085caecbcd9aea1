import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ResolvedServerConfig } from '../config.js';

/**
 * The server's own folders (data folder, SQLite file, blob root) as they may appear in an error
 * message, longest first: with and without symlinks resolved.
 */
export function serverPathsOf(
  config: Pick<ResolvedServerConfig, 'dataDir' | 'metadata' | 'blobs'>,
): string[] {
  const paths = [config.dataDir];
  if (config.metadata.startsWith('sqlite:')) paths.push(config.metadata.slice('sqlite:'.length));
  if (config.blobs.startsWith('file:'))
    paths.push(config.blobs.slice('file:'.length).replace(/^\/\/(?=\/)/, ''));
  const all = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith('/')) continue;
    all.add(path);
    try {
      all.add(realpathSync(path));
    } catch {
      // Not created yet: only the configured spelling can appear.
    }
  }
  return [...all].filter((p) => p.length > 1).sort((a, b) => b.length - a.length);
}

/**
 * Replaces the server's folders in text shown to clients with `<server>`: a caller learns which
 * object or version failed, never where the server keeps its data (or its master key).
 */
export function redactServerPaths(text: string, paths: readonly string[]): string {
  let out = text;
  for (const path of paths) if (out.includes(path)) out = out.split(path).join('<server>');
  return out;
}

/** Host folders whose files describe the running server (its environment, memory, devices). */
const hostInternals = ['/proc', '/sys', '/dev'];

/**
 * Whether a `file:` source (an admin import) points into the server's own folders or the host's
 * process and device files, after following symlinks: `/proc/self/environ` holds the server's
 * environment (a master key given as TRAINYARD_MASTER_KEY), the data folder the master key,
 * the database and every blob.
 */
export function isServerPrivatePath(path: string, serverPaths: readonly string[]): boolean {
  let real = resolve(path);
  try {
    real = realpathSync(real);
  } catch {
    // Missing: judged by the name given; the import then fails as not found.
  }
  return [...serverPaths, ...hostInternals].some((root) => real === root || real.startsWith(`${root}/`));
}
