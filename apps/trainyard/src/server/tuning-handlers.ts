import type { tuningRoutes } from '@trainyard/contracts/tuning-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function tuningHandlers({
  tuningJobs,
}: Pick<DoorServices, 'tuningJobs'>): HandlersOf<typeof tuningRoutes> {
  return {
    createTuningJob: async ({ body }) => tuningJobs.create(body),
    listTuningJobs: async ({ query }) => tuningJobs.list(query),
    describeTuningJob: async ({ params }) => tuningJobs.describe(params.name),
    stopTuningJob: async ({ params }) => tuningJobs.stop(params.name),
    listTuningJobTrials: async ({ params, query }) => ({
      items: await tuningJobs.trials(params.name, query),
    }),
  };
}
