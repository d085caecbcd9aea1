import { z } from 'zod';
import { defineRoute, roles } from './route.js';

/** Name of the console's session cookie (HttpOnly, SameSite=Strict, Path=/). */
export const sessionCookieName = 'trainyard_session';
/** Header carrying the session's CSRF token on mutating calls made with the session cookie. */
export const csrfHeaderName = 'x-trainyard-csrf';
/** A session lasts this long from sign-in, seconds (12 hours); the cookie's Max-Age. */
export const sessionLifetimeSeconds = 43_200;

export const SignInBody = z
  .object({
    /** An access key secret; it is checked once and never stored with the session. */
    secret: z.string().min(1).max(512),
  })
  .strict();

/** The signed-in key, and the token to send as `x-trainyard-csrf` on mutating calls. */
export const SessionInfo = z.object({
  keyId: z.string(),
  name: z.string(),
  role: z.enum(roles),
  csrfToken: z.string(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** Console sign-in: an access key secret becomes an HttpOnly session cookie. */
export const sessionRoutes = {
  signIn: defineRoute({
    method: 'POST',
    path: '/api/v1/session',
    access: 'public',
    summary:
      'Sign in with an access key secret: sets the HttpOnly session cookie and returns the CSRF token (failed sign-ins are limited per address)',
    tag: 'session',
    body: SignInBody,
    response: SessionInfo,
  }),
  getSession: defineRoute({
    method: 'GET',
    path: '/api/v1/session',
    access: 'any',
    summary: 'The session of the cookie sent (401 without a valid one), with its CSRF token',
    tag: 'session',
    response: SessionInfo,
  }),
  signOut: defineRoute({
    method: 'DELETE',
    path: '/api/v1/session',
    access: 'public',
    summary: 'Sign out: ends the session of the cookie sent and clears the cookie',
    tag: 'session',
    response: z.undefined(),
    status: 204,
  }),
};
