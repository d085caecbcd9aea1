import { TrainyardError } from '@trainyard/contracts/errors';
import {
  csrfHeaderName,
  sessionCookieName,
  sessionLifetimeSeconds,
} from '@trainyard/contracts/session-routes';
import { anonymousAdmin, type Principal } from '@trainyard/core/access/access-key-service';
import { isMutatingMethod } from '@trainyard/core/access/audit-service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DoorServices } from './door-services.js';

/** Session ids are 32 random bytes in base64url; anything else is not looked up. */
const sessionIdPattern = /^[A-Za-z0-9_-]{43}$/;

/** The session cookie's value, when the request carries one. */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === sessionCookieName) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookieAttributes(request: FastifyRequest, maxAge: number): string {
  // Secure only over https: on a plain-http laptop install the browser would drop the cookie.
  return `HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${request.protocol === 'https' ? '; Secure' : ''}`;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string): void {
  reply.header(
    'set-cookie',
    `${sessionCookieName}=${id}; ${cookieAttributes(request, sessionLifetimeSeconds)}`,
  );
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', `${sessionCookieName}=; ${cookieAttributes(request, 0)}`);
}

/**
 * Resolves the caller of an /api/v1 route (and of endpoint invocations): `Authorization: Bearer
 * <key>` first; without it the console's session cookie, whose mutating calls must also carry the
 * session's CSRF token in `x-trainyard-csrf`. The S3 and SageMaker doors never call this: they
 * take SigV4 signatures only, so a cookie a browser attaches opens nothing there.
 */
export async function authenticate(
  { settings, keys, sessions }: Pick<DoorServices, 'settings' | 'keys' | 'sessions'>,
  request: FastifyRequest,
): Promise<Principal> {
  if (!settings.auth) return anonymousAdmin;
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1])
      throw new TrainyardError('UNAUTHENTICATED', 'Authorization header must be "Bearer <access key>"');
    return keys.authenticate(match[1]);
  }
  const sessionId = sessionCookieOf(request);
  if (sessionId === undefined) {
    throw new TrainyardError(
      'UNAUTHENTICATED',
      'missing Authorization header; send "Bearer <access key>" (or sign in to the console)',
    );
  }
  if (!sessionIdPattern.test(sessionId))
    throw new TrainyardError('UNAUTHENTICATED', 'the session is not known or has ended; sign in again');
  const { principal, csrfToken } = await sessions.authenticate(sessionId);
  if (isMutatingMethod(request.method)) {
    const given = request.headers[csrfHeaderName];
    if (!sessions.csrfTokenMatches(sessionId, typeof given === 'string' ? given : undefined)) {
      // The caller is known: a refused forgery lands in the audit log under the session's key.
      request.principal = principal;
      throw new TrainyardError('PERMISSION_DENIED', 'missing or wrong CSRF token', { field: csrfHeaderName });
    }
  }
  request.session = { id: sessionId, csrfToken };
  return principal;
}
