import type { Readable } from 'node:stream';
import type { datasetRoutes } from '@trainyard/contracts/dataset-routes';
import type { IngestOptions } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';
import { isServerPrivatePath } from './server-paths.js';
import { cutOnShutdown } from './shutdown-cut.js';

/** The path of a `file:` source exactly as the dataset service reads it (`file:/a`, `file:///a`). */
function fileURLToPathLoose(source: string): string {
  return source.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
}

export function datasetHandlers({
  datasets,
  recipeRuns,
  settings,
}: Pick<DoorServices, 'datasets' | 'recipeRuns' | 'settings'>): HandlersOf<typeof datasetRoutes> {
  return {
    listDatasets: async ({ query }) => datasets.list(query),
    getDataset: async ({ params }) => datasets.get(params.name),
    listDatasetVersions: async ({ params, query }) => datasets.listVersions(params.name, query),
    getDatasetVersion: async ({ params }) => datasets.getVersion(params.name, params.version),
    getDatasetProfile: async ({ params }) => datasets.getProfile(params.name, params.version),
    getDatasetStatistics: async ({ params }) => datasets.getStatistics(params.name, params.version),
    getDatasetConstraints: async ({ params }) => datasets.getConstraints(params.name, params.version),
    getDatasetRejects: async ({ params }) => ({
      items: await datasets.getRejects(params.name, params.version),
    }),
    deleteDataset: async ({ params }) => {
      await datasets.deleteDataset(params.name);
      return { ok: true as const };
    },
    deleteDatasetVersion: async ({ params }) => {
      await datasets.deleteVersion(params.name, params.version);
      return { ok: true as const };
    },
    uploadDatasetVersion: async ({ params, query, request }) => {
      const { fileName, description, force, ...ingest } = query;
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') {
        throw new TrainyardError('INVALID_ARGUMENT', 'body: send the file as the request body', {
          field: 'body',
        });
      }
      const options: { ingest: IngestOptions; description?: string; fileName?: string; force?: boolean } = {
        ingest: ingest as IngestOptions,
      };
      if (force) options.force = true;
      if (description !== undefined) options.description = description;
      if (fileName !== undefined) options.fileName = fileName;
      return datasets.createVersionFromStream(
        params.name,
        cutOnShutdown(body, request.server.shutdownSignal),
        options,
      );
    },
    importDatasetVersion: async ({ params, body, principal }) => {
      // A file: source reads the server's disk, so only admins may name one.
      if (body.source.startsWith('file:') && principal.role !== 'admin') {
        throw new TrainyardError(
          'PERMISSION_DENIED',
          'only admin keys may import file: sources (they read the server disk); use s3:// or an upload',
          { field: 'source' },
        );
      }
      if (
        body.source.startsWith('file:') &&
        isServerPrivatePath(fileURLToPathLoose(body.source), settings.serverPaths)
      ) {
        throw new TrainyardError(
          'PERMISSION_DENIED',
          "source: file: sources may not read the server's own folders (data folder, database, blob store) or /proc, /sys, /dev; use s3:// for data in the blob store",
          { field: 'source' },
        );
      }
      const options: { ingest: IngestOptions; description?: string } = { ingest: body.options };
      if (body.description !== undefined) options.description = body.description;
      return datasets.createVersionFromUri(params.name, body.source, options);
    },
    previewRecipe: async ({ body }) =>
      datasets.previewRecipe(body.dataset, body.version ?? 'latest', body.recipe, body.rows),
    runRecipe: async ({ body }) => recipeRuns.runRecipe(body),
  };
}
