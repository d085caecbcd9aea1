import type { trainingRoutes } from '@trainyard/contracts/training-routes';
import type { HandlersOf } from './route-handlers.js';

export const trainingHandlers: HandlersOf<typeof trainingRoutes> = {
  createTrainingJob: async ({ platform, body }) => platform.jobs.trainingJobs.create(body),
  listTrainingJobs: async ({ platform, query }) => platform.jobs.trainingJobs.list(query),
  describeTrainingJob: async ({ platform, params }) => platform.jobs.trainingJobs.describe(params.name),
  stopTrainingJob: async ({ platform, params }) => platform.jobs.trainingJobs.stop(params.name),
  getTrainingJobLogs: async ({ platform, params, query }) =>
    platform.jobs.trainingJobs.logs(params.name, query.cursor, query.limit),
  getTrainingJobMetrics: async ({ platform, params }) => platform.jobs.trainingJobs.metrics(params.name),
};
