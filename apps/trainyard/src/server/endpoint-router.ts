import { invocationLimits } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { EndpointRoute, EndpointService } from '@trainyard/core/endpoints/endpoint-service';
import { InstanceClient, MalformedAnswer, UnreachableInstance } from './instance-client.js';
import { LaneClient } from './lane-client.js';

/** What an invocation answers: passed to the client as is. */
export interface InvocationResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  /** The variant and instance that answered, and how long the instance took (ms), for metrics. */
  variant?: string;
  instance?: string;
  modelMs?: number;
}

export interface InvocationRequest {
  body: Buffer;
  contentType: string;
  accept: string | undefined;
  targetVariant: string | undefined;
  /** X-Amzn-SageMaker-Custom-Attributes: passed to the model and back, verbatim. */
  customAttributes?: string | undefined;
}

interface CachedRoute {
  route: EndpointRoute;
  at: number;
}

const supported = new Set<string>(invocationLimits.contentTypes);

/** The body of an error the model itself returned: SageMaker's ModelError, as a 424. */
function modelError(variant: string, status: number, message: string): InvocationResult {
  const original = message.slice(0, 4096);
  const body = {
    error: {
      code: status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL',
      message: `Received ${status < 500 ? 'client' : 'server'} error (${status}) from model (variant ${variant}): ${original}`,
      retryable: false,
      errorType: 'ModelError',
      originalStatusCode: status,
      originalMessage: original,
    },
  };
  return {
    status: 424,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ModelError' },
    body: JSON.stringify(body),
  };
}

/**
 * The invoke path: picks a variant by weight (or the target variant), then the instance with the
 * fewest outstanding requests, and forwards over keep-alive connections. It reads routes from the
 * EndpointService and caches them for `ttlMs`, so any API process can route to instances a
 * reconciler elsewhere started. A connection that fails before an answer is retried on another
 * instance after a refresh, which hides crashes and instances drained by an update.
 */
export class EndpointRouter {
  readonly #endpoints: Pick<EndpointService, 'routeOf'>;
  readonly #ttlMs: number;
  readonly #routes = new Map<string, CachedRoute>();
  readonly #refreshing = new Map<string, Promise<EndpointRoute>>();
  readonly #outstanding = new Map<string, number>();
  readonly #client = new InstanceClient();
  readonly #lane = new LaneClient();
  readonly #timeoutMs: number;

  constructor(
    endpoints: Pick<EndpointService, 'routeOf'>,
    options: { ttlMs?: number; timeoutMs?: number } = {},
  ) {
    this.#endpoints = endpoints;
    this.#ttlMs = options.ttlMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? invocationLimits.modelTimeoutMs;
  }

  async #route(name: string, force: boolean): Promise<EndpointRoute> {
    const cached = this.#routes.get(name);
    if (cached && !force && Date.now() - cached.at < this.#ttlMs) return cached.route;
    let pending = this.#refreshing.get(name);
    if (!pending) {
      pending = this.#endpoints.routeOf(name).finally(() => this.#refreshing.delete(name));
      this.#refreshing.set(name, pending);
    }
    try {
      const route = await pending;
      this.#routes.set(name, { route, at: Date.now() });
      return route;
    } catch (error) {
      this.#routes.delete(name);
      throw error;
    }
  }

  #pickVariant(route: EndpointRoute, target: string | undefined): EndpointRoute['variants'][number] {
    if (target !== undefined) {
      const variant = route.variants.find((v) => v.name === target);
      if (!variant)
        throw new TrainyardError(
          'INVALID_ARGUMENT',
          `X-Amzn-SageMaker-Target-Variant: endpoint "${route.name}" has no variant "${target}" (it has ${route.variants.map((v) => v.name).join(', ')})`,
          { field: 'X-Amzn-SageMaker-Target-Variant' },
        );
      return variant;
    }
    const live = route.variants.filter((v) => v.weight > 0 && v.instances.length > 0);
    const total = live.reduce((sum, v) => sum + v.weight, 0);
    let draw = Math.random() * total;
    for (const variant of live) {
      draw -= variant.weight;
      if (draw < 0) return variant;
    }
    const last = live.at(-1);
    if (last) return last;
    throw new TrainyardError(
      'UNAVAILABLE',
      `endpoint "${route.name}" is ${route.status} and has no instance in service yet; retry shortly`,
    );
  }

  #pickInstance(variant: EndpointRoute['variants'][number], tried: ReadonlySet<string>) {
    let best: { id: string; url: string; lane?: string } | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const instance of variant.instances) {
      if (tried.has(instance.id)) continue;
      const load = this.#outstanding.get(instance.id) ?? 0;
      if (load < bestLoad) {
        best = instance;
        bestLoad = load;
      }
    }
    return best;
  }

  async invoke(name: string, request: InvocationRequest): Promise<InvocationResult> {
    const type = request.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!supported.has(type))
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `Content-Type: ${JSON.stringify(request.contentType)} is not supported; use ${invocationLimits.contentTypes.join(', ')}`,
        { field: 'Content-Type' },
      );
    if (request.body.length === 0)
      throw new TrainyardError('INVALID_ARGUMENT', 'body: is empty; send at least one row', {
        field: 'body',
      });
    const tried = new Set<string>();
    let force = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      // A fresh cached route is taken without an await (one promise less per request).
      const cached = force ? undefined : this.#routes.get(name);
      const route =
        cached && Date.now() - cached.at < this.#ttlMs ? cached.route : await this.#route(name, force);
      const variant = this.#pickVariant(route, request.targetVariant);
      const instance = this.#pickInstance(variant, tried);
      if (!instance) {
        if (attempt < 3) {
          // Every known instance failed: wait for the reconciler to restart or replace one.
          await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
          tried.clear();
          force = true;
          continue;
        }
        throw new TrainyardError(
          'UNAVAILABLE',
          `endpoint "${name}" variant ${variant.name} has no instance in service; retry shortly`,
        );
      }
      this.#outstanding.set(instance.id, (this.#outstanding.get(instance.id) ?? 0) + 1);
      try {
        const sent = performance.now();
        const forwarded = {
          url: instance.url,
          contentType: type,
          accept: request.accept,
          customAttributes: request.customAttributes,
          body: request.body,
        };
        // Our own model server takes the framed lane (the route says so); others get HTTP.
        const answer = await (instance.lane
          ? this.#lane.post(instance.lane, forwarded, this.#timeoutMs)
          : this.#client.post(forwarded, this.#timeoutMs));
        const modelMs = performance.now() - sent;
        const headers: Record<string, string> = { 'x-amzn-invoked-production-variant': variant.name };
        if (answer.status >= 200 && answer.status < 300) {
          headers['content-type'] = answer.contentType ?? 'application/octet-stream';
          if (answer.customAttributes !== undefined)
            headers['x-amzn-sagemaker-custom-attributes'] = answer.customAttributes;
          return {
            status: 200,
            headers,
            body: answer.body,
            variant: variant.name,
            instance: instance.id,
            modelMs,
          };
        }
        const result = modelError(variant.name, answer.status, answer.body.toString('utf8'));
        return {
          ...result,
          headers: { ...result.headers, ...headers },
          variant: variant.name,
          instance: instance.id,
          modelMs,
        };
      } catch (error) {
        if (error instanceof MalformedAnswer) {
          const result = modelError(
            variant.name,
            502,
            instance.lane
              ? `the answer is malformed: ${error.message}`
              : `the answer is not valid HTTP: ${error.message}`,
          );
          return {
            ...result,
            headers: { ...result.headers, 'x-amzn-invoked-production-variant': variant.name },
            variant: variant.name,
          };
        }
        if (!(error instanceof UnreachableInstance)) throw error;
        tried.add(instance.id);
        force = true;
      } finally {
        const left = (this.#outstanding.get(instance.id) ?? 1) - 1;
        if (left <= 0) this.#outstanding.delete(instance.id);
        else this.#outstanding.set(instance.id, left);
      }
    }
    throw new TrainyardError('UNAVAILABLE', `endpoint "${name}": no instance answered; retry shortly`);
  }

  close(): void {
    this.#client.close();
    this.#lane.close();
  }
}
