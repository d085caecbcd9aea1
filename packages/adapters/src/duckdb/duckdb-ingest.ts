import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import type {
  ColumnSchema,
  ColumnType,
  CsvReading,
  DataFormat,
  RejectedRow,
  ResolvedIngestOptions,
} from '@trainyard/contracts/datasets';
import { checkOptionsText, optionHintText } from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { logicalTypeOf, storageTypeOf } from '@trainyard/core/data/column-types';
import type { IngestResult } from '@trainyard/core/ports/data-engine';
import {
  detectCsvLayout,
  guessDelimiter,
  inferColumnTypes,
  layoutSampleLines,
  spaceDelimited,
  splitCsvRecords,
  wideColumns,
} from './csv-layout.js';
import { describeQuery, type PlainRow, queryOne, queryRows } from './duckdb-rows.js';
import { pathLiteral, quoteIdent, stringLiteral } from './sql-literals.js';

/** Distinct values per row group up to which a column is dictionary-encoded (see ingestFiles). */
const dictionaryLimit = 16_384;

/** Rejected rows returned to the caller (all of them are counted). */
const maxRejectsKept = 10_000;

const formatByExtension: Record<string, DataFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The format a file name implies, or undefined. `.gz` is looked through. */
export function formatFromName(name: string): DataFormat | undefined {
  const plain = name.toLowerCase().replace(/\.(gz|zst)$/, '');
  return formatByExtension[extname(plain)];
}

/** DuckDB's sniffer prints an unset quote, escape or comment character as "(empty)". */
const sniffedChar = (value: unknown) => (value === null || value === '(empty)' ? '' : String(value));

/**
 * Detects a CSV file's dialect and column types once (DuckDB's sniffer over its sample, as
 * read_csv does) and returns them as explicit read_csv arguments with auto-detection off.
 */
async function sniffCsv(
  conn: DuckDBConnection,
  file: string,
  dialect: string[],
): Promise<{
  args: string[];
  columns: { name: string; storageType: string }[];
  reading: CsvReading;
  quote: string;
  escape: string;
}> {
  const r = await queryOne(
    conn,
    `SELECT * FROM sniff_csv(${[pathLiteral(file), ...dialect, 'ignore_errors=true'].join(', ')})`,
  );
  const columns = ((r.Columns ?? []) as { name: unknown; type: unknown }[]).map((c) => ({
    name: String(c.name),
    storageType: String(c.type),
  }));
  const args = [
    'auto_detect=false',
    `delim=${stringLiteral(sniffedChar(r.Delimiter))}`,
    `quote=${stringLiteral(sniffedChar(r.Quote))}`,
    `escape=${stringLiteral(sniffedChar(r.Escape))}`,
    `new_line=${stringLiteral(String(r.NewLineDelimiter ?? '\\n'))}`,
    `skip=${Number(r.SkipRows ?? 0)}`,
    `comment=${stringLiteral(sniffedChar(r.Comment))}`,
    `header=${r.HasHeader === true}`,
  ];
  if (r.DateFormat) args.push(`dateformat=${stringLiteral(String(r.DateFormat))}`);
  if (r.TimestampFormat) args.push(`timestampformat=${stringLiteral(String(r.TimestampFormat))}`);
  const reading = {
    delimiter: sniffedChar(r.Delimiter),
    skipRows: Number(r.SkipRows ?? 0),
    header: r.HasHeader === true,
  };
  return { args, columns, reading, quote: sniffedChar(r.Quote), escape: sniffedChar(r.Escape) };
}

/** Bytes read from the top of a CSV to decide its layout (enough for a few very wide rows). */
const headBytes = 4 * 1024 * 1024;

/** The first lines of a file as text (gzip looked through); `truncated` when the file goes on. */
async function readHead(path: string): Promise<{ text: string; truncated: boolean }> {
  const raw = createReadStream(path);
  const source = /\.gz$/i.test(path) ? raw.pipe(createGunzip()) : raw;
  const chunks: Buffer[] = [];
  let size = 0;
  let lines = 0;
  let truncated = false;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
      if (size >= headBytes || lines > layoutSampleLines) {
        truncated = true;
        break;
      }
    }
  } finally {
    raw.destroy();
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** DuckDB's default names of header-less columns: column0…column9, or column00… for 10+ columns. */
const defaultColumnName = (index: number, count: number) =>
  `column${String(index).padStart(String(count - 1).length, '0')}`;

/**
 * Reads the dialect, layout and column types of a file wider than `wideColumns` from its first
 * lines in JS: DuckDB's sniffer costs ~20 s on 10 000 columns. Types come from the sample rows
 * (as the sniffer's come from its sample); a later value that does not fit is a malformed row.
 */
function wideCsv(head: { text: string; truncated: boolean }, options: ResolvedIngestOptions) {
  const delimiter = options.delimiter ?? guessDelimiter(head.text, head.truncated) ?? ',';
  const quote = options.quote ?? '"';
  const escapeChar = options.escape ?? '"';
  const records = splitCsvRecords(head.text, { delimiter, quote, escape: escapeChar }, head.truncated).slice(
    0,
    layoutSampleLines,
  );
  const width = Math.max(0, ...records.slice(0, 5).map((r) => r.length));
  if (width <= wideColumns) return undefined;
  const layout = detectCsvLayout(records, { header: options.header, skipRows: options.skipRows });
  const skipRows = layout?.skipRows ?? options.skipRows ?? 0;
  const first = records[skipRows] ?? [];
  const header =
    layout?.header ??
    options.header ??
    (first.every((c) => c.trim() !== '' && !/^[+-]?[\d.]/.test(c)) && new Set(first).size === first.length);
  const data = records.slice(skipRows + (header ? 1 : 0)).filter((r) => r.length === width);
  const types = inferColumnTypes(data, width);
  const columns = types.map((storageType, j) => ({
    name: header ? (first[j] ?? defaultColumnName(j, width)) : defaultColumnName(j, width),
    storageType,
  }));
  const args = [
    'auto_detect=false',
    `delim=${stringLiteral(delimiter)}`,
    `quote=${stringLiteral(quote)}`,
    `escape=${stringLiteral(escapeChar)}`,
    `skip=${skipRows}`,
    `header=${header}`,
  ];
  return { args, columns, reading: { delimiter, skipRows, header }, quote, escape: escapeChar };
}

/**
 * Sniffs the dialect, then decides where the data starts and whether a header names the columns
 * from the first lines (see csv-layout.ts), and sniffs again with that layout so the column types
 * come from data rows only.
 */
async function sniffCsvLayout(conn: DuckDBConnection, file: string, options: ResolvedIngestOptions) {
  const head = await readHead(file);
  const wide = wideCsv(head, options);
  if (wide) return wide;
  const first = await sniffCsv(conn, file, csvDialectArgs(options));
  let delimiter = first.reading.delimiter;
  if (
    options.delimiter === undefined &&
    first.columns.length === 1 &&
    spaceDelimited(head.text, head.truncated)
  ) {
    delimiter = ' ';
  }
  const records = splitCsvRecords(
    head.text,
    { delimiter, quote: first.quote, escape: first.escape },
    head.truncated,
  ).slice(0, layoutSampleLines);
  const layout = detectCsvLayout(records, { header: options.header, skipRows: options.skipRows });
  if (!layout && delimiter === first.reading.delimiter) return first;
  const args = [`delim=${stringLiteral(delimiter)}`];
  if (options.quote !== undefined) args.push(`quote=${stringLiteral(options.quote)}`);
  if (options.escape !== undefined) args.push(`escape=${stringLiteral(options.escape)}`);
  const skipRows = layout?.skipRows ?? options.skipRows;
  if (skipRows !== undefined) args.push(`skip=${skipRows}`);
  const header = layout ? layout.header : options.header;
  if (header !== undefined) args.push(`header=${header}`);
  return sniffCsv(conn, file, args);
}

function csvDialectArgs(options: ResolvedIngestOptions): string[] {
  const args: string[] = [];
  if (options.delimiter !== undefined) args.push(`delim=${stringLiteral(options.delimiter)}`);
  if (options.quote !== undefined) args.push(`quote=${stringLiteral(options.quote)}`);
  if (options.escape !== undefined) args.push(`escape=${stringLiteral(options.escape)}`);
  if (options.header !== undefined) args.push(`header=${options.header}`);
  if (options.skipRows !== undefined) args.push(`skip=${options.skipRows}`);
  return args;
}

/**
 * 1-based physical line numbers of byte offsets in a file, counted by streaming it once (embedded
 * newlines inside quoted fields make DuckDB's record numbers differ from the editor's lines).
 */
async function physicalLines(path: string, offsets: number[]): Promise<Map<number, number>> {
  const wanted = [...new Set(offsets)].sort((a, b) => a - b);
  const lines = new Map<number, number>();
  if (wanted.length === 0) return lines;
  let next = 0;
  let newlines = 0;
  let base = 0;
  const last = wanted[wanted.length - 1] ?? 0;
  const stream = createReadStream(path, { end: Math.max(0, last - 1) });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const end = base + chunk.length;
    while (next < wanted.length && (wanted[next] ?? 0) <= end) {
      const offset = wanted[next] ?? 0;
      let count = newlines;
      for (let i = 0; i < offset - base; i++) if (chunk[i] === 10) count++;
      lines.set(offset, count + 1);
      next++;
    }
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) newlines++;
    base = end;
  }
  for (; next < wanted.length; next++) lines.set(wanted[next] ?? 0, newlines + 1);
  return lines;
}

/**
 * One message for a rejected row: DuckDB reports a row with 31 fields where 4 were expected once
 * per extra field ("Found: 5", "Found: 6", …); only the last of those says what happened.
 */
function rowError(errors: unknown): string {
  const all = (Array.isArray(errors) ? errors : [errors]).map(String);
  const counts = all.filter((e) => e.startsWith('Expected Number of Columns'));
  const others = [...new Set(all.filter((e) => !e.startsWith('Expected Number of Columns')))];
  const lastCount = counts[counts.length - 1];
  return [...others, ...(lastCount ? [lastCount] : [])].join('; ');
}

async function readRejects(
  conn: DuckDBConnection,
  rejectsTable: string,
  scanTable: string,
): Promise<{ count: number; rows: RejectedRow[] }> {
  const { n } = await queryOne(conn, `SELECT count(DISTINCT (file_id, line)) AS n FROM ${rejectsTable}`);
  const count = Number(n ?? 0);
  if (count === 0) return { count, rows: [] };
  // One row can fail several ways (a cast error and a wrong column count); report it once.
  const raw = await queryRows(
    conn,
    `SELECT s.file_path AS path, min(r.line_byte_position) AS pos, first(r.column_name ORDER BY r.byte_position) AS col,
            list(r.error_message ORDER BY r.byte_position) AS errors, first(r.csv_line) AS text, r.line
       FROM ${rejectsTable} r JOIN ${scanTable} s USING (scan_id, file_id)
      GROUP BY s.file_path, r.file_id, r.line ORDER BY r.file_id, r.line LIMIT ${maxRejectsKept}`,
  );
  const byFile = new Map<string, number[]>();
  for (const r of raw) {
    const list = byFile.get(String(r.path)) ?? [];
    // DuckDB's line_byte_position is one past the row's 0-based start offset.
    list.push(Math.max(0, Number(r.pos) - 1));
    byFile.set(String(r.path), list);
  }
  const lineOf = new Map<string, Map<number, number>>();
  for (const [path, offsets] of byFile) lineOf.set(path, await physicalLines(path, offsets));
  const rows = raw.map((r) => {
    const line = lineOf.get(String(r.path))?.get(Math.max(0, Number(r.pos) - 1)) ?? Number(r.line);
    const row: RejectedRow = { line, error: rowError(r.errors), text: String(r.text ?? '') };
    if (r.col !== null && r.col !== undefined) row.column = String(r.col);
    return row;
  });
  return { count, rows };
}

/** Error groups shown in a message, and lines shown per group. */
const groupsShown = 3;
const linesShown = 3;

/**
 * Rejected rows grouped by their error: a file failing one way on every line gives one short
 * sentence ("569 malformed rows: lines 2, 3, 4 and 566 more: Expected Number of Columns: 4 …").
 */
export function describeRejects(count: number, rows: RejectedRow[]): string {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.column ? `column "${r.column}": ` : ''}${r.error}`;
    const lines = groups.get(key) ?? [];
    lines.push(r.line);
    groups.set(key, lines);
  }
  const ordered = [...groups].sort((a, b) => b[1].length - a[1].length);
  const shown = ordered.slice(0, groupsShown).map(([error, lines]) => {
    const more = lines.length - linesShown;
    const list = lines.slice(0, linesShown).join(', ');
    return `line${lines.length === 1 ? '' : 's'} ${list}${more > 0 ? ` and ${more} more` : ''}: ${error}`;
  });
  const listed = ordered.slice(0, groupsShown).reduce((n, [, lines]) => n + lines.length, 0);
  if (count > listed) shown.push(`${count - listed} more with other errors`);
  return `${count} malformed row${count === 1 ? '' : 's'}: ${shown.join('; ')}`;
}

/** The options that decide how a CSV is cut into rows and columns. */
const layoutOptions = ['delimiter', 'header', 'skipRows'];

const readingAdvice = (r: CsvReading | undefined) =>
  r
    ? ` (read with delimiter ${JSON.stringify(r.delimiter)}, ${r.skipRows} line${r.skipRows === 1 ? '' : 's'} skipped, ${r.header ? 'a header row' : 'no header row'}; ${checkOptionsText(layoutOptions)})`
    : '';

const isOutOfMemory = (error: unknown) => /Out of Memory Error/i.test((error as Error)?.message ?? '');

/** The user's column names in place of the detected ones, types kept. */
function renameColumns(
  columns: { name: string; storageType: string }[],
  names: string[],
): { name: string; storageType: string }[] {
  if (names.length !== columns.length) {
    throw invalidArgument(
      'columns',
      `${names.length} name${names.length === 1 ? '' : 's'} given for ${columns.length} columns (detected: ${columns
        .slice(0, 10)
        .map((c) => c.name)
        .join(', ')}${columns.length > 10 ? ', …' : ''})`,
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw invalidArgument('columns', `"${name}" is given twice`);
    seen.add(name);
  }
  return columns.map((c, i) => ({ name: names[i] ?? c.name, storageType: c.storageType }));
}

/**
 * Reads CSV / JSON Lines / Parquet files with DuckDB and writes one snappy Parquet file (zstd level 1
 * and lz4_raw cost as much CPU on the bench data, uncompressed saves ~10% CPU for 35% more bytes); the data
 * streams through DuckDB (COPY … TO), JS only sees the schema, counts and rejected rows.
 */
export async function ingestFiles(
  conn: DuckDBConnection,
  inputs: string[],
  options: ResolvedIngestOptions,
  outPath: string,
): Promise<IngestResult> {
  const first = inputs[0];
  if (first === undefined) throw invalidArgument('source', 'names no files');
  for (const file of inputs) {
    if ((await stat(file)).size === 0) throw invalidArgument('file', `${basename(file)} is empty`);
  }
  const format = options.format ?? formatFromName(first);
  if (!format) {
    throw invalidArgument(
      'format',
      `cannot tell the format of "${basename(first)}" from its name; give one of csv, jsonl, parquet`,
    );
  }
  if (format !== 'csv') {
    for (const option of ['skipRows', 'columns'] as const) {
      if (options[option] !== undefined) throw invalidArgument(option, `applies to CSV only, not ${format}`);
    }
  }
  const files = `[${inputs.map(pathLiteral).join(', ')}]`;
  const overrides = Object.entries(options.types ?? {}) as [string, ColumnType][];
  const suffix = randomUUID().replaceAll('-', '');
  const rejectsTable = `rejects_${suffix}`;
  const scanTable = `reject_scans_${suffix}`;

  let reader = '';
  // The same CSV reader keeping its malformed rows (only needed when the strict read fails).
  let keepingRejects = '';
  let columns: { name: string; storageType: string }[];
  let csv: CsvReading | undefined;
  try {
    if (format === 'csv') {
      // Sniff and hand the detected dialect and types to the reader: read_csv would
      // otherwise sniff the file again.
      const sniffed = await sniffCsvLayout(conn, first, options);
      csv = sniffed.reading;
      columns = sniffed.columns;
      if (options.columns) columns = renameColumns(columns, options.columns);
      const args = [
        files,
        ...sniffed.args,
        `columns={${columns
          .map(
            (c) =>
              `${stringLiteral(c.name)}: ${stringLiteral(
                options.types?.[c.name] ? storageTypeOf[options.types[c.name] as ColumnType] : c.storageType,
              )}`,
          )
          .join(', ')}}`,
      ];
      reader = `read_csv(${args.join(', ')})`;
      keepingRejects = `read_csv(${[
        ...args,
        'store_rejects=true',
        `rejects_table=${stringLiteral(rejectsTable)}`,
        `rejects_scan=${stringLiteral(scanTable)}`,
      ].join(', ')})`;
    } else {
      reader = format === 'jsonl' ? `read_json(${files}, format='auto')` : `read_parquet(${files})`;
      columns = await describeQuery(conn, `SELECT * FROM ${reader}`);
    }
  } catch (error) {
    if (TrainyardError.is(error) || isOutOfMemory(error)) throw error;
    throw new TrainyardError(
      'INVALID_ARGUMENT',
      `file: cannot read as ${format}: ${(error as Error).message.split('\n')[0]}`,
      { field: 'file' },
      { cause: error },
    );
  }
  const names = columns.map((c) => c.name);
  const known = (column: string) => names.includes(column);
  const list = names.map((n) => `"${n}"`).join(', ');
  if (options.target !== undefined && !known(options.target)) {
    throw invalidArgument('target', `column "${options.target}" does not exist; columns: ${list}`);
  }
  for (const [column] of overrides) {
    if (!known(column))
      throw invalidArgument(`types.${column}`, `column "${column}" does not exist; columns: ${list}`);
  }

  // CSV applies overrides while parsing (bad values become malformed rows with line numbers);
  // other formats are checked here so a conflict names the column and a value, not a NULL later.
  const castInSelect = format !== 'csv';
  if (castInSelect && overrides.length > 0) {
    const probes = overrides.map(
      ([c, t]) =>
        `(SELECT ${stringLiteral(c)} AS col, CAST(${quoteIdent(c)} AS VARCHAR) AS value FROM ${reader}
           WHERE ${quoteIdent(c)} IS NOT NULL AND TRY_CAST(${quoteIdent(c)} AS ${storageTypeOf[t]}) IS NULL LIMIT 1)`,
    );
    const conflict = (await queryRows(conn, probes.join(' UNION ALL ')))[0];
    if (conflict) {
      const column = String(conflict.col);
      throw invalidArgument(
        `types.${column}`,
        `value ${JSON.stringify(conflict.value)} of column "${column}" is not ${options.types?.[column]}`,
      );
    }
  }
  const select = columns
    .map((c) => {
      const wanted = options.types?.[c.name];
      const q = quoteIdent(c.name);
      if (wanted && castInSelect) return `TRY_CAST(${q} AS ${storageTypeOf[wanted]}) AS ${q}`;
      // Nested JSON values are kept as JSON text.
      if (/^(STRUCT|MAP|UNION)|\[\]$/.test(c.storageType) || c.storageType === 'JSON') {
        return `CAST(${q} AS VARCHAR) AS ${q}`;
      }
      return q;
    })
    .join(', ');

  // Wide files get no dictionaries: the writer's dictionary state per column ran 10 000 columns
  // out of a 1 GB limit even at a limit of 100 values.
  // DICTIONARY_SIZE_LIMIT counts distinct values per row group (not bytes): 16 384 keeps every
  // column with up to that many values dictionary-encoded (more than DuckDB's dynamic default
  // kept for a 10 000-value integer column), and makes float columns give up on a dictionary
  // sooner: 6–10% less CPU for the COPY at the same file size on the bench data.
  const copy = (from: string) =>
    queryOne(
      conn,
      `COPY (SELECT ${select} FROM ${from}) TO ${pathLiteral(outPath)}
         (FORMAT parquet, COMPRESSION snappy, DICTIONARY_SIZE_LIMIT ${columns.length > wideColumns ? 1 : dictionaryLimit})`,
    );
  try {
    let written: PlainRow;
    let rejects: { count: number; rows: RejectedRow[] } = { count: 0, rows: [] };
    try {
      // Well-formed files (the usual case) are read in strict mode, without the rejects
      // bookkeeping (~20% of the CSV parse); only a file that fails it is read again keeping them.
      try {
        written = await copy(reader);
      } catch (error) {
        if (!keepingRejects || !/CSV Error/i.test((error as Error).message)) throw error;
        written = await copy(keepingRejects);
        rejects = await readRejects(conn, rejectsTable, scanTable);
      }
    } catch (error) {
      if (isOutOfMemory(error)) throw error;
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `file: ${(error as Error).message.split('\n')[0]}`,
        { field: 'file' },
        { cause: error },
      );
    }
    const rowCount = Number(written.Count ?? 0);
    if (rowCount === 0 && rejects.count > 0) {
      // Skipping cannot help here: the dialect or the layout is wrong, so say how it was read.
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `file: every row was rejected, so the version has no data: ${describeRejects(rejects.count, rejects.rows)}${readingAdvice(csv)}`,
        {
          field: 'file',
          malformedRows: rejects.count,
          rejects: rejects.rows.slice(0, 10),
          check: layoutOptions,
        },
      );
    }
    if (rejects.count > rowCount) {
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `file: most rows were rejected (${rejects.count} of ${rejects.count + rowCount}), so the file is probably read wrongly: ${describeRejects(rejects.count, rejects.rows)}${readingAdvice(csv)}`,
        {
          field: 'file',
          malformedRows: rejects.count,
          rejects: rejects.rows.slice(0, 10),
          check: layoutOptions,
        },
      );
    }
    if (rejects.count > 0 && options.onMalformed === 'fail') {
      const hint = { option: 'onMalformed', value: 'skip' } as const;
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `file: ${describeRejects(rejects.count, rejects.rows)} (${optionHintText(hint)} to leave them out and keep them for inspection)`,
        { field: 'file', malformedRows: rejects.count, rejects: rejects.rows.slice(0, 10), hints: [hint] },
      );
    }
    const stored = await describeQuery(conn, `SELECT * FROM read_parquet(${pathLiteral(outPath)})`);
    if (rowCount === 0) throw invalidArgument('file', 'has no data rows');
    // Text columns are categorical or text by their distinct count, which the profile counts
    // exactly (DatasetService settles them): no scan here.
    const typedByProfile: string[] = [];
    const schema: ColumnSchema[] = stored.map((c) => {
      const declared = options.types?.[c.name];
      if (!declared && c.storageType === 'VARCHAR') typedByProfile.push(c.name);
      return {
        name: c.name,
        type: declared ?? (c.storageType === 'VARCHAR' ? 'text' : logicalTypeOf(c.storageType)),
        storageType: c.storageType,
      };
    });
    const result: IngestResult = {
      format,
      schema,
      rowCount,
      skippedRows: rejects.count,
      rejects: rejects.rows,
      typedByProfile,
    };
    if (csv) result.csv = csv;
    return result;
  } catch (error) {
    await rm(outPath, { force: true });
    throw error;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${rejectsTable}; DROP TABLE IF EXISTS ${scanTable}`).catch(() => {});
  }
}
