import { invalidArgument } from '@trainyard/contracts/errors';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from './database.js';
import { SqlMetadataStore } from './sql-metadata-store.js';

const int8Oid = 20;

/**
 * Opens a PostgreSQL metadata store from a `postgres://` URL. A `schema` query parameter
 * (`postgres://host/db?schema=team_a`) keeps Trainyard's tables in that schema, created when missing.
 */
export async function openPostgresMetadataStore(url: string, options: { poolSize?: number } = {}) {
  const { default: pg } = await import('pg');
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw invalidArgument('metadata', `schema "${schema}" must be a lowercase SQL identifier`);
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: options.poolSize ?? 10,
    // Epoch-millisecond columns are bigint; they fit a JS number exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === int8Oid ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
    },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  return new SqlMetadataStore(db, 'postgres', undefined, schema);
}
