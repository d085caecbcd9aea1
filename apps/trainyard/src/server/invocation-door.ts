import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invocationLimits } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import { roleMayAccess } from '@trainyard/contracts/route';
import { anonymousAdmin, type Principal } from '@trainyard/core/access/access-key-service';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DoorServices } from './door-services.js';
import type { EndpointMetricsStore } from './endpoint-metrics-store.js';
import { EndpointRouter, type InvocationResult } from './endpoint-router.js';
import { redactServerPaths } from './server-paths.js';

const limitMiB = invocationLimits.maxPayloadBytes / (1024 * 1024);

interface Served {
  count: { inc(): void };
  model: { observe(v: number): void };
  overhead: { observe(v: number): void };
}
const invocationPath = /^\/endpoints\/([^/?]+)\/invocations(?:\?.*)?$/;
const bearer = /^Bearer\s+(\S+)$/i;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A request id as the Fastify app makes them: the caller's `x-request-id` when sane, else a UUID. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * `POST /endpoints/{name}/invocations`: the invoke path. It never goes through the contract
 * pipeline: raw bytes in, the model's bytes out. `serve` answers it straight from the node:http
 * request event (no Fastify routing, hooks or content-type parsing, the "does not go through
 * the JSON route pipeline"); the Fastify route that remains takes what `serve` leaves (other
 * authorization schemes, `inject()` in tests) and calls the same `invoke`.
 */
export class InvocationDoor {
  readonly router: EndpointRouter;
  readonly #services: Pick<DoorServices, 'settings' | 'keys' | 'log'>;
  readonly #invocations: Counter<'endpoint' | 'variant' | 'status'>;
  readonly #modelLatency: Histogram<'endpoint' | 'variant'>;
  readonly #overheadLatency: Histogram<'endpoint' | 'variant'>;
  readonly #requestDuration: Histogram<'method' | 'route' | 'status'>;
  /** prom-client children by label values: looking a child up by labels hashes them per call. */
  readonly #children = new Map<string, { inc(): void } | { observe(v: number): void }>();
  /** The children a successful invocation touches, per endpoint and variant: one lookup, no key string. */
  readonly #served = new Map<string, Map<string, Served>>();
  /** The request-duration child per status code. */
  readonly #requestChildren = new Map<number, { observe(v: number): void }>();

  constructor(
    services: Pick<DoorServices, 'settings' | 'keys' | 'log' | 'endpoints'>,
    metrics: Registry,
    requestDuration: Histogram<'method' | 'route' | 'status'>,
    readonly series?: EndpointMetricsStore,
  ) {
    this.#services = services;
    this.router = new EndpointRouter(services.endpoints);
    this.#requestDuration = requestDuration;
    this.#invocations = new Counter({
      name: 'trainyard_endpoint_invocations_total',
      help: 'Endpoint invocations by endpoint, variant (empty when none was picked) and status class',
      labelNames: ['endpoint', 'variant', 'status'],
      registers: [metrics],
    });
    const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 60];
    this.#modelLatency = new Histogram({
      name: 'trainyard_endpoint_model_latency_seconds',
      help: 'Time the instance took to answer an invocation',
      labelNames: ['endpoint', 'variant'],
      buckets: latencyBuckets,
      registers: [metrics],
    });
    this.#overheadLatency = new Histogram({
      name: 'trainyard_endpoint_overhead_latency_seconds',
      help: 'Time an invocation spent in the router (auth, routing, forwarding) beyond the model',
      labelNames: ['endpoint', 'variant'],
      buckets: latencyBuckets,
      registers: [metrics],
    });
    // Per instance, from the rows the reconciler samples (/proc of its process tree every few s),
    // so any API process shows every instance wherever the leader runs.
    const labelNames = ['endpoint', 'variant', 'instance'] as const;
    const cpu = new Gauge({
      name: 'trainyard_endpoint_instance_cpu_percent',
      help: 'CPU used by an endpoint instance over the last sample interval (100 = one core)',
      labelNames,
      registers: [metrics],
    });
    const memory = new Gauge({
      name: 'trainyard_endpoint_instance_memory_bytes',
      help: 'Resident memory of an endpoint instance at the last sample',
      labelNames,
      registers: [metrics],
    });
    const memoryPercent = new Gauge({
      name: 'trainyard_endpoint_instance_memory_percent',
      help: "Resident memory of an endpoint instance as a percentage of its instance type's memory",
      labelNames,
      registers: [metrics],
    });
    const restarts = new Gauge({
      name: 'trainyard_endpoint_instance_restarts',
      help: 'Times an endpoint instance was restarted after a crash',
      labelNames,
      registers: [metrics],
    });
    // One read of the store per scrape fills all four (prom-client collects each gauge in turn).
    let reading: Promise<void> | undefined;
    const refresh = () => {
      reading ??= services.endpoints
        .allInstances()
        .then((instances) => {
          for (const gauge of [cpu, memory, memoryPercent, restarts]) gauge.reset();
          for (const i of instances) {
            const labels = { endpoint: i.EndpointName, variant: i.VariantName, instance: i.InstanceId };
            restarts.set(labels, i.Restarts);
            if (i.CpuPercent !== undefined) cpu.set(labels, i.CpuPercent);
            if (i.MemoryBytes !== undefined) memory.set(labels, i.MemoryBytes);
            if (i.MemoryPercent !== undefined) memoryPercent.set(labels, i.MemoryPercent);
          }
        })
        .catch((err: unknown) => services.log.warn({ err }, 'could not read endpoint instances for /metrics'))
        .finally(() => {
          setTimeout(() => {
            reading = undefined;
          }, 100).unref();
        });
      return reading;
    };
    for (const gauge of [cpu, memory, memoryPercent, restarts])
      (gauge as unknown as { collect: () => Promise<void> }).collect = refresh;
  }

  #counter(endpoint: string, variant: string, status: string): { inc(): void } {
    const key = `c\0${endpoint}\0${variant}\0${status}`;
    let child = this.#children.get(key) as { inc(): void } | undefined;
    if (!child) {
      child = this.#invocations.labels(endpoint, variant, status);
      this.#children.set(key, child);
    }
    return child;
  }

  #histogram(which: 'model' | 'overhead' | 'request', a: string, b: string): { observe(v: number): void } {
    const key = `${which}\0${a}\0${b}`;
    let child = this.#children.get(key) as { observe(v: number): void } | undefined;
    if (!child) {
      child =
        which === 'request'
          ? this.#requestDuration.labels('POST', a, b)
          : (which === 'model' ? this.#modelLatency : this.#overheadLatency).labels(a, b);
      this.#children.set(key, child);
    }
    return child;
  }

  #servedOf(endpoint: string, variant: string, status: number): Served {
    let variants = this.#served.get(endpoint);
    if (!variants) {
      variants = new Map();
      this.#served.set(endpoint, variants);
    }
    // Keyed by variant and status class: a variant answers 2xx, or 4xx (a ModelError 424).
    const key = status < 300 ? variant : `${variant}\0${Math.floor(status / 100)}`;
    let served = variants.get(key);
    if (!served) {
      served = {
        count: this.#counter(endpoint, variant, `${Math.floor(status / 100)}xx`),
        model: this.#histogram('model', endpoint, variant),
        overhead: this.#histogram('overhead', endpoint, variant),
      };
      variants.set(key, served);
    }
    return served;
  }

  /** Checks the caller may invoke, routes the body and counts the outcome. */
  async invoke(
    name: string,
    principal: Principal | Promise<Principal>,
    headers: IncomingMessage['headers'],
    body: Buffer,
    started = performance.now(),
  ): Promise<InvocationResult> {
    try {
      const caller = await principal;
      if (!roleMayAccess(caller.role, 'invoke'))
        throw new TrainyardError(
          'PERMISSION_DENIED',
          `role "${caller.role}" may not invoke endpoints (needs invoke access)`,
        );
      const result = await this.router.invoke(name, {
        body,
        contentType: header(headers['content-type']) ?? '',
        accept: header(headers.accept),
        targetVariant: header(headers['x-amzn-sagemaker-target-variant']),
        customAttributes: header(headers['x-amzn-sagemaker-custom-attributes']),
      });
      const variant = result.variant ?? '';
      const served = this.#servedOf(name, variant, result.status);
      served.count.inc();
      if (result.modelMs !== undefined) {
        const overheadMs = Math.max(0, performance.now() - started - result.modelMs);
        served.model.observe(result.modelMs / 1000);
        served.overhead.observe(overheadMs / 1000);
        this.series?.record({
          endpoint: name,
          variant,
          instance: result.instance ?? '',
          status: result.status,
          modelMs: result.modelMs,
          overheadMs,
        });
      } else this.series?.record({ endpoint: name, variant, instance: '', status: result.status });
      return result;
    } catch (error) {
      // Refused before a variant was picked (auth, content type, unknown endpoint, no instance).
      const status = TrainyardError.is(error) ? error.httpStatus : 500;
      // Names a caller made up must not grow the label set: refusals before the router looked the
      // name up (no key, a role that may not invoke) and unknown endpoints are counted unnamed.
      const known =
        !TrainyardError.is(error, 'NOT_FOUND') &&
        !TrainyardError.is(error, 'UNAUTHENTICATED') &&
        !TrainyardError.is(error, 'PERMISSION_DENIED');
      this.#counter(known ? name : '', '', `${Math.floor(status / 100)}xx`).inc();
      if (known) this.series?.record({ endpoint: name, variant: '', instance: '', status });
      throw error;
    }
  }

  /**
   * Answers an invocation straight from node:http when it is one this path takes: `POST
   * /endpoints/{name}/invocations` with a bearer key (or on a server without auth). Returns false
   * for anything else, which the Fastify app then handles.
   */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    if (!url.startsWith('/endpoints/')) return false;
    const match = invocationPath.exec(url);
    if (!match) return false;
    let name: string;
    try {
      name = decodeURIComponent(match[1] as string);
    } catch {
      return false;
    }
    let principal: Promise<Principal> | Principal = anonymousAdmin;
    if (this.#services.settings.auth) {
      const secret = bearer.exec(header(request.headers.authorization) ?? '')?.[1];
      // SigV4 (the SageMaker door), a missing or malformed header: the Fastify route answers those.
      if (!secret) return false;
      principal = this.#services.keys.authenticate(secret);
      // Checked when the body is in; until then a refusal must not be an unhandled rejection.
      principal.catch(() => undefined);
    }
    const started = performance.now();
    const requestId = requestIdOf(request.headers['x-request-id']);
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > invocationLimits.maxPayloadBytes) {
      this.#fail(response, requestId, name, started, tooLarge(), true);
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > invocationLimits.maxPayloadBytes) {
        refused = true;
        this.#fail(response, requestId, name, started, tooLarge(), true);
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      this.invoke(name, principal, request.headers, body, started).then(
        (result) => this.#send(response, requestId, name, started, result),
        (error: unknown) => this.#fail(response, requestId, name, started, error, false),
      );
    });
    return true;
  }

  #send(
    response: ServerResponse,
    requestId: string,
    name: string,
    started: number,
    result: InvocationResult,
  ): void {
    const body = result.body;
    const headers: Record<string, string | number> = result.headers;
    headers['x-request-id'] = requestId;
    headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    response.writeHead(result.status, headers);
    // A string body leaves in the same write as the head (node:http joins them); a Buffer would
    // take a second iovec. Small answers are re-read as latin1, which keeps their bytes.
    if (typeof body === 'string' || body.length > 16 * 1024) response.end(body);
    else response.end(body.toString('latin1'), 'latin1');
    this.#finished(requestId, name, started, result.status);
  }

  #fail(
    response: ServerResponse,
    requestId: string,
    name: string,
    started: number,
    error: unknown,
    close: boolean,
  ): void {
    let failure: TrainyardError;
    if (TrainyardError.is(error)) failure = error;
    else {
      this.#services.log.error({ err: error, reqId: requestId }, 'internal error');
      failure = new TrainyardError(
        'INTERNAL',
        'internal error; the request id identifies it in the server log',
      );
    }
    const json = failure.toJSON();
    json.error.requestId = requestId;
    const text = redactServerPaths(JSON.stringify(json), this.#services.settings.serverPaths);
    if (response.headersSent || response.destroyed) return;
    response.writeHead(failure.httpStatus, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-request-id': requestId,
      // An unread body (too large) cannot stay on a keep-alive connection.
      ...(close ? { connection: 'close' } : {}),
    });
    response.end(text);
    this.#finished(requestId, name, started, failure.httpStatus);
  }

  #finished(requestId: string, name: string, started: number, status: number): void {
    const ms = performance.now() - started;
    let child = this.#requestChildren.get(status);
    if (!child) {
      child = this.#histogram('request', '/endpoints/:name/invocations', String(status));
      this.#requestChildren.set(status, child);
    }
    child.observe(ms / 1000);
    // Every invocation is counted in /metrics and the endpoint's series; the log takes the refusals
    // and failures at info, the successes only at debug (a line per request costs more than the hop).
    const log = this.#services.log;
    if (log.isLevelEnabled(status < 400 ? 'debug' : 'info'))
      log[status < 400 ? 'debug' : 'info'](
        { reqId: requestId },
        `POST /endpoints/${name}/invocations ${status} ${ms.toFixed(1)}ms`,
      );
  }

  async close(): Promise<void> {
    await this.series?.close();
    this.router.close();
  }
}

function tooLarge(): TrainyardError {
  return new TrainyardError('INVALID_ARGUMENT', `body: larger than the ${limitMiB} MiB limit`, {
    field: 'body',
  });
}
