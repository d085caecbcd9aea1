import { codeOfHttpStatus, type ErrorCode, errorCodes, TrainyardError } from '@trainyard/contracts/errors';
import { type RestApi, type RouteName, restApi } from '@trainyard/contracts/rest-api';
import type { RouteInput, RouteOutput } from '@trainyard/contracts/route';
import { csrfHeaderName, type SessionInfo } from '@trainyard/contracts/session-routes';

export interface TrainyardClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:7070`; `''` in a browser means the page's own origin. */
  endpoint?: string;
  /** Same as `endpoint` (the console's name for it); one of the two is needed. */
  baseUrl?: string;
  /** An access key secret (`trainyard keys create`), sent as `Authorization: Bearer <key>`. */
  key?: string | undefined;
  /**
   * `'session'`: the console's mode. Calls carry the HttpOnly session cookie the browser holds
   * (`credentials: 'same-origin'`), never a key; mutating calls send `csrfToken` as
   * `x-trainyard-csrf`. {@link TrainyardClient.signIn} and {@link TrainyardClient.session} set the token.
   * Default `'key'`.
   */
  credentials?: 'key' | 'session';
  /** The session's CSRF token (session mode), as `signIn`/`session` return it. */
  csrfToken?: string | undefined;
  /** Replaces the global fetch, e.g. for tests or proxies. */
  fetch?: typeof fetch;
}

type Input<N extends RouteName> = RouteInput<RestApi[N]>;
type Output<N extends RouteName> = RouteOutput<RestApi[N]>;
type PagedRoute = {
  [N in RouteName]: Output<N> extends { items: unknown[]; nextPageToken?: string } ? N : never;
}[RouteName];

function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/**
 * Typed client of the Trainyard REST API: every route of the contract table is one `call`.
 *
 * @example
 * const client = new TrainyardClient({ endpoint: 'http://127.0.0.1:7070', key: process.env.TRAINYARD_KEY });
 * const { items } = await client.call('listInstanceTypes', { query: { limit: 10 } });
 */
export class TrainyardClient {
  readonly endpoint: string;
  readonly #key: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #sessionMode: boolean;
  #csrfToken: string | undefined;

  constructor(options: TrainyardClientOptions) {
    const base = options.endpoint ?? options.baseUrl;
    if (base === undefined)
      throw new TrainyardError('INVALID_ARGUMENT', 'endpoint: the server URL is required');
    this.endpoint = base.replace(/\/+$/, '');
    this.#sessionMode = options.credentials === 'session';
    // A key never travels in session mode: the cookie is the only credential.
    this.#key = this.#sessionMode ? undefined : options.key;
    this.#csrfToken = options.csrfToken;
    // Bound: a browser's fetch refuses to be called as a method of another object.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The CSRF token session mode sends on mutating calls (set by signIn and session()). */
  get csrfToken(): string | undefined {
    return this.#csrfToken;
  }

  set csrfToken(token: string | undefined) {
    this.#csrfToken = token;
  }

  /**
   * Console sign-in: trades an access key secret for the HttpOnly session cookie (the browser
   * keeps it; the secret is not kept anywhere) and remembers the CSRF token.
   * @throws UNAUTHENTICATED for a bad secret; RESOURCE_EXHAUSTED after too many failures
   */
  async signIn(secret: string): Promise<SessionInfo> {
    const session = await this.call('signIn', { body: { secret } });
    this.#csrfToken = session.csrfToken;
    return session;
  }

  /** The current session (and its CSRF token, remembered). @throws UNAUTHENTICATED without one */
  async session(): Promise<SessionInfo> {
    const session = await this.call('getSession');
    this.#csrfToken = session.csrfToken;
    return session;
  }

  /** Ends the session and clears its cookie. */
  async signOut(): Promise<void> {
    await this.call('signOut');
    this.#csrfToken = undefined;
  }

  /** Credentials of one request: the bearer key, or in session mode the cookie and CSRF token. */
  #authOf(method: string, headers: Record<string, string>): Pick<RequestInit, 'credentials'> {
    if (!this.#sessionMode) {
      if (this.#key) headers.authorization = `Bearer ${this.#key}`;
      return {};
    }
    if (method !== 'GET' && method !== 'HEAD' && this.#csrfToken) headers[csrfHeaderName] = this.#csrfToken;
    return { credentials: 'same-origin' };
  }

  /** Calls one route. Errors come back as TrainyardError with the server's code and details. */
  async call<N extends RouteName>(name: N, input: Input<N> = {} as Input<N>): Promise<Output<N>> {
    const route = restApi[name];
    if ((route as { eventStream?: boolean }).eventStream) {
      throw new TrainyardError('INVALID_ARGUMENT', `route ${name} is an event stream; use events()`);
    }
    const { params, query, body } = input as {
      params?: Record<string, unknown>;
      query?: object;
      body?: unknown;
    };
    const url = this.#url(route.path, params, query);
    const headers: Record<string, string> = { accept: 'application/json' };
    const credentials = this.#authOf(route.method, headers);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: route.method,
        headers,
        ...credentials,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new TrainyardError(
        'UNAVAILABLE',
        `cannot reach ${this.endpoint}: ${(error as Error).message}`,
        {},
        {
          cause: error,
        },
      );
    }
    return (await this.#read(response)) as Output<N>;
  }

  /**
   * Reads a server-sent-events route (its contract has `eventStream`), such as
   * `streamTrainingJobLogs`, as an async iterable of `{event, id, data}` until the server ends it
   * or `signal` aborts. Errors before the first event come back as TrainyardError.
   *
   * @example
   * for await (const e of client.events('streamTrainingJobLogs', { params: { name: 'xgb-1' } })) {
   *   if (e.event === 'log') console.log(e.data.message);
   * }
   */
  async *events<N extends RouteName>(
    name: N,
    input: Input<N> = {} as Input<N>,
    options: { signal?: AbortSignal; lastEventId?: string } = {},
  ): AsyncGenerator<{ event: string; id?: string; data: Output<N> }> {
    const route = restApi[name] as { path: string; method: string; eventStream?: boolean };
    if (!route.eventStream)
      throw new TrainyardError('INVALID_ARGUMENT', `route ${name} is not an event stream; use call()`);
    const { params, query } = input as { params?: Record<string, unknown>; query?: object };
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const credentials = this.#authOf(route.method, headers);
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    let response: Response;
    try {
      response = await this.#fetch(this.#url(route.path, params, query), {
        method: route.method,
        headers,
        ...credentials,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw new TrainyardError(
        'UNAVAILABLE',
        `cannot reach ${this.endpoint}: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    }
    if (!response.ok || !response.body) {
      await this.#read(response);
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          let event = 'message';
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            else if (field === 'id') id = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          const parsed = JSON.parse(data.join('\n')) as Output<N>;
          if (event === 'error') {
            const error = parsed as unknown as { code?: string; message?: string };
            throw new TrainyardError(
              isErrorCode(error.code) ? error.code : 'INTERNAL',
              error.message ?? 'stream failed',
            );
          }
          yield { event, ...(id !== undefined ? { id } : {}), data: parsed };
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  #url(pattern: string, params: Record<string, unknown> | undefined, query: object | undefined): string {
    const path = pattern.replace(/:([a-zA-Z]+)/g, (_, param: string) =>
      encodeURIComponent(String(params?.[param] ?? '')),
    );
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) search.set(k, String(v));
    const tail = search.size > 0 ? `?${search}` : '';
    // An empty endpoint is the page's own origin: the path stays relative.
    return this.endpoint === '' ? `${path}${tail}` : new URL(`${this.endpoint}${path}${tail}`).toString();
  }

  /**
   * Streams `body` to a route that takes raw bytes (its contract has `rawBody`), such as
   * `uploadDatasetVersion`. The body is sent as it is read, never buffered whole; wrap it to
   * count bytes for a progress bar.
   *
   * @param body bytes, a Blob, a web ReadableStream or any async iterable of chunks (a Node stream)
   * @param options.contentType default `application/octet-stream`
   * @example
   * const version = await client.upload('uploadDatasetVersion',
   *   { params: { name: 'churn' }, query: { fileName: 'churn.csv', target: 'churned' } },
   *   createReadStream('churn.csv'));
   */
  async upload<N extends RouteName>(
    name: N,
    input: Omit<Input<N>, 'body'>,
    body: Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: { contentType?: string } = {},
  ): Promise<Output<N>> {
    const route = restApi[name] as { path: string; method: string; rawBody?: boolean };
    if (!route.rawBody)
      throw new TrainyardError('INVALID_ARGUMENT', `route ${name} does not take a raw body; use call()`);
    const { params, query } = input as { params?: Record<string, unknown>; query?: object };
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': options.contentType ?? 'application/octet-stream',
    };
    const credentials = this.#authOf(route.method, headers);
    const streamed =
      body instanceof Uint8Array || body instanceof Blob || body instanceof ReadableStream
        ? body
        : toWebStream(body);
    let response: Response;
    try {
      response = await this.#fetch(this.#url(route.path, params, query), {
        method: route.method,
        headers,
        body: streamed as unknown as RequestInit['body'],
        ...credentials,
        // Node's fetch needs this to send a stream body.
        duplex: 'half',
      } as RequestInit);
    } catch (error) {
      throw new TrainyardError(
        'UNAVAILABLE',
        `cannot reach ${this.endpoint}: ${(error as Error).message}`,
        {},
        { cause: error },
      );
    }
    return (await this.#read(response)) as Output<N>;
  }

  async #read(response: Response): Promise<unknown> {
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok) return parsed;
    const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
    const code = isErrorCode(error?.code) ? error.code : codeOfHttpStatus(response.status);
    const message =
      typeof error?.message === 'string' ? error.message : `HTTP ${response.status}: ${text.slice(0, 200)}`;
    const { code: _c, message: _m, retryable: _r, ...details } = error ?? {};
    throw new TrainyardError(code, message, details);
  }

  /**
   * Invokes a real-time endpoint (`POST /endpoints/:name/invocations`), as SageMaker's
   * InvokeEndpoint does. A model's own error comes back as a TrainyardError with
   * `details.errorType` `ModelError` and the model's `originalMessage`.
   *
   * @param options.contentType `text/csv` (default), `application/json`, `application/jsonlines` or `application/x-npy`
   * @example
   * const { body, invokedProductionVariant } = await client.invokeEndpoint('churn', '0.5,1,3\n');
   */
  async invokeEndpoint(
    name: string,
    body: string | Uint8Array,
    options: { contentType?: string; accept?: string; targetVariant?: string } = {},
  ): Promise<{ body: string; contentType: string; invokedProductionVariant: string }> {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'text/csv' };
    if (options.accept) headers.accept = options.accept;
    if (options.targetVariant) headers['x-amzn-sagemaker-target-variant'] = options.targetVariant;
    const credentials = this.#authOf('POST', headers);
    let response: Response;
    try {
      response = await this.#fetch(`${this.endpoint}/endpoints/${encodeURIComponent(name)}/invocations`, {
        method: 'POST',
        headers,
        ...credentials,
        body: body as unknown as RequestInit['body'],
      });
    } catch (error) {
      throw new TrainyardError(
        'UNAVAILABLE',
        `cannot reach ${this.endpoint}: ${(error as Error).message}`,
        {},
        {
          cause: error,
        },
      );
    }
    if (!response.ok) await this.#read(response);
    return {
      body: await response.text(),
      contentType: response.headers.get('content-type') ?? '',
      invokedProductionVariant: response.headers.get('x-amzn-invoked-production-variant') ?? '',
    };
  }

  /**
   * An endpoint's stored metric series (`GET /api/v1/endpoints/:name/metrics`): invocations,
   * 4xx/5xx, model and overhead latency (mean, p50/p90/p99) and instance CPU/memory per variant,
   * and per instance with `perInstance`. The window is the last `minutes` (default 30) or `from`
   * to `to` (Dates or ISO 8601 strings), at most 24 hours.
   *
   * @example
   * const m = await client.endpointMetrics('churn', { minutes: 60, perInstance: true });
   */
  endpointMetrics(
    name: string,
    window: { minutes?: number; from?: Date | string; to?: Date | string; perInstance?: boolean } = {},
  ): Promise<Output<'getEndpointMetrics'>> {
    const iso = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);
    const query: Record<string, string> = {};
    if (window.minutes !== undefined) query.minutes = String(window.minutes);
    if (window.from !== undefined) query.from = iso(window.from) as string;
    if (window.to !== undefined) query.to = iso(window.to) as string;
    if (window.perInstance) query.perInstance = 'true';
    return this.call('getEndpointMetrics', { params: { name }, query } as Input<'getEndpointMetrics'>);
  }

  /** Iterates every item of a list route, following page tokens. */
  async *listAll<N extends PagedRoute>(
    name: N,
    input: Input<N> = {} as Input<N>,
  ): AsyncGenerator<Output<N> extends { items: (infer T)[] } ? T : never> {
    let pageToken: string | undefined;
    do {
      const query = { ...((input as { query?: object }).query ?? {}), ...(pageToken ? { pageToken } : {}) };
      const page = (await this.call(name, { ...input, query } as Input<N>)) as {
        items: never[];
        nextPageToken?: string;
      };
      yield* page.items;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
}
