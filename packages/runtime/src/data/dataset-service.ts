import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ColumnSchema,
  type CsvReading,
  type DataFormat,
  type Dataset,
  type DatasetDelivery,
  DatasetName,
  type DatasetProfile,
  type DatasetVersion,
  IngestOptions,
  type Lineage,
  type RejectedRow,
} from '@trainyard/contracts/datasets';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import { platformBucket } from '@trainyard/contracts/platform-namespace';
import type { RecipeInput, RecipePreview } from '@trainyard/contracts/recipes';
import { Recipe } from '@trainyard/contracts/recipes';
import { formatBlobUri, parseBlobUri } from '@trainyard/core/blob/blob-address';
import { settleTypes } from '@trainyard/core/data/column-types';
import { toMonitorConstraints, toMonitorStatistics } from '@trainyard/core/data/model-monitor-baseline';
import type { BlobAddress, BlobStore } from '@trainyard/core/ports/blob-store';
import type { DataEngine } from '@trainyard/core/ports/data-engine';
import type { DatasetStore } from '@trainyard/core/ports/dataset-store';
import type { PageRequest } from '@trainyard/core/ports/metadata-store';
import { DatasetStaging, moveFile, safeName } from './dataset-staging.js';
import { hashFile } from './file-hash.js';

export interface DatasetServiceOptions {
  store: DatasetStore;
  blobs: BlobStore;
  engine: DataEngine;
  /** Local scratch folder: uploads and staged blobs go here, each operation in its own subfolder. */
  workDir: string;
  /** Bucket holding versions, as `s3://<bucket>/datasets/<name>/v<N>/…`. Default "trainyard". */
  bucket?: string;
}

/** What to create a version with; all optional. */
export interface CreateVersionOptions {
  /** How to read the source (format, CSV dialect, malformed-row policy, types, target). */
  ingest?: IngestOptions;
  /** Sets the dataset's description (created on first use). */
  description?: string;
  /** Where the version came from, e.g. `{ parentDataset, parentVersion, jobName }` for job outputs. */
  lineage?: Lineage;
  /** A new version even when a ready one was made from the same bytes and options. */
  force?: boolean;
  /** Set by uploads: see `DatasetVersion.sourceHash`. */
  sourceHash?: string;
}

/** A version's Parquet file on local disk; call `release` when done with it. */
export interface StagedVersion {
  version: DatasetVersion;
  path: string;
  release(): Promise<void>;
}

/** Progress of long operations: a phase name and, when known, the fraction done (0…1). */
export type DataProgress = (event: { phase: string; fraction?: number }) => void;

interface Produced {
  format?: DataFormat;
  schema: ColumnSchema[];
  rowCount: number;
  skippedRows: number;
  rejects: RejectedRow[];
  target?: string | undefined;
  fittedRecipeUri?: string;
  /** Text columns to type as categorical or text by the profile's distinct counts. */
  typedByProfile?: string[];
  csv?: CsvReading;
}

function tampered(found: DatasetVersion, problem: string): TrainyardError {
  return new TrainyardError(
    'FAILED_PRECONDITION',
    `version ${found.version} of dataset "${found.dataset}" failed its integrity check: ${problem}; restore the version's files from a backup or create a new version`,
    { name: found.dataset, version: found.version },
  );
}

/**
 * Datasets with immutable, numbered versions. Every version is one Parquet file in the BlobStore
 * (`s3://trainyard/datasets/<name>/v<N>/data.parquet`) with its profile, SageMaker baseline
 * files (statistics.json, constraints.json) and skipped rows beside it; its schema, row count,
 * content hash and lineage are in the metadata store. Data never passes through JS memory whole:
 * uploads stream to a scratch file, and DuckDB reads and writes files.
 *
 * This is the version lifecycle (reserve, produce, profile, store, complete or fail) and the
 * reads; local files are {@link DatasetStaging}'s and hashing is `file-hash.ts`. It lives in
 * runtime, not core, because it works on files (scratch folders, a hashing worker thread); the
 * pure rules it applies (column typing, Model Monitor baselines, recipes) are in core/data.
 */
export class DatasetService {
  readonly engine: DataEngine;
  readonly #store: DatasetStore;
  readonly #blobs: BlobStore;
  readonly #staging: DatasetStaging;
  readonly #bucket: string;

  constructor(options: DatasetServiceOptions) {
    this.#store = options.store;
    this.#blobs = options.blobs;
    this.engine = options.engine;
    this.#staging = new DatasetStaging(options.blobs, options.workDir);
    this.#bucket = options.bucket ?? platformBucket;
  }

  list(page?: PageRequest): Promise<Page<Dataset>> {
    return this.#store.list(page);
  }

  get(name: string): Promise<Dataset> {
    return this.#store.get(name);
  }

  listVersions(name: string, page?: PageRequest): Promise<Page<DatasetVersion>> {
    return this.#store.listVersions(name, page);
  }

  /** @param version a number or "latest" (the highest ready version) @throws NOT_FOUND */
  getVersion(name: string, version: number | 'latest' = 'latest'): Promise<DatasetVersion> {
    return this.#store.getVersion(name, version);
  }

  async #readyVersion(name: string, version: number | 'latest'): Promise<DatasetVersion> {
    const found = await this.#store.getVersion(name, version);
    if (found.status !== 'ready') {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `version ${found.version} of dataset "${name}" is ${found.status}${found.failure ? `: ${found.failure.message}` : ''}`,
        { name, version: found.version },
      );
    }
    return found;
  }

  async #readJson<T>(uri: string | undefined, what: string): Promise<T> {
    if (!uri) throw new TrainyardError('NOT_FOUND', `this version has no ${what}`);
    const { body } = await this.#blobs.get(parseBlobUri(uri));
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  }

  async getProfile(name: string, version: number | 'latest' = 'latest'): Promise<DatasetProfile> {
    return this.#readJson((await this.#readyVersion(name, version)).profileUri, 'profile');
  }

  /** SageMaker Model Monitor `statistics.json` of a version. */
  async getStatistics(name: string, version: number | 'latest' = 'latest'): Promise<Record<string, unknown>> {
    return this.#readJson((await this.#readyVersion(name, version)).statisticsUri, 'statistics');
  }

  /** SageMaker Model Monitor `constraints.json` suggested for a version. */
  async getConstraints(
    name: string,
    version: number | 'latest' = 'latest',
  ): Promise<Record<string, unknown>> {
    return this.#readJson((await this.#readyVersion(name, version)).constraintsUri, 'constraints');
  }

  /** Rows skipped as malformed while ingesting (the first 10 000), with their line numbers. */
  async getRejects(name: string, version: number | 'latest' = 'latest'): Promise<RejectedRow[]> {
    const found = await this.#readyVersion(name, version);
    return found.rejectsUri ? this.#readJson(found.rejectsUri, 'rejects') : [];
  }

  #versionAddress(name: string, version: number, file: string): BlobAddress {
    return { bucket: this.#bucket, key: `datasets/${name}/v${version}/${file}` };
  }

  async #putJson(address: BlobAddress, value: unknown): Promise<string> {
    await this.#blobs.put(address, JSON.stringify(value), { contentType: 'application/json' });
    return formatBlobUri(address);
  }

  /**
   * Reserves the next version number, lets `produce` write `<dir>/data.parquet`, profiles it
   * and stores everything. A failure marks the version failed (the number is not reused).
   */
  async #createVersion(
    name: string,
    options: CreateVersionOptions,
    produce: (outPath: string, dir: string) => Promise<Produced>,
    onProgress?: DataProgress,
  ): Promise<DatasetVersion> {
    const valid = DatasetName.safeParse(name);
    if (!valid.success)
      throw invalidArgument('name', `"${name}" is not a dataset name: ${valid.error.issues[0]?.message}`);
    await this.#store.ensure(name, options.description ?? '');
    const reserved = await this.#store.reserveVersion(name, options.lineage ?? {});
    const { version } = reserved;
    try {
      return await this.#staging.scratch(async (dir) => {
        const outPath = join(dir, 'data.parquet');
        onProgress?.({ phase: 'ingest' });
        const produced = await produce(outPath, dir);
        onProgress?.({ phase: 'profile' });
        // Hashing overlaps the profile (one JS thread reading the file, DuckDB's scan on its own
        // threads); the file is stored only once both are done, so a failed profile stores nothing.
        const hashed = hashFile(outPath);
        hashed.catch(() => {});
        const profile = await this.engine.profile(outPath, produced.schema, produced.target);
        const schema = settleTypes(produced.schema, profile, produced.typedByProfile ?? []);
        const hashes = await hashed;
        onProgress?.({ phase: 'store' });
        const dataAddress = this.#versionAddress(name, version, 'data.parquet');
        // With MD5 known, the filesystem store renames the file into place instead of copying it.
        const info = await this.#blobs.putFile(dataAddress, outPath, {
          move: true,
          etag: hashes.md5,
          contentType: 'application/vnd.apache.parquet',
        });
        const fields: Parameters<DatasetStore['completeVersion']>[2] = {
          uri: formatBlobUri(dataAddress),
          schema,
          rowCount: produced.rowCount,
          sizeBytes: info.size,
          contentHash: `sha256:${hashes.sha256}`,
          lineage: options.lineage ?? {},
          skippedRows: produced.skippedRows,
          profileUri: await this.#putJson(this.#versionAddress(name, version, 'profile.json'), profile),
          statisticsUri: await this.#putJson(
            this.#versionAddress(name, version, 'statistics.json'),
            toMonitorStatistics(profile),
          ),
          constraintsUri: await this.#putJson(
            this.#versionAddress(name, version, 'constraints.json'),
            toMonitorConstraints(profile),
          ),
        };
        if (produced.format) fields.format = produced.format;
        if (produced.csv) fields.csv = produced.csv;
        if (options.sourceHash) fields.sourceHash = options.sourceHash;
        if (produced.target !== undefined) fields.target = produced.target;
        if (produced.fittedRecipeUri) fields.fittedRecipeUri = produced.fittedRecipeUri;
        if (produced.rejects.length > 0) {
          fields.rejectsUri = await this.#putJson(
            this.#versionAddress(name, version, 'rejects.json'),
            produced.rejects,
          );
        }
        return this.#store.completeVersion(name, version, fields);
      });
    } catch (error) {
      const failure = TrainyardError.is(error)
        ? { code: error.code, message: error.message }
        : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
      await this.#store.failVersion(name, version, failure).catch(() => {});
      throw error;
    }
  }

  #ingestInto(inputs: string[], ingest: IngestOptions | undefined) {
    const parsed = IngestOptions.safeParse(ingest ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidArgument(['options', ...(issue?.path ?? [])].join('.'), issue?.message ?? 'is invalid');
    }
    const options = parsed.data;
    return async (outPath: string): Promise<Produced> => {
      const result = await this.engine.ingest(inputs, options, outPath);
      return { ...result, target: options.target };
    };
  }

  /**
   * Creates a version from a byte stream (an HTTP upload): the stream goes to a scratch file,
   * never into memory. `fileName` gives the format when `ingest.format` is absent.
   * @throws INVALID_ARGUMENT for an empty body, unreadable or malformed data
   */
  async createVersionFromStream(
    name: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options: CreateVersionOptions & { fileName?: string } = {},
  ): Promise<DatasetVersion> {
    return this.#staging.scratch(async (dir) => {
      // "digits.csv.gz" keeps both extensions: the first tells the format, the second the compression.
      const uploaded = safeName(options.fileName ?? '');
      const file = join(dir, `upload${/(\.[^./]+)?\.(gz|zst)$/i.exec(uploaded)?.[0] ?? extname(uploaded)}`);
      await pipeline(Readable.from(body), createWriteStream(file));
      if ((await stat(file)).size === 0)
        throw invalidArgument('body', 'is empty; send the file as the request body');
      const lineage = options.lineage ?? { source: `upload:${safeName(options.fileName ?? 'body')}` };
      // The same bytes read the same way make the same version: hand back the existing one.
      const sourceHash = createHash('sha256')
        .update((await hashFile(file)).sha256)
        .update(JSON.stringify(IngestOptions.safeParse(options.ingest ?? {}).data ?? {}))
        .digest('hex');
      if (!options.force) {
        const existing = await this.#store.findBySource(name, sourceHash).catch(() => undefined);
        if (existing) return existing;
      }
      return this.#createVersion(
        name,
        { ...options, lineage, sourceHash },
        this.#ingestInto([file], options.ingest),
      );
    });
  }

  /**
   * Creates a version from data the platform can reach: `s3://bucket/key` (one object),
   * `s3://bucket/prefix/` (every object under the prefix, one format), `file:/path` (a file, or
   * every file of a folder). This is how a job's output becomes a version: pass
   * `lineage: { parentDataset, parentVersion, jobName }`.
   *
   * @example
   * await datasets.createVersionFromUri('churn-clean', 's3://trainyard/jobs/prep-1/output/clean/', {
   *   ingest: { format: 'csv', target: 'churned' },
   *   lineage: { parentDataset: 'churn', parentVersion: 3, jobName: 'prep-1' },
   * });
   * @throws NOT_FOUND when nothing is at the URI; INVALID_ARGUMENT as for uploads
   */
  async createVersionFromUri(
    name: string,
    uri: string,
    options: CreateVersionOptions = {},
    onProgress?: DataProgress,
  ): Promise<DatasetVersion> {
    const lineage = { source: uri, ...(options.lineage ?? {}) };
    if (uri.startsWith('file:')) {
      const path = resolve(uri.slice('file:'.length).replace(/^\/\/(?=\/)/, ''));
      const files = await this.#staging.localFiles(path);
      return this.#createVersion(
        name,
        { ...options, lineage },
        this.#ingestInto(files, options.ingest),
        onProgress,
      );
    }
    const address = parseBlobUri(uri, 'source');
    return this.#staging.scratch(async (dir) => {
      onProgress?.({ phase: 'stage' });
      const files = await this.#staging.stageObjects(address, dir);
      return this.#createVersion(
        name,
        { ...options, lineage },
        this.#ingestInto(files, options.ingest),
        onProgress,
      );
    });
  }

  /**
   * Stores a Parquet file some engine already wrote (a recipe output) as a new version: no
   * re-parse, only profile and upload. `schema` must describe the file. The file is moved
   * (consumed): pass a scratch file.
   */
  async createVersionFromParquet(
    name: string,
    parquetPath: string,
    produced: {
      schema: ColumnSchema[];
      rowCount: number;
      target?: string | undefined;
      fittedRecipeUri?: string;
    },
    options: CreateVersionOptions = {},
  ): Promise<DatasetVersion> {
    return this.#createVersion(name, options, async (outPath) => {
      await moveFile(parquetPath, outPath);
      return { format: 'parquet', skippedRows: 0, rejects: [], ...produced };
    });
  }

  /** Deletes every blob under `datasets/<prefix>`. */
  async #deleteBlobs(prefix: string): Promise<void> {
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#blobs.list(this.#bucket, {
        prefix: `datasets/${prefix}`,
        ...(pageToken ? { pageToken } : {}),
      });
      keys.push(...page.items.map((i) => i.key));
      pageToken = page.nextPageToken;
    } while (pageToken);
    for (const key of keys) await this.#blobs.delete({ bucket: this.#bucket, key });
  }

  /** Refuses to delete what other versions were made from, naming them. */
  async #refuseIfParent(name: string, version: number | undefined, what: string): Promise<void> {
    const children = (await this.#store.versionsDerivedFrom(name, version)).filter(
      (c) => version !== undefined || c.dataset !== name,
    );
    if (children.length === 0) return;
    const list = children
      .slice(0, 5)
      .map((c) => `${c.dataset} v${c.version}`)
      .join(', ');
    throw new TrainyardError(
      'FAILED_PRECONDITION',
      `${what} is the parent of ${list}${children.length > 5 ? ` and ${children.length - 5} more` : ''}; delete ${children.length === 1 ? 'that version' : 'those versions'} first`,
      { name, ...(version === undefined ? {} : { version }), dependents: children },
    );
  }

  /**
   * Deletes a version's files and marks it deleted (its number is not reused).
   * @throws NOT_FOUND; FAILED_PRECONDITION while it is being created or when versions were made from it
   */
  async deleteVersion(name: string, version: number): Promise<void> {
    const found = await this.#store.getVersion(name, version);
    if (found.status === 'creating') {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `version ${version} of dataset "${name}" is still being created; delete it once it is ready or failed`,
        { name, version },
      );
    }
    await this.#refuseIfParent(name, version, `version ${version} of dataset "${name}"`);
    await this.#deleteBlobs(`${name}/v${version}/`);
    await this.#store.deleteVersion(name, version);
  }

  /**
   * Deletes a dataset, its versions and their files.
   * @throws NOT_FOUND; FAILED_PRECONDITION when another dataset's versions were made from it
   */
  async deleteDataset(name: string): Promise<void> {
    await this.#store.get(name);
    await this.#refuseIfParent(name, undefined, `dataset "${name}"`);
    await this.#deleteBlobs(`${name}/`);
    await this.#store.deleteDataset(name);
  }

  /** A ready version's Parquet file on local disk (in place on the filesystem store). */
  async stageVersion(name: string, version: number | 'latest' = 'latest'): Promise<StagedVersion> {
    const found = await this.#readyVersion(name, version);
    const staged = await this.#staging.stageFile(parseBlobUri(found.uri)).catch((error: unknown) => {
      throw TrainyardError.is(error, 'NOT_FOUND') ? tampered(found, 'its data file is missing') : error;
    });
    try {
      await this.#verify(found, staged.path);
    } catch (error) {
      await staged.release();
      throw error;
    }
    return { version: found, ...staged };
  }

  /**
   * Writes a ready version into `folder` in the delivery's format: `data.parquet` as stored,
   * `data.csv` or `data.jsonl` converted by the engine. Label-first CSV needs the version's target.
   * @throws FAILED_PRECONDITION for label-first delivery of a version without a target
   */
  async deliverVersion(
    name: string,
    version: number | 'latest',
    delivery: DatasetDelivery,
    folder: string,
  ): Promise<{ version: DatasetVersion; path: string; bytes: number }> {
    const staged = await this.stageVersion(name, version);
    try {
      const found = staged.version;
      if (delivery.labelFirst && found.target === undefined) {
        throw new TrainyardError(
          'FAILED_PRECONDITION',
          `ClientError: version ${found.version} of dataset "${name}" has no target column to put first (label_size=1); set a target when creating the version, or ask for text/csv;label_size=0 (no label column)`,
          { name, version: found.version },
        );
      }
      await mkdir(folder, { recursive: true });
      const path = join(folder, `data.${delivery.format}`);
      if (delivery.format === 'parquet') await copyFile(staged.path, path);
      else {
        await this.engine.exportFile(staged.path, path, {
          format: delivery.format,
          header: delivery.header,
          firstColumn: delivery.labelFirst ? found.target : undefined,
        });
      }
      return { version: found, path, bytes: (await stat(path)).size };
    } finally {
      await staged.release();
    }
  }

  /** Files whose hash matched, by identity and change stamp: repeated reads hash only once. */
  readonly #verified = new Map<string, string>();

  /**
   * Versions are immutable: a data file whose size or SHA-256 differs from what was recorded at
   * creation is refused rather than read (FAILED_PRECONDITION naming the version, never a path).
   */
  async #verify(found: DatasetVersion, path: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw tampered(found, 'its data file is missing');
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
    if (this.#verified.get(path) === stamp) return;
    if (info.size !== found.sizeBytes) {
      throw tampered(found, `its data file has ${info.size} bytes, ${found.sizeBytes} were recorded`);
    }
    const { sha256 } = await hashFile(path);
    if (`sha256:${sha256}` !== found.contentHash) {
      throw tampered(found, "its data file's SHA-256 differs from the recorded contentHash");
    }
    if (this.#verified.size >= 10_000) this.#verified.clear();
    this.#verified.set(path, stamp);
  }

  /** Fits and applies a recipe to the first `rows` rows of a version; stores nothing. */
  async previewRecipe(
    name: string,
    version: number | 'latest',
    recipe: RecipeInput,
    rows = 20,
  ): Promise<RecipePreview> {
    const parsed = parseRecipe(recipe);
    const staged = await this.stageVersion(name, version);
    try {
      return await this.engine.previewRecipe(
        staged.path,
        staged.version.schema,
        parsed,
        rows,
        staged.version.target,
      );
    } finally {
      await staged.release();
    }
  }

  /** Puts a JSON document under `s3://<bucket>/<key>` and returns its URI. */
  putDocument(key: string, value: unknown): Promise<string> {
    return this.#putJson({ bucket: this.#bucket, key }, value);
  }

  /** A scratch folder for the duration of `work`, removed afterwards. */
  withScratch<T>(work: (dir: string) => Promise<T>): Promise<T> {
    return this.#staging.scratch(work);
  }
}

/** Validates a recipe, with errors naming the field (`recipe.steps.2.op`, …). */
export function parseRecipe(recipe: unknown): Recipe {
  const parsed = Recipe.safeParse(recipe);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidArgument(['recipe', ...(issue?.path ?? [])].join('.'), issue?.message ?? 'is invalid');
  }
  return parsed.data;
}
