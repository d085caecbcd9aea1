import { TrainyardError } from '@trainyard/contracts/errors';
import type { platformRoutes } from '@trainyard/contracts/platform-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';

export function platformHandlers({
  keys,
  sessions,
  instanceTypes,
  audit,
}: Pick<DoorServices, 'keys' | 'sessions' | 'instanceTypes' | 'audit'>): HandlersOf<typeof platformRoutes> {
  return {
    whoami: async ({ principal }) => principal,
    listKeys: async ({ query }) => keys.list(query),
    createKey: async ({ body }) => keys.create(body.name, body.role, { expiresAt: body.expiresAt }),
    rotateKey: async ({ params, body }) => keys.rotate(params.id, body.graceSeconds),
    listAuditLog: async ({ query }) => audit.list(query),
    revokeKey: async ({ params, principal }) => {
      if (params.id === principal.keyId) {
        throw new TrainyardError('FAILED_PRECONDITION', 'a key cannot revoke itself; use another admin key', {
          field: 'id',
        });
      }
      const revoked = await keys.revoke(params.id);
      // Each session call re-checks its key anyway; this also clears the rows at once.
      await sessions.endSessionsOf(params.id);
      return revoked;
    },
    listInstanceTypes: async ({ query }) => instanceTypes.list(query),
    getInstanceType: async ({ params }) => instanceTypes.get(params.name),
    createInstanceType: async ({ body }) => instanceTypes.create(body),
    updateInstanceType: async ({ params, body }) => instanceTypes.update(params.name, body),
    deleteInstanceType: async ({ params }) => {
      await instanceTypes.delete(params.name);
      return { ok: true as const };
    },
  };
}
