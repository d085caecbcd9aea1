import { invalidArgument } from '@trainyard/contracts/errors';
import type { SqlMetadataStore } from './sql-metadata-store.js';

/** The metadata store the entry point opens; apps name it through here, not the internal module. */
export type OpenedMetadataStore = SqlMetadataStore;

const knownSchemes = ['sqlite:', 'postgres://', 'postgresql://'];

/**
 * Opens the metadata store a URI names: `sqlite:<path>` (or `sqlite::memory:`) or
 * `postgres://user@host:port/db[?schema=name]`. Drivers load only when their scheme is used.
 */
export async function openMetadataStore(uri: string): Promise<SqlMetadataStore> {
  if (uri.startsWith('sqlite:')) {
    const { openSqliteMetadataStore } = await import('./sqlite-metadata-store.js');
    return openSqliteMetadataStore(uri.slice('sqlite:'.length) || ':memory:');
  }
  if (uri.startsWith('postgres://') || uri.startsWith('postgresql://')) {
    const { openPostgresMetadataStore } = await import('./postgres-metadata-store.js');
    return openPostgresMetadataStore(uri);
  }
  throw invalidArgument('metadata', `"${uri}" has an unknown scheme; known: ${knownSchemes.join(', ')}`);
}
