import type { endpointRoutes } from '@trainyard/contracts/endpoint-routes';
import type { DoorServices } from './door-services.js';
import type { EndpointMetricsStore } from './endpoint-metrics-store.js';
import type { HandlersOf } from './route-handlers.js';

export function endpointHandlers(
  { endpoints }: Pick<DoorServices, 'endpoints'>,
  series: EndpointMetricsStore,
): HandlersOf<typeof endpointRoutes> {
  return {
    createModel: async ({ body }) => endpoints.createModel(body),
    listModels: async ({ query }) => endpoints.listModels(query),
    describeModel: async ({ params }) => endpoints.describeModel(params.name),
    deleteModel: async ({ params }) => {
      await endpoints.deleteModel(params.name);
      return { deleted: true as const };
    },
    createEndpointConfig: async ({ body }) => endpoints.createEndpointConfig(body),
    listEndpointConfigs: async ({ query }) => endpoints.listEndpointConfigs(query),
    describeEndpointConfig: async ({ params }) => endpoints.describeEndpointConfig(params.name),
    deleteEndpointConfig: async ({ params }) => {
      await endpoints.deleteEndpointConfig(params.name);
      return { deleted: true as const };
    },
    createEndpoint: async ({ body }) => endpoints.createEndpoint(body),
    listEndpoints: async ({ query }) => endpoints.listEndpoints(query),
    describeEndpoint: async ({ params }) => endpoints.describeEndpoint(params.name),
    updateEndpoint: async ({ params, body }) => endpoints.updateEndpoint(params.name, body),
    updateEndpointWeightsAndCapacities: async ({ params, body }) =>
      endpoints.updateWeightsAndCapacities(params.name, body),
    deleteEndpoint: async ({ params }) => endpoints.deleteEndpoint(params.name),
    listEndpointInstances: async ({ params }) => ({ items: await endpoints.listInstances(params.name) }),
    getEndpointMetrics: async ({ params, query }) => series.series(params.name, query),
  };
}
