import { TrainyardError } from '@trainyard/contracts/errors';
import type { sessionRoutes } from '@trainyard/contracts/session-routes';
import type { DoorServices } from './door-services.js';
import type { HandlersOf } from './route-handlers.js';
import { authenticate, clearSessionCookie, sessionCookieOf, setSessionCookie } from './session-auth.js';

/** Console sign-in, the current session and sign-out. */
export function sessionHandlers(
  services: Pick<DoorServices, 'settings' | 'keys' | 'sessions'>,
): HandlersOf<typeof sessionRoutes> {
  const { settings, sessions } = services;
  return {
    signIn: async ({ body, request, reply }) => {
      if (!settings.auth) {
        // A loopback-only server has no keys: every caller is the anonymous admin, no cookie needed.
        return { keyId: 'anonymous', name: 'anonymous', role: 'admin' as const, csrfToken: '' };
      }
      // Whatever session the browser held before is ended, never carried into the new one.
      const previous = sessionCookieOf(request);
      if (previous !== undefined) await sessions.signOut(previous).catch(() => undefined);
      const opened = await sessions.signIn(body.secret, request.ip);
      await sessions
        .deleteExpired()
        .catch((err: unknown) => request.log.warn({ err }, 'could not sweep sessions'));
      request.principal = opened.principal;
      request.audit = { door: 'rest', action: 'signIn' };
      setSessionCookie(request, reply, opened.id);
      reply.header('cache-control', 'no-store');
      return { ...opened.principal, csrfToken: opened.csrfToken };
    },
    getSession: async ({ principal, request, reply }) => {
      if (!settings.auth) return { ...principal, csrfToken: '' };
      if (!request.session) {
        throw new TrainyardError(
          'UNAUTHENTICATED',
          'no console session: this call was made with a bearer key',
        );
      }
      reply.header('cache-control', 'no-store');
      return { ...principal, csrfToken: request.session.csrfToken };
    },
    signOut: async ({ request, reply }) => {
      const sessionId = sessionCookieOf(request);
      if (settings.auth && sessionId !== undefined && !request.headers.authorization) {
        // A live session needs its CSRF token to be ended; an unknown or ended one just clears the cookie.
        let live = true;
        try {
          request.principal = await authenticate(services, request);
          request.audit = { door: 'rest', action: 'signOut' };
        } catch (error) {
          if (!TrainyardError.is(error, 'UNAUTHENTICATED')) throw error;
          live = false;
        }
        if (live) await sessions.signOut(sessionId);
      }
      clearSessionCookie(request, reply);
      return undefined;
    },
  };
}
