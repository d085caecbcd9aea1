import type { trainingRoutes } from '@trainyard/contracts/training-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function trainingHandlers({
  trainingJobs,
}: Pick<DoorServices, 'trainingJobs'>): HandlersOf<typeof trainingRoutes> {
  return {
    createTrainingJob: async ({ body }) => trainingJobs.create(body),
    listTrainingJobs: async ({ query }) => trainingJobs.list(query),
    describeTrainingJob: async ({ params }) => trainingJobs.describe(params.name),
    stopTrainingJob: async ({ params }) => trainingJobs.stop(params.name),
    getTrainingJobLogs: async ({ params, query }) =>
      trainingJobs.logs(params.name, query.cursor, query.limit),
    streamTrainingJobLogs: async ({ params, query, request }) => {
      const resume = Number.parseInt(String(request.headers['last-event-id'] ?? ''), 10);
      return trainingJobs.followLogs(params.name, query.cursor ?? (Number.isInteger(resume) ? resume : 0));
    },
    deleteTrainingJob: async ({ params }) => trainingJobs.delete(params.name),
    getTrainingJobMetrics: async ({ params }) => trainingJobs.metrics(params.name),
  };
}
