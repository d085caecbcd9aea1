import type { experimentRoutes } from '@trainyard/contracts/experiment-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function experimentHandlers({
  experiments,
}: Pick<DoorServices, 'experiments'>): HandlersOf<typeof experimentRoutes> {
  return {
    listExperiments: async ({ query }) => ({ items: await experiments.list(query.nameContains) }),
    compareExperimentRuns: async ({ params, query }) => experiments.runs(params.name, query),
  };
}
