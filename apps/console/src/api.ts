import { TrainyardError } from '@trainyard/contracts/errors';
import type { Quickstart } from '@trainyard/contracts/quickstart-routes';
import { TrainyardClient } from '@trainyard/sdk/trainyard-client';

export type Role = 'admin' | 'developer' | 'viewer' | 'invoker';
export interface Session {
  keyId: string;
  name: string;
  role: Role;
  csrfToken: string;
}

/**
 * The console's client: the session cookie (HttpOnly, set by the server) authenticates, and the
 * CSRF token the session returned goes with every mutating call. No secret is kept in the page.
 */
export function sessionClient(csrfToken?: string, fetchImpl?: typeof fetch): TrainyardClient {
  return new TrainyardClient({
    baseUrl: '',
    credentials: 'session',
    ...(csrfToken ? { csrfToken } : {}),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** What a role may do, for deciding what pages offer (the server still decides). */
export function can(role: Role | undefined, action: 'read' | 'write' | 'invoke' | 'admin'): boolean {
  if (!role) return false;
  if (action === 'admin') return role === 'admin';
  if (action === 'write') return role === 'admin' || role === 'developer';
  if (action === 'invoke') return role !== 'viewer';
  return role !== 'invoker';
}

export function errorText(error: unknown): string {
  if (error instanceof TrainyardError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export function isUnauthenticated(error: unknown): boolean {
  return error instanceof TrainyardError && error.code === 'UNAUTHENTICATED';
}

/**
 * A fetch over XMLHttpRequest that reports upload progress: the SDK's `upload` sends the file
 * through it so the page can draw a progress bar (fetch has no upload progress in browsers).
 */
export function progressFetch(onProgress: (sent: number, total: number) => void): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(init.method ?? 'GET', String(input instanceof Request ? input.url : input));
      xhr.withCredentials = true;
      new Headers(init.headers).forEach((value, key) => {
        xhr.setRequestHeader(key, value);
      });
      xhr.responseType = 'text';
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      xhr.onload = () => {
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
          const at = line.indexOf(':');
          if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
        }
        resolve(new Response(xhr.status === 204 ? null : xhr.responseText, { status: xhr.status, headers }));
      };
      xhr.onerror = () => reject(new TypeError('network error'));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      init.signal?.addEventListener('abort', () => xhr.abort());
      xhr.send((init.body as XMLHttpRequestBodyInit | null | undefined) ?? null);
    });
}

/** The sample project run (`GET /api/v1/quickstart/:id`). */
export type QuickstartRun = Quickstart;
