import type {
  ColumnSchema,
  CsvReading,
  DataFormat,
  DatasetProfile,
  RejectedRow,
  ResolvedIngestOptions,
} from '@trainyard/contracts/datasets';
import type { FittedRecipe, Recipe, RecipePreview } from '@trainyard/contracts/recipes';

export interface IngestResult {
  format: DataFormat;
  schema: ColumnSchema[];
  rowCount: number;
  /** Malformed rows skipped under `onMalformed: 'skip'` (all of them, counted). */
  skippedRows: number;
  /** The skipped rows themselves, at most the first 10 000. */
  rejects: RejectedRow[];
  /**
   * Text columns whose logical type (categorical or text, see `isCategorical`) follows from the
   * profile's exact distinct count; `schema` gives them as text until then (`settleTypes`).
   */
  typedByProfile?: string[];
  /** How a CSV source was read. */
  csv?: CsvReading;
}

export interface RecipeOutput {
  /** Present when the recipe ends with a split step. */
  split?: 'train' | 'validation' | 'test';
  /** Local Parquet file written. */
  path: string;
  rowCount: number;
  schema: ColumnSchema[];
}

/**
 * The analytics engine behind datasets: reads, profiles and transforms LOCAL files (callers stage
 * blobs to disk first). Implementations stream out of core: files larger than memory spill to
 * disk, and nothing returns whole tables to JavaScript except previews.
 */
export interface DataEngine {
  /**
   * Reads `inputs` (one format; several files are concatenated) and writes one Parquet file
   * at `outPath` with the inferred (or overridden) column types.
   * @throws INVALID_ARGUMENT for empty files, malformed rows under `fail`, type conflicts of
   * overrides (naming the column and a sample value) and missing target columns
   */
  ingest(inputs: string[], options: ResolvedIngestOptions, outPath: string): Promise<IngestResult>;
  /** Profiles a Parquet file written by `ingest` or `applyRecipe`. */
  profile(parquetPath: string, schema: ColumnSchema[], target?: string): Promise<DatasetProfile>;
  /** Learns a recipe's parameters on a Parquet file (optionally its first `limitRows` rows). */
  fitRecipe(
    parquetPath: string,
    schema: ColumnSchema[],
    recipe: Recipe,
    options?: { target?: string | undefined; limitRows?: number },
  ): Promise<FittedRecipe>;
  /** Applies a fitted recipe in batch, writing one Parquet file per split into `outDir`. */
  applyRecipe(
    parquetPath: string,
    fitted: FittedRecipe,
    outDir: string,
    options?: { onProgress?: (fraction: number) => void },
  ): Promise<RecipeOutput[]>;
  /** Fits and applies a recipe on the first `rows` rows and returns them. */
  previewRecipe(
    parquetPath: string,
    schema: ColumnSchema[],
    recipe: Recipe,
    rows: number,
    target?: string,
  ): Promise<RecipePreview>;
  /**
   * Writes a Parquet file as CSV (with or without a header, `firstColumn` moved first) or JSON
   * Lines, for scripts that do not read Parquet.
   */
  exportFile(
    parquetPath: string,
    outPath: string,
    options: { format: 'csv' | 'jsonl'; header: boolean; firstColumn?: string | undefined },
  ): Promise<void>;
  close(): Promise<void>;
}
