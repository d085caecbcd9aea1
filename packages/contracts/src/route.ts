import type { z } from 'zod';

/**
 * Who may call a route. `read` = admin, developer, viewer; `write` = admin, developer;
 * `admin` = admin only; `invoke` = admin, developer, invoker; `any` = every role (e.g. whoami);
 * `public` needs no key.
 */
export type Access = 'public' | 'read' | 'write' | 'admin' | 'invoke' | 'any';

export const roles = ['admin', 'developer', 'viewer', 'invoker'] as const;
export type Role = (typeof roles)[number];

const rolesByAccess: Record<Exclude<Access, 'public'>, readonly Role[]> = {
  read: ['admin', 'developer', 'viewer'],
  write: ['admin', 'developer'],
  admin: ['admin'],
  invoke: ['admin', 'developer', 'invoker'],
  any: roles,
};

export function roleMayAccess(role: Role, access: Access): boolean {
  return access === 'public' || rolesByAccess[access].includes(role);
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One REST operation: the server validates with these schemas, the SDK types its calls with them. */
export interface RouteContract<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Path with `:name` parameters, e.g. `/api/v1/keys/:id`. */
  path: string;
  access: Access;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** HTTP status of a success; 200 unless said. */
  status?: number;
  /**
   * The body is a byte stream of any content type, not JSON: the server hands the handler the
   * unparsed request stream as `request.body` (uploads), and the SDK sends it with `upload`.
   */
  rawBody?: boolean;
  /**
   * The response is a server-sent-events stream (`text/event-stream`): the handler returns an
   * async iterable of {@link StreamEvent}s, each `data` checked against `response` (a
   * `Last-Event-ID` request header resumes after that id when the handler supports it).
   */
  eventStream?: boolean;
  /** Event streams only: a comment line is written this often (ms) while no event comes. */
  heartbeatMs?: number;
}

/** One server-sent event: `event` names its kind (default `message`), `id` lets a client resume. */
export interface StreamEvent<T = unknown> {
  event?: string;
  id?: string;
  data: T;
}

export function defineRoute<
  P extends z.ZodType = z.ZodNever,
  Q extends z.ZodType = z.ZodNever,
  B extends z.ZodType = z.ZodNever,
  R extends z.ZodType = z.ZodType,
>(route: RouteContract<P, Q, B, R>): RouteContract<P, Q, B, R> {
  return route;
}

/** What a caller passes for one route: params, query and body, each only when the route has it. */
export type RouteInput<C> =
  C extends RouteContract<infer P, infer Q, infer B, z.ZodType>
    ? ([P] extends [z.ZodNever] ? unknown : { params: z.input<P> }) &
        ([Q] extends [z.ZodNever] ? unknown : { query?: z.input<Q> }) &
        ([B] extends [z.ZodNever] ? unknown : { body: z.input<B> })
    : never;

export type RouteOutput<C> =
  C extends RouteContract<z.ZodType, z.ZodType, z.ZodType, infer R> ? z.output<R> : never;
