import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { SessionStore } from '../ports/metadata-store.js';
import type { AccessKeyService, Principal } from './access-key-service.js';

/** A signed-in console session: the cookie value (shown once) and its CSRF token. */
export interface OpenedSession {
  /** The opaque id the cookie carries; only its hash is stored. */
  id: string;
  csrfToken: string;
  principal: Principal;
  expiresAt: Date;
}

export interface SessionServiceOptions {
  /** How long a session lasts from sign-in, ms. */
  lifetimeMs: number;
  /** Failed sign-ins allowed per source address within `failureWindowMs`. Default 10. */
  maxFailures?: number;
  /** Default 60 000 (one minute). */
  failureWindowMs?: number;
  now?: () => number;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The CSRF token is derived from the session id (bound to it, nothing more to store) under a
 * label of its own, so neither the stored id hash nor the token reveals the other or the id.
 */
function csrfTokenOf(sessionId: string): string {
  return createHash('sha256').update(`trainyard-csrf\0${sessionId}`, 'utf8').digest('base64url');
}

/**
 * Console sessions: an access key secret is checked once at sign-in and traded for a random
 * session id (an HttpOnly cookie). Each use re-checks the key, so a revoked or expired key ends
 * its sessions at once. Failed sign-ins are limited per source address.
 */
export class SessionService {
  readonly #store: SessionStore;
  readonly #keys: AccessKeyService;
  readonly #lifetimeMs: number;
  readonly #maxFailures: number;
  readonly #failureWindowMs: number;
  readonly #now: () => number;
  /** Failure times per address within the window; addresses with none are dropped. */
  readonly #failures = new Map<string, number[]>();

  constructor(store: SessionStore, keys: AccessKeyService, options: SessionServiceOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#lifetimeMs = options.lifetimeMs;
    this.#maxFailures = options.maxFailures ?? 10;
    this.#failureWindowMs = options.failureWindowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks `secret` and opens a new session (a fresh id every time: a session id planted before
   * sign-in is never adopted).
   * @throws RESOURCE_EXHAUSTED after too many failures from `source`; UNAUTHENTICATED for a bad secret
   */
  async signIn(secret: string, source: string): Promise<OpenedSession> {
    const now = this.#now();
    const recent = (this.#failures.get(source) ?? []).filter((t) => t > now - this.#failureWindowMs);
    if (recent.length >= this.#maxFailures) {
      const retryAfterSeconds = Math.ceil(((recent[0] ?? now) + this.#failureWindowMs - now) / 1000);
      throw new TrainyardError(
        'RESOURCE_EXHAUSTED',
        `too many failed sign-ins from this address; try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    let principal: Principal;
    try {
      principal = await this.#keys.authenticate(secret);
    } catch (error) {
      if (TrainyardError.is(error, 'UNAUTHENTICATED')) {
        recent.push(now);
        this.#failures.set(source, recent);
        this.#sweepFailures(now);
        // One message for every refusal: sign-in does not tell which keys exist or were revoked.
        throw new TrainyardError('UNAUTHENTICATED', 'sign-in refused: the access key is not valid');
      }
      throw error;
    }
    this.#failures.delete(source);
    const id = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now + this.#lifetimeMs);
    await this.#store.create({
      idHash: sha256(id),
      keyId: principal.keyId,
      createdAt: new Date(now),
      expiresAt,
    });
    return { id, csrfToken: csrfTokenOf(id), principal, expiresAt };
  }

  /**
   * The principal of a session id, its key checked again.
   * @throws UNAUTHENTICATED for an unknown or expired session, or a revoked or expired key
   */
  async authenticate(sessionId: string): Promise<{ principal: Principal; csrfToken: string }> {
    const idHash = sha256(sessionId);
    const session = await this.#store.find(idHash);
    if (!session)
      throw new TrainyardError('UNAUTHENTICATED', 'the session is not known or has ended; sign in again');
    if (session.expiresAt.getTime() <= this.#now()) {
      await this.#store.delete(idHash);
      throw new TrainyardError('UNAUTHENTICATED', 'the session has expired; sign in again');
    }
    let principal: Principal;
    try {
      principal = await this.#keys.principalOfKey(session.keyId);
    } catch (error) {
      if (TrainyardError.is(error, 'UNAUTHENTICATED')) await this.#store.delete(idHash);
      throw error;
    }
    return { principal, csrfToken: csrfTokenOf(sessionId) };
  }

  /** Whether `token` is the CSRF token of session `sessionId` (compared in constant time). */
  csrfTokenMatches(sessionId: string, token: string | undefined): boolean {
    if (token === undefined) return false;
    const expected = Buffer.from(csrfTokenOf(sessionId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async signOut(sessionId: string): Promise<void> {
    await this.#store.delete(sha256(sessionId));
  }

  /** Ends every session of a key, e.g. when it is revoked. */
  async endSessionsOf(keyId: string): Promise<number> {
    return this.#store.deleteForKey(keyId);
  }

  async deleteExpired(): Promise<number> {
    return this.#store.deleteExpired(new Date(this.#now()));
  }

  #sweepFailures(now: number): void {
    if (this.#failures.size < 10_000) return;
    for (const [source, times] of this.#failures) {
      if (!times.some((t) => t > now - this.#failureWindowMs)) this.#failures.delete(source);
    }
  }
}
