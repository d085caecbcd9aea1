import { z } from 'zod';

/** A dataset's name: lowercase letters, digits and "-", as in SageMaker resource names. */
export const DatasetName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9](-?[a-z0-9])*$/, 'lowercase letters, digits and single "-", e.g. "churn-2024"');

/**
 * Logical column types. `numeric` is a float, `categorical` a string with few distinct values,
 * `text` a free string, `datetime` a date or timestamp.
 */
export const columnTypes = ['numeric', 'integer', 'categorical', 'boolean', 'text', 'datetime'] as const;
export const ColumnType = z.enum(columnTypes);
export type ColumnType = z.infer<typeof ColumnType>;

export const dataFormats = ['csv', 'jsonl', 'parquet'] as const;
export const DataFormat = z.enum(dataFormats);
export type DataFormat = z.infer<typeof DataFormat>;

/** What happens to CSV rows that do not parse (wrong column count, unconvertible values). */
export const MalformedPolicy = z.enum(['fail', 'skip']);
export type MalformedPolicy = z.infer<typeof MalformedPolicy>;

/**
 * How to read a source into a version. Every field is optional: the format comes from the file
 * name, the CSV dialect and the column types are detected.
 */
export const IngestOptions = z
  .object({
    /** Default: from the file extension (.csv/.tsv/.txt, .jsonl/.ndjson/.json, .parquet). */
    format: DataFormat.optional(),
    /** CSV field separator, e.g. "," or "\t"; detected when absent. */
    delimiter: z.string().min(1).max(4).optional(),
    /** CSV quote character; detected when absent. */
    quote: z.string().length(1).optional(),
    /** CSV escape character inside quotes; detected when absent. */
    escape: z.string().length(1).optional(),
    /**
     * Whether the first CSV row (after `skipRows`) names the columns; detected when absent: a row
     * of non-numeric names above rows whose cells are numbers is a header.
     */
    header: z.boolean().optional(),
    /**
     * CSV lines to skip before the header or the data. When absent, up to 10 leading lines that
     * are neither data nor a header (e.g. scikit-learn's "150,4,setosa,versicolor,virginica") are
     * skipped; the version's `csv.skipRows` says how many.
     */
    skipRows: z.number().int().min(0).max(1_000_000).optional(),
    /** Column names, in file order, replacing the header's (or DuckDB's column0, column1, …). */
    columns: z.array(z.string().min(1).max(256)).min(1).max(100_000).optional(),
    /** Malformed CSV rows fail the ingest (default) or are skipped, counted and kept for inspection. */
    onMalformed: MalformedPolicy.default('fail'),
    /** Column types that replace the inferred ones. */
    types: z.record(z.string().min(1), ColumnType).optional(),
    /** The column models learn to predict; must exist. */
    target: z.string().min(1).optional(),
  })
  .strict();
export type IngestOptions = z.input<typeof IngestOptions>;
export type ResolvedIngestOptions = z.output<typeof IngestOptions>;

export const ColumnSchema = z.object({
  name: z.string(),
  type: ColumnType,
  /** The stored Parquet/DuckDB type, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP. */
  storageType: z.string(),
});
export type ColumnSchema = z.infer<typeof ColumnSchema>;

/** Where a version came from: the version and/or the job that produced it. */
export const Lineage = z.object({
  /** The source URI an import read (s3://…, file:…, or "upload:<file name>"). */
  source: z.string().optional(),
  parentDataset: z.string().optional(),
  parentVersion: z.number().int().positive().optional(),
  /** The processing job that wrote it. */
  jobName: z.string().optional(),
  /** The recipe that transformed the parent, by name and SHA-256 of its JSON. */
  recipe: z.object({ name: z.string(), hash: z.string() }).optional(),
  /** Which split of a recipe run this version holds. */
  split: z.enum(['train', 'validation', 'test']).optional(),
});
export type Lineage = z.infer<typeof Lineage>;

export const RejectedRow = z.object({
  /** 1-based physical line of the file where the rejected row starts. */
  line: z.number().int(),
  /** Column the error concerns, when DuckDB names one. */
  column: z.string().optional(),
  error: z.string(),
  /** The raw text of the row. */
  text: z.string(),
});
export type RejectedRow = z.infer<typeof RejectedRow>;

export const CsvReading = z.object({
  delimiter: z.string(),
  /** Lines skipped before the header (or the data). */
  skipRows: z.number().int(),
  header: z.boolean(),
});
export type CsvReading = z.infer<typeof CsvReading>;

export const versionStatuses = ['creating', 'ready', 'failed'] as const;

export const DatasetVersion = z.object({
  dataset: z.string(),
  version: z.number().int().positive(),
  status: z.enum(versionStatuses),
  format: DataFormat.optional(),
  /** The version's Parquet file, e.g. s3://trainyard/datasets/churn/v3/data.parquet. */
  uri: z.string(),
  schema: z.array(ColumnSchema),
  target: z.string().optional(),
  rowCount: z.number().int(),
  /** Size of data.parquet in bytes. */
  sizeBytes: z.number().int(),
  /** "sha256:<hex>" of data.parquet. */
  contentHash: z.string(),
  lineage: Lineage,
  /** Malformed rows skipped under onMalformed=skip; they are kept at `rejectsUri`. */
  skippedRows: z.number().int(),
  rejectsUri: z.string().optional(),
  profileUri: z.string().optional(),
  /** SageMaker Model Monitor baseline files beside the version. */
  statisticsUri: z.string().optional(),
  constraintsUri: z.string().optional(),
  /** The fitted recipe that produced the version (recipe runs only). */
  fittedRecipeUri: z.string().optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  /**
   * SHA-256 of the uploaded or imported bytes and the ingest options: uploading the same file with
   * the same options again returns this version instead of a new one (unless forced).
   */
  sourceHash: z.string().optional(),
  /** How a CSV source was read (given or detected): delimiter, lines skipped, header row. */
  csv: CsvReading.optional(),
  createdAt: z.string(),
});
export type DatasetVersion = z.infer<typeof DatasetVersion>;

export const Dataset = z.object({
  name: z.string(),
  description: z.string(),
  /** Highest ready version; 0 before the first. */
  latestVersion: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Dataset = z.infer<typeof Dataset>;

const NumericSummary = z.object({
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  /** Sample standard deviation (n - 1), as pandas reports it. */
  std: z.number().nullable(),
  sum: z.number().nullable(),
  /**
   * Quantiles keyed "p01", "p25", "p50", …: exact with linear interpolation (numpy's default) up
   * to 16 384 rows; beyond, estimated from a uniform sample of 16 384 values per column.
   */
  quantiles: z.record(z.string(), z.number()),
  /** The 101 percentiles p0…p100 (as `quantiles`; p0/p100 are the exact min/max), for baselines. */
  percentiles: z.array(z.number()),
  /** 10 equal-width bins from min to max; the last bin includes max. */
  histogram: z.array(z.object({ lower: z.number(), upper: z.number(), count: z.number().int() })),
});

export const ColumnProfile = z.object({
  name: z.string(),
  type: ColumnType,
  storageType: z.string(),
  count: z.number().int(),
  missing: z.number().int(),
  distinct: z.number().int(),
  /**
   * True when `distinct` is an estimate (floating columns beyond 100 000 rows with many values:
   * the exact count of values whose hash falls in 1/16 of the hash space, times 16; relative
   * error about 2% or less). Absent when exact.
   */
  distinctApprox: z.boolean().optional(),
  /** min/max of non-numeric columns as text (ISO for datetimes). */
  minText: z.string().nullable().optional(),
  maxText: z.string().nullable().optional(),
  numeric: NumericSummary.optional(),
  /** Most frequent values (categorical, boolean, text), most frequent first. */
  topK: z.array(z.object({ value: z.string(), count: z.number().int() })).optional(),
});
export type ColumnProfile = z.infer<typeof ColumnProfile>;

export const DatasetProfile = z.object({
  rowCount: z.number().int(),
  columns: z.array(ColumnProfile),
  /** Pearson correlations among numeric columns (pairwise complete rows; from a deterministic ~100 000-row sample beyond 100 000 rows). */
  correlations: z.object({ columns: z.array(z.string()), matrix: z.array(z.array(z.number().nullable())) }),
  target: z
    .object({
      name: z.string(),
      type: ColumnType,
      /** Class counts for a categorical/boolean/integer target with ≤ 100 classes. */
      classes: z.array(z.object({ value: z.string(), count: z.number().int() })).optional(),
      /** Histogram for a numeric target. */
      histogram: z
        .array(z.object({ lower: z.number(), upper: z.number(), count: z.number().int() }))
        .optional(),
    })
    .optional(),
  /** Number of full scans DuckDB made over the data to build this profile. */
  passes: z.number().int(),
});
export type DatasetProfile = z.infer<typeof DatasetProfile>;

/**
 * A fix an ingest error suggests, in `details.hints` of the error. The message phrases it for
 * the API (`set onMalformed to "skip"`); other surfaces rewrite that phrase in their own terms
 * (the CLI as `--on-malformed skip`).
 */
export interface OptionHint {
  option: string;
  value: string | number | boolean;
}

/** The API's phrasing of a hint, as it appears in error messages. */
export const optionHintText = (hint: OptionHint) => `set ${hint.option} to ${JSON.stringify(hint.value)}`;

/** Options an error asks the user to check (in `details.check`), as the API phrases them. */
export const checkOptionsText = (options: string[]) =>
  `check ${options.slice(0, -1).join(', ')}${options.length > 1 ? ' and ' : ''}${options[options.length - 1] ?? ''}`;

/**
 * The file a dataset version is delivered as to a job (a processing input's `ContentType`, as
 * SageMaker channels choose with theirs): Parquet as stored, CSV with a header row (pandas'
 * default), CSV without one, optionally with the target column first (the built-in algorithms'
 * convention, `text/csv;label_size=1`), or JSON Lines.
 */
export interface DatasetDelivery {
  format: DataFormat;
  /** CSV only. */
  header: boolean;
  /** CSV only: the version's target column comes first. */
  labelFirst: boolean;
}

const parquetTypes = ['application/x-parquet', 'application/vnd.apache.parquet', 'application/parquet'];
const jsonLinesTypes = ['application/jsonlines', 'application/x-jsonlines', 'application/jsonl'];
export const deliveryContentTypes = [
  'text/csv',
  'text/csv;header=absent',
  'text/csv;label_size=1',
  ...jsonLinesTypes,
  ...parquetTypes,
];

/**
 * Reads a content type into a delivery: `text/csv` (header present), `text/csv;header=absent`,
 * `text/csv;label_size=1` (target first, no header unless `header=present`), JSON Lines, Parquet
 * (also when absent). Returns an error message naming the accepted types for anything else.
 */
export function parseDeliveryContentType(contentType: string | undefined): DatasetDelivery | string {
  if (contentType === undefined) return { format: 'parquet', header: false, labelFirst: false };
  const [type = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const param = new Map(params.map((p) => p.split('=').map((x) => x.trim()) as [string, string]));
  if (parquetTypes.includes(type)) return { format: 'parquet', header: false, labelFirst: false };
  if (jsonLinesTypes.includes(type)) return { format: 'jsonl', header: false, labelFirst: false };
  if (type === 'text/csv') {
    const labelSize = param.get('label_size');
    if (labelSize !== undefined && labelSize !== '0' && labelSize !== '1') {
      return `label_size=${labelSize} is not supported; use label_size=1 (one target column first)`;
    }
    const labelFirst = labelSize === '1';
    const header = param.get('header');
    if (header !== undefined && header !== 'present' && header !== 'absent') {
      return `header=${header} is not one of present, absent`;
    }
    return { format: 'csv', header: header ? header === 'present' : !labelFirst, labelFirst };
  }
  return `"${contentType}" is not a content type datasets are delivered as; use one of ${deliveryContentTypes.join(', ')}`;
}
