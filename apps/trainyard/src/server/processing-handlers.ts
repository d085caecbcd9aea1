import type { processingRoutes } from '@trainyard/contracts/processing-routes';
import type { HandlersOf } from './route-handlers.js';

export const processingHandlers: HandlersOf<typeof processingRoutes> = {
  createProcessingJob: async ({ platform, body }) => platform.jobs.processingJobs.create(body),
  listProcessingJobs: async ({ platform, query }) => platform.jobs.processingJobs.list(query),
  describeProcessingJob: async ({ platform, params }) => platform.jobs.processingJobs.describe(params.name),
  stopProcessingJob: async ({ platform, params }) => platform.jobs.processingJobs.stop(params.name),
  getProcessingJobLogs: async ({ platform, params, query }) =>
    platform.jobs.processingJobs.logs(params.name, query.cursor, query.limit),
};
