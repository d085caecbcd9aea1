/**
 * Where a CSV file's data starts: leading lines that are neither header nor data (scikit-learn's
 * bundled files begin with a line of counts and class names), whether a header row names the
 * columns, and, when nothing else splits the lines, a space delimiter. DuckDB's sniffer decides
 * the header from the first line only and never skips such lines, so a file whose first line is
 * "150,4,setosa,versicolor,virginica" came out with columns named 150, 4, setosa, …
 */

/** Lines read from the top of the file to decide the layout. */
export const layoutSampleLines = 200;

/** Leading lines that may be skipped before the data (more than this and the file is left to DuckDB). */
const maxLeadingLines = 10;

export interface CsvDialect {
  delimiter: string;
  /** Empty: no quoting. */
  quote: string;
  /** Empty: the quote doubled. */
  escape: string;
}

export interface CsvLayout {
  /** Lines before the header (or before the data when there is no header). */
  skipRows: number;
  /** True / false when decided here; undefined leaves it to DuckDB's sniffer (no numeric column to tell by). */
  header: boolean | undefined;
  /** Fields per data row. */
  width: number;
}

/**
 * Splits text into records of fields, honouring quotes (embedded delimiters and newlines) and the
 * escape character. The last record is dropped when `truncated` (it may be cut mid-line).
 */
export function splitCsvRecords(text: string, dialect: CsvDialect, truncated: boolean): string[][] {
  const { delimiter, quote } = dialect;
  const escapeChar = dialect.escape || quote;
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    records.push(fields);
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === escapeChar && escapeChar !== quote && text[i + 1] !== undefined) {
        field += text[i + 1];
        i += 2;
      } else if (ch === quote && text[i + 1] === quote) {
        field += quote;
        i += 2;
      } else if (ch === quote) {
        quoted = false;
        i++;
      } else {
        field += ch;
        i++;
      }
    } else if (quote !== '' && ch === quote && field === '') {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length;
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (!truncated && (field !== '' || fields.length > 0)) endRecord();
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const isNumber = (cell: string) => numberPattern.test(cell.trim());
const isEmpty = (cell: string) => cell.trim() === '';

function modalWidth(records: string[][]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
  let best = 0;
  let bestCount = 0;
  for (const [width, count] of counts) {
    if (count > bestCount || (count === bestCount && width > best)) {
      best = width;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Decides the layout from the first records. The body's column types come from records below
 * the candidate lines; a line is data when it has the body's width, its cells fit the numeric
 * columns, and it is not mostly empty where the body never is (Boston's "506,13,,,,…"). The
 * last non-data line before the data is the header when all its cells are non-numeric names;
 * other non-data lines are skipped. With no numeric column there is nothing to tell a header
 * by, and the sniffer's guess stands.
 * @param given what the user said (`header`, `skipRows`); given values are kept as they are.
 */
export function detectCsvLayout(
  records: string[][],
  given: { header?: boolean | undefined; skipRows?: number | undefined },
): CsvLayout | undefined {
  const n = records.length;
  if (n < 2) return undefined;
  const bodyStart =
    given.skipRows !== undefined
      ? Math.min(n - 1, given.skipRows + 1)
      : Math.min(maxLeadingLines, Math.ceil(n / 2));
  const body = records.slice(bodyStart);
  const width = modalWidth(body);
  const rows = body.filter((r) => r.length === width);
  const numeric: boolean[] = [];
  const nullable: boolean[] = [];
  for (let j = 0; j < width; j++) {
    const cells = rows.map((r) => r[j] ?? '');
    const present = cells.filter((c) => !isEmpty(c));
    numeric.push(present.length > 0 && present.every(isNumber));
    nullable.push(present.length < cells.length);
  }
  const typed = numeric.some(Boolean);
  const isData = (r: string[]) => {
    if (r.length !== width) return false;
    let unexpectedEmpty = 0;
    for (let j = 0; j < width; j++) {
      const cell = r[j] ?? '';
      if (isEmpty(cell)) {
        if (!nullable[j]) unexpectedEmpty++;
      } else if (numeric[j] && !isNumber(cell)) return false;
    }
    return unexpectedEmpty * 2 <= width;
  };
  const isNames = (r: string[]) => typed && r.length === width && r.every((c) => !isEmpty(c) && !isNumber(c));

  if (given.skipRows !== undefined) {
    const first = records[given.skipRows];
    if (given.header !== undefined || first === undefined) {
      return { skipRows: given.skipRows, header: given.header, width };
    }
    return { skipRows: given.skipRows, header: typed ? !isData(first) : undefined, width };
  }
  // "No header" says the first line is data: nothing is skipped unless asked.
  if (given.header === false) return { skipRows: 0, header: false, width };
  let start = 0;
  while (start < Math.min(maxLeadingLines, n) && !isData(records[start] ?? [])) start++;
  if (start >= Math.min(maxLeadingLines, n)) return undefined;
  // The first line fits the data: the sniffer's header guess (or the user's word) stands.
  if (start === 0) return { skipRows: 0, header: given.header, width };
  const before = records[start - 1] ?? [];
  if (given.header === true) return { skipRows: start - 1, header: true, width };
  return isNames(before)
    ? { skipRows: start - 1, header: true, width }
    : { skipRows: start, header: false, width };
}

/**
 * A space delimiter when the given one splits nothing and single spaces split every record into
 * the same number (>1) of fields (scikit-learn's linnerud and diabetes files).
 */
export function spaceDelimited(text: string, truncated: boolean): boolean {
  const records = splitCsvRecords(text, { delimiter: ' ', quote: '"', escape: '' }, truncated);
  if (records.length === 0) return false;
  const width = records[0]?.length ?? 0;
  return width > 1 && records.every((r) => r.length === width);
}

/** Columns beyond which DuckDB's sniffer is skipped: it takes ~20 s on 10 000 columns however few rows. */
export const wideColumns = 1000;

const integerPattern = /^[+-]?\d{1,18}$/;
const booleanPattern = /^(true|false)$/i;

/**
 * DuckDB storage types of columns from sample rows, as the sniffer would give them for plain
 * numbers, booleans and text: BIGINT when every non-empty cell is an integer, DOUBLE when every
 * one is a number, BOOLEAN for true/false, else VARCHAR (an empty column is VARCHAR).
 */
export function inferColumnTypes(rows: string[][], width: number): string[] {
  const types: string[] = [];
  for (let j = 0; j < width; j++) {
    let integer = true;
    let numeric = true;
    let boolean = true;
    let present = 0;
    for (const row of rows) {
      const cell = (row[j] ?? '').trim();
      if (cell === '') continue;
      present++;
      if (integer && !integerPattern.test(cell)) integer = false;
      if (numeric && !isNumber(cell)) numeric = false;
      if (boolean && !booleanPattern.test(cell)) boolean = false;
      if (!integer && !numeric && !boolean) break;
    }
    types.push(
      present === 0 ? 'VARCHAR' : integer ? 'BIGINT' : numeric ? 'DOUBLE' : boolean ? 'BOOLEAN' : 'VARCHAR',
    );
  }
  return types;
}

/**
 * The delimiter among the usual candidates that splits the sample into the most fields, the same
 * number on every record (how a wide file is read without DuckDB's sniffer).
 */
export function guessDelimiter(text: string, truncated: boolean): string | undefined {
  let best: { delimiter: string; width: number } | undefined;
  for (const delimiter of [',', '\t', ';', '|']) {
    const records = splitCsvRecords(text, { delimiter, quote: '"', escape: '' }, truncated).slice(0, 50);
    const width = records[0]?.length ?? 0;
    if (width > 1 && records.every((r) => r.length === width) && width > (best?.width ?? 1)) {
      best = { delimiter, width };
    }
  }
  return best?.delimiter;
}
