import { mkdirSync } from 'node:fs';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { ColumnSchema, DatasetProfile, ResolvedIngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import { ExpressionSyntaxError } from '@trainyard/contracts/recipe-expression';
import type { FittedRecipe, Recipe, RecipePreview } from '@trainyard/contracts/recipes';
import type { DataEngine, IngestResult, RecipeOutput } from '@trainyard/core/ports/data-engine';
import { ingestFiles } from './duckdb-ingest.js';
import { profileParquet } from './duckdb-profile.js';
import { applyFittedRecipeBatch, fitRecipe, previewRecipe } from './duckdb-recipe.js';
import { pathLiteral, quoteIdent } from './sql-literals.js';

export interface DuckDbEngineOptions {
  /** DuckDB's memory_limit, e.g. "1GB" (default). Work beyond it spills to `tempDirectory`. */
  memoryLimit?: string;
  /** Folder for spilled data; created when missing. */
  tempDirectory: string;
  /** Worker threads (default: DuckDB's choice, the CPU count). */
  threads?: number;
  /**
   * How the operator raises `memoryLimit`, named in out-of-memory errors, e.g.
   * "TRAINYARD_DATA_MEMORY_LIMIT" (default: "the data engine's memory limit").
   */
  memoryLimitSetting?: string;
}

/**
 * The DataEngine on DuckDB: owns one in-process DuckDB instance (in-memory catalog, disk spill)
 * and opens a connection per operation, so concurrent operations do not share temp tables.
 */
export class DuckDbEngine implements DataEngine {
  readonly #instance: DuckDBInstance;
  readonly #config: Record<string, string>;
  readonly #tempDirectory: string;
  readonly #memory: { limit: string; setting: string };
  #closed = false;

  private constructor(
    instance: DuckDBInstance,
    config: Record<string, string>,
    tempDirectory: string,
    memory: { limit: string; setting: string },
  ) {
    this.#instance = instance;
    this.#config = config;
    this.#tempDirectory = tempDirectory;
    this.#memory = memory;
  }

  static async open(options: DuckDbEngineOptions): Promise<DuckDbEngine> {
    mkdirSync(options.tempDirectory, { recursive: true });
    const config: Record<string, string> = {
      memory_limit: options.memoryLimit ?? '1GB',
      temp_directory: options.tempDirectory,
      // Datasets are read from staged local files only; no extension downloads, no HTTP.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    };
    if (options.threads) config.threads = String(options.threads);
    return new DuckDbEngine(await DuckDBInstance.create(':memory:', config), config, options.tempDirectory, {
      limit: config.memory_limit as string,
      setting: options.memoryLimitSetting ?? "the data engine's memory limit",
    });
  }

  /**
   * Runs `work` on a connection of a fresh DuckDB instance that can reach only `readPaths` and
   * `writeDirectories` (and the spill folder): external access off, configuration locked. Recipes
   * run here because their expressions come from users; the parser already refuses anything but
   * expressions, and this holds even if it let something through. The settings are per instance,
   * hence an instance per operation (about 30 ms).
   */
  async withLockedConnection<T>(
    readPaths: string[],
    writeDirectories: string[],
    work: (conn: DuckDBConnection) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new TrainyardError('UNAVAILABLE', 'the data engine is closed');
    const instance = await DuckDBInstance.create(':memory:', this.#config);
    try {
      const conn = await instance.connect();
      try {
        const directories = [this.#tempDirectory, ...writeDirectories].map((d) =>
          d.endsWith('/') ? d : `${d}/`,
        );
        await conn.run(`SET allowed_paths = [${readPaths.map(pathLiteral).join(', ')}]`);
        await conn.run(`SET allowed_directories = [${directories.map(pathLiteral).join(', ')}]`);
        await conn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
        await conn.run('SET enable_external_access = false');
        await conn.run('SET lock_configuration = true');
        return await work(conn);
      } catch (error) {
        throw translateDuckDbError(error, this.#memory);
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  }

  /** Runs `work` on a fresh connection and closes it afterwards. */
  async withConnection<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closed) throw new TrainyardError('UNAVAILABLE', 'the data engine is closed');
    const conn = await this.#instance.connect();
    try {
      return await work(conn);
    } catch (error) {
      throw translateDuckDbError(error, this.#memory);
    } finally {
      conn.closeSync();
    }
  }

  ingest(inputs: string[], options: ResolvedIngestOptions, outPath: string): Promise<IngestResult> {
    return this.withConnection((conn) => ingestFiles(conn, inputs, options, outPath));
  }

  profile(parquetPath: string, schema: ColumnSchema[], target?: string): Promise<DatasetProfile> {
    // More connections run the non-numeric aggregates and a second numeric stream alongside the first.
    return this.withConnection(async (conn) => {
      const more: DuckDBConnection[] = [];
      const connect = async () => {
        const opened = await this.#instance.connect();
        more.push(opened);
        return opened;
      };
      try {
        return await profileParquet(conn, connect, parquetPath, schema, target);
      } finally {
        for (const opened of more) opened.closeSync();
      }
    });
  }

  fitRecipe(
    parquetPath: string,
    schema: ColumnSchema[],
    recipe: Recipe,
    options: { target?: string | undefined; limitRows?: number } = {},
  ): Promise<FittedRecipe> {
    return this.withLockedConnection([parquetPath], [], (conn) =>
      fitRecipe(conn, parquetPath, schema, recipe, options),
    );
  }

  applyRecipe(
    parquetPath: string,
    fitted: FittedRecipe,
    outDir: string,
    options: { onProgress?: (fraction: number) => void } = {},
  ): Promise<RecipeOutput[]> {
    return this.withLockedConnection([parquetPath], [outDir], (conn) =>
      applyFittedRecipeBatch(conn, parquetPath, fitted, outDir, options),
    );
  }

  previewRecipe(
    parquetPath: string,
    schema: ColumnSchema[],
    recipe: Recipe,
    rows: number,
    target?: string,
  ): Promise<RecipePreview> {
    return this.withLockedConnection([parquetPath], [], (conn) =>
      previewRecipe(conn, parquetPath, schema, recipe, rows, target),
    );
  }

  exportFile(
    parquetPath: string,
    outPath: string,
    options: { format: 'csv' | 'jsonl'; header: boolean; firstColumn?: string | undefined },
  ): Promise<void> {
    return this.withConnection(async (conn) => {
      const from = `read_parquet(${pathLiteral(parquetPath)})`;
      const columns = options.firstColumn
        ? `${quoteIdent(options.firstColumn)}, * EXCLUDE (${quoteIdent(options.firstColumn)})`
        : '*';
      // JSON COPY writes one object per line (newline-delimited), as JSON Lines readers expect.
      const format =
        options.format === 'csv' ? `FORMAT csv, HEADER ${options.header ? 'true' : 'false'}` : 'FORMAT json';
      await conn.run(`COPY (SELECT ${columns} FROM ${from}) TO ${pathLiteral(outPath)} (${format})`);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#instance.closeSync();
  }
}

/** DuckDB errors carry their class in the message ("Binder Error: …"); map them to our codes. */
export function translateDuckDbError(
  error: unknown,
  memory: { limit: string; setting: string } = {
    limit: 'its limit',
    setting: "the data engine's memory limit",
  },
): unknown {
  if (!(error instanceof Error)) return error;
  // Out of memory anywhere (also wrapped by a step that named its field) is the operator's to fix.
  const oom = /Out of Memory Error[^\n]*/i.exec(error.message);
  if (oom && !TrainyardError.is(error, 'RESOURCE_EXHAUSTED')) {
    return new TrainyardError(
      'RESOURCE_EXHAUSTED',
      `the data engine ran out of memory (${memory.limit}); raise ${memory.setting}: ${oom[0]}`,
      { setting: memory.setting },
      { cause: error },
    );
  }
  if (error instanceof TrainyardError) return error;
  if (error instanceof ExpressionSyntaxError) {
    return new TrainyardError(
      'INVALID_ARGUMENT',
      `recipe expression: ${error.message}`,
      {},
      { cause: error },
    );
  }
  const message = error.message.split('\n')[0] ?? error.message;
  if (/^Permission Error/i.test(message)) {
    // A locked recipe instance refused to touch something outside the files it was given.
    return new TrainyardError('PERMISSION_DENIED', message, {}, { cause: error });
  }
  if (/^(Binder|Parser|Conversion|Invalid Input|Catalog) Error/i.test(message)) {
    return new TrainyardError('INVALID_ARGUMENT', message, {}, { cause: error });
  }
  return new TrainyardError('INTERNAL', `data engine: ${message}`, {}, { cause: error });
}
