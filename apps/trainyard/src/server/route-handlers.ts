import type { RestApi, RouteName } from '@trainyard/contracts/rest-api';
import type { RouteContract, StreamEvent } from '@trainyard/contracts/route';
import type { Principal } from '@trainyard/core/access/access-key-service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

type Parsed<S> = S extends z.ZodNever ? undefined : S extends z.ZodType ? z.output<S> : undefined;

/** What a handler receives: validated params, query and body, and who is calling. */
export interface HandlerInput<C> {
  params: C extends RouteContract<infer P, z.ZodType, z.ZodType, z.ZodType> ? Parsed<P> : never;
  query: C extends RouteContract<z.ZodType, infer Q, z.ZodType, z.ZodType> ? Parsed<Q> : never;
  body: C extends RouteContract<z.ZodType, z.ZodType, infer B, z.ZodType> ? Parsed<B> : never;
  principal: Principal;
  request: FastifyRequest;
  /** For the few handlers that set headers (the session cookie); the pipeline sends the body. */
  reply: FastifyReply;
}

type ResponseOf<C> = C extends RouteContract<z.ZodType, z.ZodType, z.ZodType, infer R> ? z.input<R> : never;

/** A route's handler: its response, or for an `eventStream: true` route the events to send. */
export type HandlerOf<C> = (
  input: HandlerInput<C>,
) => Promise<C extends { eventStream: true } ? AsyncIterable<StreamEvent<ResponseOf<C>>> : ResponseOf<C>>;

/** One handler per route of a contract table. */
export type HandlersOf<T extends Partial<RestApi>> = { [N in keyof T]: HandlerOf<T[N]> };

export type RestHandlers = HandlersOf<RestApi> & Record<RouteName, unknown>;
