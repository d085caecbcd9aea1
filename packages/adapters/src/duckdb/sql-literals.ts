/** SQL text for identifiers and constants embedded in DuckDB statements. */

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function stringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A DOUBLE constant that DuckDB parses to exactly the JS number: exponent notation is read as a
 * DOUBLE (plain `1.25` would be a DECIMAL first).
 */
export function doubleLiteral(value: number): string {
  if (Number.isNaN(value)) return "'NaN'::DOUBLE";
  if (!Number.isFinite(value)) return value > 0 ? "'Infinity'::DOUBLE" : "'-Infinity'::DOUBLE";
  return `(${value.toExponential()})`;
}

/** A constant of any JSON-able kind; numbers become DOUBLE unless `integer`. */
export function valueLiteral(value: unknown, integer = false): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return `${value}::BIGINT`;
  if (typeof value === 'number') {
    return integer && Number.isSafeInteger(value) ? `${value}::BIGINT` : doubleLiteral(value);
  }
  return stringLiteral(String(value));
}

/** A path for read_csv/read_parquet/COPY. */
export function pathLiteral(path: string): string {
  return stringLiteral(path);
}
