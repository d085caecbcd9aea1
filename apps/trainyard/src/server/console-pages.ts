import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's pages: scripts and styles from its own origin only, no inline script, no
 * framing, no form posts elsewhere. Inline styles stay allowed: chart and component libraries
 * set them, and a style cannot run code.
 */
export const consoleContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

/** Paths that belong to the API, the invoke path and the operator's probes: never the console. */
const serverPathPattern = /^\/(api|endpoints)(\/|$)|^\/(healthz|readyz|metrics)$/;

/** True when the request looks like an AWS call (any X-Amz-* header or query, or an AWS signature). */
function isAwsRequest(request: FastifyRequest): boolean {
  if (/^AWS4?-?/i.test(String(request.headers.authorization ?? ''))) return true;
  if (Object.keys(request.headers).some((h) => h.startsWith('x-amz-'))) return true;
  const query = (request.raw.url ?? '').split('?')[1] ?? '';
  return /(^|&)(x-amz-|awsaccesskeyid=|signature=)/i.test(query);
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', consoleContentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY');
}

/** Serves the built console from `dir`: hashed assets, other files, and index.html for app routes. */
export class ConsolePages {
  readonly #root: string;

  constructor(dir: string) {
    this.#root = resolve(dir);
  }

  /** Whether a build is there now (checked per request, so a build after start is picked up). */
  async built(): Promise<boolean> {
    return (await this.#file('index.html')) !== undefined;
  }

  /** index.html, never cached: it names the current hashed assets. */
  async sendIndex(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const file = await this.#file('index.html');
    if (!file) return false;
    securityHeaders(reply)
      .header('cache-control', 'no-cache')
      .type(contentTypes['.html'] as string);
    await this.#send(request, reply, file);
    return true;
  }

  /** The file, or its build-time gzip copy (`<file>.gz`) when the client accepts gzip. */
  async #send(
    request: FastifyRequest,
    reply: FastifyReply,
    file: { path: string; size: number },
  ): Promise<void> {
    reply.header('vary', 'accept-encoding');
    const gzip = /\bgzip\b/i.test(String(request.headers['accept-encoding'] ?? ''))
      ? await this.#file(`${file.path.slice(this.#root.length + 1)}.gz`)
      : undefined;
    if (gzip) reply.header('content-encoding', 'gzip');
    const chosen = gzip ?? file;
    reply.header('content-length', chosen.size);
    await reply.send(createReadStream(chosen.path));
  }

  /**
   * Answers a GET/HEAD no route matched: a file of the build, or index.html for a page of the app
   * (a browser asking for HTML). False when it is neither: the caller answers its JSON 404.
   */
  async sendFallback(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    if (serverPathPattern.test(path) || isAwsRequest(request)) return false;
    let relative: string;
    try {
      relative = decodeURIComponent(path).replace(/^\/+/, '');
    } catch {
      return false;
    }
    // Dot segments, dotfiles, NUL and backslashes never name a file of the build.
    const segments = relative.split('/');
    const plain =
      relative !== '' &&
      !relative.includes('\0') &&
      !relative.includes('\\') &&
      segments.every((s) => s !== '' && !s.startsWith('.'));
    const file = plain ? await this.#file(relative) : undefined;
    if (file) {
      const immutable = relative.startsWith('assets/');
      securityHeaders(reply)
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
        .type(contentTypes[extname(file.path).toLowerCase()] ?? 'application/octet-stream');
      await this.#send(request, reply, file);
      return true;
    }
    // A missing asset is a 404, not the app: a stale hashed name must not come back as HTML.
    if (relative.startsWith('assets/') || !String(request.headers.accept ?? '').includes('text/html'))
      return false;
    return this.sendIndex(request, reply);
  }

  async #file(relative: string): Promise<{ path: string; size: number } | undefined> {
    const path = resolve(join(this.#root, relative));
    if (path !== this.#root && !path.startsWith(this.#root + sep)) return undefined;
    try {
      const info = await stat(path);
      return info.isFile() ? { path, size: info.size } : undefined;
    } catch {
      return undefined;
    }
  }
}
