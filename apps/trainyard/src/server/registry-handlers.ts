import type { registryRoutes } from '@trainyard/contracts/registry-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function registryHandlers({
  modelPackages,
}: Pick<DoorServices, 'modelPackages'>): HandlersOf<typeof registryRoutes> {
  return {
    createModelPackageGroup: async ({ body, principal }) => modelPackages.createGroup(body, principal),
    listModelPackageGroups: async ({ query }) =>
      modelPackages.listGroups({ ...query, descending: query.sortOrder === 'Descending' }),
    describeModelPackageGroup: async ({ params }) => modelPackages.describeGroup(params.group),
    deleteModelPackageGroup: async ({ params }) => {
      await modelPackages.deleteGroup(params.group);
      return { deleted: true as const };
    },
    createModelPackage: async ({ body, principal }) => modelPackages.createPackage(body, principal),
    listModelPackages: async ({ query }) =>
      modelPackages.listPackages({ ...query, descending: query.sortOrder === 'Descending' }),
    describeModelPackage: async ({ params }) => modelPackages.describePackage(params.group, params.version),
    updateModelPackage: async ({ params, body, principal }) =>
      modelPackages.updatePackage(params.group, params.version, body, principal),
    deleteModelPackage: async ({ params }) => {
      await modelPackages.deletePackage(params.group, params.version);
      return { deleted: true as const };
    },
    lineage: async ({ query }) => modelPackages.lineage(query),
  };
}
