import { datasetRoutes } from './dataset-routes.js';
import { endpointRoutes } from './endpoint-routes.js';
import { eventRoutes } from './event-routes.js';
import { experimentRoutes } from './experiment-routes.js';
import { messagingRoutes } from './messaging-routes.js';
import { platformRoutes } from './platform-routes.js';
import { processingRoutes } from './processing-routes.js';
import { quickstartRoutes } from './quickstart-routes.js';
import { sessionRoutes } from './session-routes.js';
import { trainingRoutes } from './training-routes.js';

/**
 * Every route of the REST API under /api/v1, one table per area. The server, the OpenAPI
 * document and the SDK all read this table.
 */
export const restApi = {
  ...platformRoutes,
  ...sessionRoutes,
  ...processingRoutes,
  ...trainingRoutes,
  ...experimentRoutes,
  ...datasetRoutes,
  ...messagingRoutes,
  ...endpointRoutes,
  ...eventRoutes,
  ...quickstartRoutes,
};

export type RestApi = typeof restApi;
export type RouteName = keyof RestApi;
