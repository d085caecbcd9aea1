import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './database.js';
import { SqlMetadataStore } from './sql-metadata-store.js';

/**
 * Opens (creating when needed) a SQLite metadata store. `path` is a file or `:memory:`.
 * WAL journaling with synchronous=NORMAL keeps every committed transaction across a process
 * crash (SIGKILL); only an OS crash or power loss can drop the last ones.
 */
export async function openSqliteMetadataStore(path: string): Promise<SqlMetadataStore> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return new SqlMetadataStore(db, 'sqlite');
}
