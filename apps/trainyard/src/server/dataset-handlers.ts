import type { Readable } from 'node:stream';
import type { datasetRoutes } from '@trainyard/contracts/dataset-routes';
import type { IngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { HandlersOf } from './route-handlers.js';

export const datasetHandlers: HandlersOf<typeof datasetRoutes> = {
  listDatasets: async ({ platform, query }) => platform.datasets.list(query),
  getDataset: async ({ platform, params }) => platform.datasets.get(params.name),
  listDatasetVersions: async ({ platform, params, query }) =>
    platform.datasets.listVersions(params.name, query),
  getDatasetVersion: async ({ platform, params }) =>
    platform.datasets.getVersion(params.name, params.version),
  getDatasetProfile: async ({ platform, params }) =>
    platform.datasets.getProfile(params.name, params.version),
  getDatasetStatistics: async ({ platform, params }) =>
    platform.datasets.getStatistics(params.name, params.version),
  getDatasetConstraints: async ({ platform, params }) =>
    platform.datasets.getConstraints(params.name, params.version),
  getDatasetRejects: async ({ platform, params }) => ({
    items: await platform.datasets.getRejects(params.name, params.version),
  }),
  uploadDatasetVersion: async ({ platform, params, query, request }) => {
    const { fileName, description, ...ingest } = query;
    const body = request.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new TrainyardError('INVALID_ARGUMENT', 'body: send the file as the request body', {
        field: 'body',
      });
    }
    const options: { ingest: IngestOptions; description?: string; fileName?: string } = {
      ingest: ingest as IngestOptions,
    };
    if (description !== undefined) options.description = description;
    if (fileName !== undefined) options.fileName = fileName;
    return platform.datasets.createVersionFromStream(params.name, body, options);
  },
  importDatasetVersion: async ({ platform, params, body, principal }) => {
    // A file: source reads the server's disk, so only admins may name one.
    if (body.source.startsWith('file:') && principal.role !== 'admin') {
      throw new TrainyardError(
        'PERMISSION_DENIED',
        'only admin keys may import file: sources (they read the server disk); use s3:// or an upload',
        { field: 'source' },
      );
    }
    const options: { ingest: IngestOptions; description?: string } = { ingest: body.options };
    if (body.description !== undefined) options.description = body.description;
    return platform.datasets.createVersionFromUri(params.name, body.source, options);
  },
  previewRecipe: async ({ platform, body }) =>
    platform.datasets.previewRecipe(body.dataset, body.version ?? 'latest', body.recipe, body.rows),
  runRecipe: async ({ platform, body }) => platform.jobs.runRecipe(body),
};
