import type { processingRoutes } from '@trainyard/contracts/processing-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function processingHandlers({
  processingJobs,
}: Pick<DoorServices, 'processingJobs'>): HandlersOf<typeof processingRoutes> {
  return {
    createProcessingJob: async ({ body }) => processingJobs.create(body),
    listProcessingJobs: async ({ query }) => processingJobs.list(query),
    describeProcessingJob: async ({ params }) => processingJobs.describe(params.name),
    stopProcessingJob: async ({ params }) => processingJobs.stop(params.name),
    deleteProcessingJob: async ({ params }) => {
      await processingJobs.delete(params.name);
      return { ok: true as const };
    },
    getProcessingJobLogs: async ({ params, query }) =>
      processingJobs.logs(params.name, query.cursor, query.limit),
  };
}
