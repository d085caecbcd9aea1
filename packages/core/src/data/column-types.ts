import type { ColumnSchema, ColumnType, DatasetProfile } from '@trainyard/contracts/datasets';

/** The DuckDB/Parquet type a logical type is stored as. */
export const storageTypeOf: Record<ColumnType, string> = {
  numeric: 'DOUBLE',
  integer: 'BIGINT',
  categorical: 'VARCHAR',
  boolean: 'BOOLEAN',
  text: 'VARCHAR',
  datetime: 'TIMESTAMP',
};

/**
 * A string column is categorical when values repeat: at most 1000 distinct values and at most
 * half as many distinct values as rows (so "country" is categorical, names and comments are text).
 */
export function isCategorical(distinct: number, rows: number): boolean {
  return distinct <= 1000 && distinct <= rows * 0.5;
}

/** Maps a DuckDB type name to a logical type; strings need their distinct count to choose. */
export function logicalTypeOf(storageType: string, distinct = 0, rows = 0): ColumnType {
  const t = storageType.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?)$/.test(t) || /^U?INT(8|16|32|64|128)$/.test(t)) return 'integer';
  if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL' || t.startsWith('DECIMAL')) return 'numeric';
  if (t === 'DATE' || t.startsWith('TIMESTAMP') || t === 'TIME') return 'datetime';
  if (t === 'VARCHAR') return isCategorical(distinct, rows) ? 'categorical' : 'text';
  return 'text';
}

/** True for the types that get numeric statistics. */
export function isNumericType(type: ColumnType): boolean {
  return type === 'numeric' || type === 'integer';
}

/**
 * Settles the logical type of the text columns named in `names` (an ingest's `typedByProfile`) as
 * categorical or text by the profile's exact distinct counts; returns the schema and updates the
 * profile's column (and target) types to match.
 */
export function settleTypes(
  schema: ColumnSchema[],
  profile: DatasetProfile,
  names: string[],
): ColumnSchema[] {
  if (names.length === 0) return schema;
  return schema.map((column) => {
    if (!names.includes(column.name)) return column;
    const profiled = profile.columns.find((c) => c.name === column.name);
    const type = logicalTypeOf(column.storageType, profiled?.distinct ?? 0, profile.rowCount);
    if (profiled) profiled.type = type;
    if (profile.target?.name === column.name) profile.target.type = type;
    return { ...column, type };
  });
}
