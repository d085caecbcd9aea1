import type { DuckDBConnection } from '@duckdb/node-api';

/** A result row with plain JSON-able values. */
export type PlainRow = Record<string, unknown>;

/**
 * DuckDB's JS values made plain: BIGINT becomes a number (a string beyond 2^53), dates and
 * timestamps ISO strings, MAPs arrays of `{key, value}` with plain members.
 */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}

/** Runs a query and returns all its rows; only for small results (aggregates, previews). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<PlainRow[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => plainValue(row) as PlainRow);
}

/** Runs a query that returns exactly one row. */
export async function queryOne(conn: DuckDBConnection, sql: string): Promise<PlainRow> {
  const rows = await queryRows(conn, sql);
  return rows[0] ?? {};
}

/** Column names and DuckDB types of a query, without running it. */
export async function describeQuery(
  conn: DuckDBConnection,
  sql: string,
): Promise<{ name: string; storageType: string }[]> {
  const rows = await queryRows(conn, `DESCRIBE ${sql}`);
  return rows.map((r) => ({ name: String(r.column_name), storageType: String(r.column_type) }));
}
