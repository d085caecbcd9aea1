import type { quickstartRoutes } from '@trainyard/contracts/quickstart-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

/** The sample project: start a run, follow it. */
export function quickstartHandlers({
  quickstart,
}: Pick<DoorServices, 'quickstart'>): HandlersOf<typeof quickstartRoutes> {
  return {
    startQuickstart: async ({ principal }) => quickstart.start(principal),
    listQuickstarts: async () => ({ runs: await quickstart.list() }),
    getQuickstart: async ({ params }) => quickstart.get(params.id),
  };
}
