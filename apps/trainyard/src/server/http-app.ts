import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseOrRefuse, TrainyardError } from '@trainyard/contracts/errors';
import { type RouteName, restApi } from '@trainyard/contracts/rest-api';
import { type RouteContract, roleMayAccess, type StreamEvent } from '@trainyard/contracts/route';
import { anonymousAdmin, type Principal } from '@trainyard/core/access/access-key-service';
import { isMutatingMethod } from '@trainyard/core/access/audit-service';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RouteOptions,
} from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { z } from 'zod';
import { ConsolePages } from './console-pages.js';
import { datasetHandlers } from './dataset-handlers.js';
import type { DoorServices } from './door-services.js';
import { endpointHandlers } from './endpoint-handlers.js';
import { EndpointMetricsStore } from './endpoint-metrics-store.js';
import { eventHandlers } from './event-handlers.js';
import { experimentHandlers } from './experiment-handlers.js';
import { homePage } from './home-page.js';
import { InvocationDoor } from './invocation-door.js';
import { messagingHandlers } from './messaging-handlers.js';
import { buildOpenApiDocument } from './openapi.js';
import { platformHandlers } from './platform-handlers.js';
import { processingHandlers } from './processing-handlers.js';
import { quickstartHandlers } from './quickstart-handlers.js';
import { registryHandlers } from './registry-handlers.js';
import type { HandlerOf } from './route-handlers.js';
import { s3Door } from './s3/s3-door.js';
import { sageMakerDoor } from './sagemaker/sagemaker-door.js';
import {
  authenticateInvocation,
  isSigV4Invocation,
  runtimeModelError,
  sendRuntimeError,
} from './sagemaker/sagemaker-runtime.js';
import { redactServerPaths } from './server-paths.js';
import { authenticate } from './session-auth.js';
import { sessionHandlers } from './session-handlers.js';
import { trainingHandlers } from './training-handlers.js';
import { tuningHandlers } from './tuning-handlers.js';

export const serverVersion = '0.1.0';

/** The one handler table: each area contributes its own, given only the services it uses. */
function restHandlers(
  services: DoorServices,
  series: EndpointMetricsStore,
): Record<RouteName, HandlerOf<RouteContract>> {
  return {
    ...platformHandlers(services),
    ...sessionHandlers(services),
    ...datasetHandlers(services),
    ...processingHandlers(services),
    ...trainingHandlers(services),
    ...tuningHandlers(services),
    ...experimentHandlers(services),
    ...messagingHandlers(services),
    ...endpointHandlers(services, series),
    ...registryHandlers(services),
    ...eventHandlers(services),
    ...quickstartHandlers(services),
  } as unknown as Record<RouteName, HandlerOf<RouteContract>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Aborts when the server starts closing: uploads in progress are cut off with a 503. */
    shutdownSignal: AbortSignal;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** Set by a door once it knows the call: the audit log records mutating ones. */
    audit?: { door: 'rest' | 's3' | 'sagemaker'; action: string };
    /** Set when the caller came with the console's session cookie (not a bearer key). */
    session?: { id: string; csrfToken: string };
  }
}

function parseWith<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  return parseOrRefuse(schema, value ?? (where === 'body' ? undefined : {}), where);
}

/**
 * Writes a handler's events as server-sent events until it ends or the client goes away; an event
 * whose data breaks the route's contract ends the stream with an `error` event.
 */
async function sendEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  route: RouteContract,
  events: AsyncIterable<StreamEvent>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Headers go out now: a client sees the stream open before its first event (or heartbeat).
  res.flushHeaders();
  let closed = false;
  const iterator = events[Symbol.asyncIterator]();
  // A client that goes away ends the handler's iterator at once, even while it waits for an event.
  const onClose = () => {
    closed = true;
    void iterator.return?.()?.catch(() => undefined);
  };
  request.raw.on('close', onClose);
  res.on('close', onClose);
  const heartbeat =
    route.heartbeatMs === undefined
      ? undefined
      : setInterval(() => {
          if (!closed) res.write(': heartbeat\n\n');
        }, route.heartbeatMs);
  heartbeat?.unref();
  try {
    while (!closed) {
      const next = await iterator.next();
      if (next.done) break;
      const checked = route.response.safeParse(next.value.data);
      if (!checked.success) {
        request.log.error(
          { issues: checked.error.issues, route: name },
          'stream event does not match its contract',
        );
        res.write(
          `event: error\ndata: ${JSON.stringify({ code: 'INTERNAL', message: `the ${name} stream broke its contract` })}\n\n`,
        );
        break;
      }
      const head = `${next.value.id !== undefined ? `id: ${next.value.id}\n` : ''}${next.value.event ? `event: ${next.value.event}\n` : ''}`;
      res.write(`${head}data: ${JSON.stringify(checked.data)}\n\n`);
    }
  } catch (error) {
    const body = TrainyardError.is(error)
      ? { code: error.code, message: error.message }
      : { code: 'INTERNAL', message: 'stream failed' };
    res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    await iterator.return?.();
    res.end();
  }
}

/**
 * Builds the HTTP tier: /api/v1 routes from the contract table, health, metrics and OpenAPI.
 * Stateless: any number of these can run behind a load balancer on the same stores.
 */
export async function buildHttpApp(services: DoorServices): Promise<FastifyInstance> {
  const endpointSeries = new EndpointMetricsStore(services, {
    flushMs: services.settings.endpointMetricsIntervalMs ?? 5_000,
  });
  endpointSeries.start();
  const handlers = restHandlers(services, endpointSeries);
  let closing = false;
  const { serverPaths } = services.settings;
  // Set once the invocation door exists: it answers invocations before Fastify sees them.
  let fastInvocations: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined;
  const app = Fastify({
    serverFactory: (handler) => {
      const server = createServer((request, response) => {
        if (!fastInvocations?.(request, response)) handler(request, response);
      });
      // What Fastify sets on the server it would have made (its defaults): keep-alive 72 s, and no
      // request timeout (node's own 300 s would cut off a long S3 upload).
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    loggerInstance: services.log as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 6 * 1024 * 1024,
    // Fastify's own two JSON lines per request are replaced by one access line (onResponse).
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'trainyard_' });
  const requestDuration = new Histogram({
    name: 'trainyard_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [metrics],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const ms = reply.elapsedTime.toFixed(1);
    request.log.info(`${request.method} ${request.url.split('?')[0]} ${reply.statusCode} ${ms}ms`);
    request.log.debug(
      {
        url: request.url,
        remote: request.ip,
        userAgent: request.headers['user-agent'],
        key: request.principal?.keyId,
      },
      'request details',
    );
    requestDuration
      .labels(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => {
    closing = true;
  });
  // preClose runs before the server waits for in-flight requests: uploads stop at once instead
  // of holding the shutdown until the grace period kills them without a word.
  const shutdown = new AbortController();
  app.decorate('shutdownSignal', shutdown.signal);
  app.addHook('preClose', async () => {
    closing = true;
    shutdown.abort();
  });
  // While closing, every answer ends its connection: a cut-off upload's unread body would
  // otherwise keep the connection, and the close waiting for it, open.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (shutdown.signal.aborted) reply.header('connection', 'close');
    return payload;
  });
  // Refused calls are kept too: an audit log that only shows successes hides the probing.
  app.addHook('onResponse', async (request, reply) => {
    const { principal, audit } = request;
    if (!principal || !audit || !isMutatingMethod(request.method)) return;
    await services.audit
      .record({
        at: new Date().toISOString(),
        keyId: principal.keyId,
        keyName: principal.name,
        role: principal.role,
        door: audit.door,
        action: audit.action,
        target: (request.raw.url ?? '/').split('?')[0] ?? '/',
        status: reply.statusCode,
        sourceIp: request.ip,
        requestId: String(request.id),
      })
      .catch((err: unknown) => request.log.error({ err }, 'could not write the audit log'));
  });
  await app.register(s3Door, { services });
  await app.register(sageMakerDoor, { services });

  app.setErrorHandler(async (error, request, reply) => {
    let failure: TrainyardError;
    if (error instanceof TrainyardError) failure = error;
    else if ((error as { statusCode?: number }).statusCode === 413) {
      failure = new TrainyardError('INVALID_ARGUMENT', `body: larger than the ${6} MiB limit`, {
        field: 'body',
      });
    } else if (
      typeof (error as { code?: string }).code === 'string' &&
      (error as { code: string }).code.startsWith('FST_ERR_CTP')
    ) {
      failure = new TrainyardError('INVALID_ARGUMENT', `body: ${(error as Error).message}`, {
        field: 'body',
      });
    } else {
      request.log.error({ err: error }, 'unhandled error');
      failure = new TrainyardError(
        'INTERNAL',
        'internal error; the request id identifies it in the server log',
      );
    }
    if (failure.code === 'INTERNAL' && error !== failure) request.log.error({ err: error }, 'internal error');
    const body = failure.toJSON();
    body.error.requestId = request.id;
    // Driver and filesystem messages can carry the server's folders; clients never see them.
    const redacted = JSON.parse(redactServerPaths(JSON.stringify(body), serverPaths)) as typeof body;
    return reply.status(failure.httpStatus).send(redacted);
  });
  const consolePages = new ConsolePages(services.settings.consoleDir);
  app.setNotFoundHandler(async (request, reply) => {
    // Files of the built console, and index.html for its deep links (a browser asking for HTML).
    if (await consolePages.sendFallback(request, reply)) return reply;
    const failure = new TrainyardError(
      'NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0]}`,
    );
    const body = failure.toJSON();
    body.error.requestId = request.id;
    return reply.status(404).send(body);
  });

  // The console when it is built (the install step builds it); the plain home page otherwise.
  app.get('/', async (request, reply) => {
    if (await consolePages.sendIndex(request, reply)) return reply;
    return reply.type('text/html; charset=utf-8').send(homePage(services.settings, serverVersion));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const metadata = !closing && (await services.ready());
    const isolation = services.settings.jobIsolation?.();
    return reply.status(metadata ? 200 : 503).send({
      status: metadata ? 'ready' : 'not ready',
      metadata,
      // Which isolation jobs get here, so an operator sees a weak mode without reading the start log.
      jobIsolation: isolation ?? { mode: 'no worker in this process', summary: 'this process runs no jobs' },
    });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.metrics()),
  );
  const invocationDoor = new InvocationDoor(services, metrics, requestDuration, endpointSeries);
  fastInvocations = (request, response) => !closing && invocationDoor.serve(request, response);
  app.addHook('onClose', async () => invocationDoor.close());
  // The same path through Fastify, for what the fast path leaves (SigV4, no key, inject() in tests).
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post<{ Params: { name: string } }>('/endpoints/:name/invocations', async (request, reply) => {
      // The AWS SDKs, the aws CLI and boto3 sign InvokeEndpoint with SigV4 (service sagemaker).
      const signed = isSigV4Invocation(request);
      const started = performance.now();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      try {
        const result = await invocationDoor.invoke(
          request.params.name,
          signed ? authenticateInvocation(services, request, body) : authenticate(services, request),
          request.headers,
          body,
          started,
        );
        const answer = signed && result.status === 424 ? runtimeModelError(result) : result;
        return reply.status(answer.status).headers(answer.headers).send(answer.body);
      } catch (error) {
        if (signed) return sendRuntimeError(request, reply, error, request.params.name);
        throw error;
      }
    });
  });
  const openApi = buildOpenApiDocument(serverVersion);
  app.get('/api/v1/openapi.json', async () => openApi);

  for (const [name, route] of Object.entries(restApi) as [RouteName, RouteContract][]) {
    const handler = handlers[name];
    const routeOptions: RouteOptions = {
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        if (route.access !== 'public') request.audit = { door: 'rest', action: name };
        const principal = route.access === 'public' ? anonymousAdmin : await authenticate(services, request);
        if (route.access !== 'public') request.principal = principal;
        if (!roleMayAccess(principal.role, route.access)) {
          throw new TrainyardError(
            'PERMISSION_DENIED',
            `role "${principal.role}" may not call ${route.method} ${route.path} (needs ${route.access} access)`,
          );
        }
        const params = parseWith(route.params, request.params, 'params');
        const query = parseWith(route.query, request.query, 'query');
        const body = parseWith(route.body, request.body, 'body');
        const result = await handler({ params, query, body, principal, request, reply } as never);
        if (route.eventStream)
          return sendEventStream(request, reply, name, route, result as AsyncIterable<StreamEvent>);
        const checked = route.response.safeParse(result);
        if (!checked.success) {
          request.log.error(
            { issues: checked.error.issues, route: name },
            'response does not match its contract',
          );
          throw new TrainyardError('INTERNAL', `the ${name} response broke its contract`);
        }
        return reply.status(route.status ?? 200).send(checked.data);
      },
    };
    if (route.rawBody) {
      // Uploads: this scope hands the handler the unparsed request stream, so a file never sits in memory.
      app.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
        scope.route(routeOptions);
      });
    } else app.route(routeOptions);
  }
  return app;
}
