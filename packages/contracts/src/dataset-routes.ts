import { z } from 'zod';
import {
  ColumnType,
  DataFormat,
  Dataset,
  DatasetName,
  DatasetProfile,
  DatasetVersion,
  IngestOptions,
  MalformedPolicy,
  RejectedRow,
} from './datasets.js';
import { PageQuery, pageOf } from './pagination.js';
import { ProcessingJob } from './processing-jobs.js';
import { FittedRecipe, PreviewRecipeBody, RecipePreview, RunRecipeBody } from './recipes.js';
import { defineRoute } from './route.js';

const ByName = z.object({ name: DatasetName });
const ByVersion = z.object({
  name: DatasetName,
  /** A version number or "latest". */
  version: z.union([z.literal('latest'), z.coerce.number().int().positive()]),
});

const OnOff = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * Ingest options of a streaming upload, as query parameters (the body is the file).
 * `types` is a comma list `column:type`, e.g. `age:integer,plan:categorical`.
 */
export const UploadQuery = z
  .object({
    fileName: z.string().max(256).optional(),
    /** A new version even when a ready one was made from the same bytes and options. */
    force: OnOff.optional(),
    description: z.string().max(1024).optional(),
    format: DataFormat.optional(),
    delimiter: z.string().min(1).max(4).optional(),
    quote: z.string().length(1).optional(),
    escape: z.string().length(1).optional(),
    header: OnOff.optional(),
    skipRows: z.coerce.number().int().min(0).max(1_000_000).optional(),
    /** Comma list of column names in file order. */
    columns: z
      .string()
      .max(1_000_000)
      .transform((text) => text.split(',').map((name) => name.trim()))
      .optional(),
    onMalformed: MalformedPolicy.optional(),
    types: z
      .string()
      .max(8192)
      .transform((text, ctx) => {
        const out: Record<string, ColumnType> = {};
        for (const part of text.split(',').filter((p) => p.trim() !== '')) {
          const at = part.lastIndexOf(':');
          const type = ColumnType.safeParse(part.slice(at + 1).trim());
          if (at <= 0 || !type.success) {
            ctx.addIssue({
              code: 'custom',
              message: `"${part}" is not column:type with type one of ${ColumnType.options.join(', ')}`,
            });
            return z.NEVER;
          }
          out[part.slice(0, at).trim()] = type.data;
        }
        return out;
      })
      .optional(),
    target: z.string().min(1).optional(),
  })
  .strict();

export const ImportVersionBody = z
  .object({
    /** `s3://bucket/key`, `s3://bucket/prefix/` (every object under it, one format) or `file:/path`. */
    source: z.string().min(1).max(2048),
    description: z.string().max(1024).optional(),
    options: IngestOptions.default({ onMalformed: 'fail' }),
  })
  .strict();

export const RecipeRunResult = z.object({
  /** New versions, one per split (or one without a split step). */
  versions: z.array(DatasetVersion),
  fittedRecipeUri: z.string(),
  fitted: FittedRecipe,
});

/** Datasets, their versions and profiles, and transform recipes. */
export const datasetRoutes = {
  listDatasets: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets',
    access: 'read',
    summary: 'List datasets',
    tag: 'datasets',
    query: PageQuery,
    response: pageOf(Dataset),
  }),
  getDataset: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name',
    access: 'read',
    summary: 'Describe a dataset',
    tag: 'datasets',
    params: ByName,
    response: Dataset,
  }),
  listDatasetVersions: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions',
    access: 'read',
    summary: 'List the versions of a dataset, newest first',
    tag: 'datasets',
    params: ByName,
    query: PageQuery,
    response: pageOf(DatasetVersion),
  }),
  getDatasetVersion: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions/:version',
    access: 'read',
    summary: 'Describe one version (a number or "latest")',
    tag: 'datasets',
    params: ByVersion,
    response: DatasetVersion,
  }),
  getDatasetProfile: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions/:version/profile',
    access: 'read',
    summary: 'The profile computed when the version was created',
    tag: 'datasets',
    params: ByVersion,
    response: DatasetProfile,
  }),
  getDatasetStatistics: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions/:version/statistics',
    access: 'read',
    summary: "The version's profile as SageMaker Model Monitor statistics.json",
    tag: 'datasets',
    params: ByVersion,
    response: z.record(z.string(), z.unknown()),
  }),
  getDatasetConstraints: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions/:version/constraints',
    access: 'read',
    summary: 'Suggested SageMaker Model Monitor constraints.json for the version',
    tag: 'datasets',
    params: ByVersion,
    response: z.record(z.string(), z.unknown()),
  }),
  getDatasetRejects: defineRoute({
    method: 'GET',
    path: '/api/v1/datasets/:name/versions/:version/rejects',
    access: 'read',
    summary: 'Malformed rows skipped while ingesting the version, with their line numbers',
    tag: 'datasets',
    params: ByVersion,
    response: z.object({ items: z.array(RejectedRow) }),
  }),
  deleteDataset: defineRoute({
    method: 'DELETE',
    path: '/api/v1/datasets/:name',
    access: 'write',
    summary: 'Delete a dataset, its versions and their files (refused while other datasets derive from it)',
    tag: 'datasets',
    params: ByName,
    response: z.object({ ok: z.literal(true) }),
  }),
  deleteDatasetVersion: defineRoute({
    method: 'DELETE',
    path: '/api/v1/datasets/:name/versions/:version',
    access: 'write',
    summary:
      'Delete one version and its files (refused while versions derive from it); its number is not reused',
    tag: 'datasets',
    params: z.object({ name: DatasetName, version: z.coerce.number().int().positive() }),
    response: z.object({ ok: z.literal(true) }),
  }),
  uploadDatasetVersion: defineRoute({
    method: 'POST',
    path: '/api/v1/datasets/:name/upload',
    access: 'write',
    summary: 'Create a version from the request body (a CSV, JSON Lines or Parquet file), streamed',
    tag: 'datasets',
    params: ByName,
    query: UploadQuery,
    rawBody: true,
    response: DatasetVersion,
    status: 201,
  }),
  importDatasetVersion: defineRoute({
    method: 'POST',
    path: '/api/v1/datasets/:name/versions',
    access: 'write',
    summary: 'Create a version from a BlobStore URI (s3://…) or, for admins, a server file (file:…)',
    tag: 'datasets',
    params: ByName,
    body: ImportVersionBody,
    response: DatasetVersion,
    status: 201,
  }),
  previewRecipe: defineRoute({
    method: 'POST',
    path: '/api/v1/recipes/preview',
    access: 'read',
    summary: 'Fit and apply a recipe to the first rows of a version, without storing anything',
    tag: 'recipes',
    body: PreviewRecipeBody,
    response: RecipePreview,
  }),
  runRecipe: defineRoute({
    method: 'POST',
    path: '/api/v1/recipes/run',
    access: 'write',
    summary:
      'Queue a processing job (trainyard/recipe-processor) that fits the recipe on a version and writes each output as a new version; the recipe is first checked on a few rows',
    tag: 'recipes',
    body: RunRecipeBody,
    response: ProcessingJob,
    status: 201,
  }),
};
