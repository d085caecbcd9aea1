import { TrainyardError } from '@trainyard/contracts/errors';
import type { platformRoutes } from '@trainyard/contracts/platform-routes';
import type { HandlersOf } from './route-handlers.js';

export const platformHandlers: HandlersOf<typeof platformRoutes> = {
  whoami: async ({ principal }) => principal,
  listKeys: async ({ platform, query }) => platform.keys.list(query),
  createKey: async ({ platform, body }) =>
    platform.keys.create(body.name, body.role, { expiresAt: body.expiresAt }),
  rotateKey: async ({ platform, params, body }) => platform.keys.rotate(params.id, body.graceSeconds),
  listAuditLog: async ({ platform, query }) => platform.audit.list(query),
  revokeKey: async ({ platform, params, principal }) => {
    if (params.id === principal.keyId) {
      throw new TrainyardError('FAILED_PRECONDITION', 'a key cannot revoke itself; use another admin key', {
        field: 'id',
      });
    }
    return platform.keys.revoke(params.id);
  },
  listInstanceTypes: async ({ platform, query }) => platform.metadata.instanceTypes.list(query),
  getInstanceType: async ({ platform, params }) => platform.metadata.instanceTypes.get(params.name),
  createInstanceType: async ({ platform, body }) => platform.metadata.instanceTypes.create(body),
  updateInstanceType: async ({ platform, params, body }) =>
    platform.metadata.instanceTypes.update(params.name, body),
  deleteInstanceType: async ({ platform, params }) => {
    await platform.metadata.instanceTypes.delete(params.name);
    return { ok: true as const };
  },
};
