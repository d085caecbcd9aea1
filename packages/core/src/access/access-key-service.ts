import type { AccessKey, CreatedKey } from '@trainyard/contracts/access-keys';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import type { Role } from '@trainyard/contracts/route';
import type { AccessKeyStore, PageRequest, StoredAccessKey } from '../ports/metadata-store.js';
import { hashSecret, newAccessKeyId, newSecret, type SecretSealer } from './key-material.js';

/** Who is calling, once a key has been checked. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

/** Who calls when auth is off (a loopback-only server) or a route is public: every door uses this one. */
export const anonymousAdmin: Principal = Object.freeze({
  keyId: 'anonymous',
  name: 'anonymous',
  role: 'admin',
});

/** How often a key's last-used time is written: at most once a minute per key. */
const touchIntervalMs = 60_000;

/**
 * How long a verified key's row is reused without reading the store again. A revocation or rotation
 * through this service takes effect at once in this process; one made by another API process
 * within this time. Expiry and rotation grace are checked on every call either way.
 */
const verifiedCacheMs = 1000;
/** Verified keys remembered at most; unknown secrets are never remembered (no growth by guessing). */
const verifiedCacheMax = 10_000;

function publicView(key: StoredAccessKey): AccessKey {
  const {
    secretHash: _hash,
    secretSealed: _sealed,
    previousSecretHash: _previousHash,
    previousSecretSealed: _previousSealed,
    ...view
  } = key;
  return view;
}

/** Issues, checks and revokes access keys. Only hashes and sealed secrets are stored. */
export class AccessKeyService {
  readonly #store: AccessKeyStore;
  readonly #sealer: SecretSealer;
  readonly #lastTouched = new Map<string, number>();
  /** Secret hash → the key row it matched and when it was read: the invoke path checks a key per request. */
  readonly #verified = new Map<string, { key: StoredAccessKey; at: number }>();
  readonly #verifiedMs: number;

  constructor(store: AccessKeyStore, sealer: SecretSealer, options: { verifiedCacheMs?: number } = {}) {
    this.#store = store;
    this.#sealer = sealer;
    this.#verifiedMs = options.verifiedCacheMs ?? verifiedCacheMs;
  }

  #forget(id: string): void {
    for (const [hash, entry] of this.#verified) if (entry.key.id === id) this.#verified.delete(hash);
  }

  /**
   * On a store with no active key, creates the first admin key: from `adminSecret` when given
   * (automation sets TRAINYARD_ADMIN_KEY), else a fresh one that is returned to be printed once.
   * When `adminSecret` is given and no key has it yet, it is added as an admin key too, so a
   * restart with the same setting keeps working.
   */
  async bootstrap(adminSecret?: string): Promise<CreatedKey | undefined> {
    if (adminSecret !== undefined) {
      if (adminSecret.length < 16) {
        throw new TrainyardError('INVALID_ARGUMENT', 'adminKey: must be at least 16 characters', {
          field: 'adminKey',
        });
      }
      const existing = await this.#store.findBySecretHash(hashSecret(adminSecret));
      // Known already; when it was revoked, that was on purpose and it stays revoked.
      if (existing) return undefined;
      const name = (await this.#store.countActive()) === 0 ? 'admin' : `admin-${Date.now()}`;
      return this.#issue(name, 'admin', adminSecret);
    }
    if ((await this.#store.countActive()) > 0) return undefined;
    return this.#issue('admin', 'admin', newSecret());
  }

  /**
   * @param options.expiresAt ISO 8601 time after which the key is refused (must be in the future)
   * @throws INVALID_ARGUMENT for an expiry in the past; ALREADY_EXISTS for an active key's name
   */
  async create(
    name: string,
    role: Role,
    options: { expiresAt?: string | undefined } = {},
  ): Promise<CreatedKey> {
    if (options.expiresAt !== undefined && !(Date.parse(options.expiresAt) > Date.now())) {
      throw new TrainyardError('INVALID_ARGUMENT', `expiresAt: ${options.expiresAt} is not in the future`, {
        field: 'expiresAt',
      });
    }
    return this.#issue(name, role, newSecret(), options.expiresAt);
  }

  async #issue(name: string, role: Role, secret: string, expiresAt?: string): Promise<CreatedKey> {
    const stored = await this.#store.create({
      id: newAccessKeyId(),
      name,
      role,
      secretHash: hashSecret(secret),
      secretSealed: this.#sealer.seal(secret),
      ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
    });
    return { ...publicView(stored), secret };
  }

  /**
   * A new secret for key `id`; the current one stays valid for `graceSeconds` (0: refused at once).
   * @throws NOT_FOUND for an unknown or revoked key
   */
  async rotate(id: string, graceSeconds: number): Promise<CreatedKey> {
    const secret = newSecret();
    this.#forget(id);
    const stored = await this.#store.rotate(id, {
      secretHash: hashSecret(secret),
      secretSealed: this.#sealer.seal(secret),
      previousExpiresAt: new Date(Date.now() + graceSeconds * 1000),
    });
    this.#forget(id);
    return { ...publicView(stored), secret };
  }

  /** Refuses revoked and expired keys, and replaced secrets past their grace. */
  #check(key: StoredAccessKey, usedPrevious: boolean): void {
    const now = Date.now();
    if (key.revokedAt !== null)
      throw new TrainyardError('UNAUTHENTICATED', `access key ${key.id} was revoked`);
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) {
      throw new TrainyardError('UNAUTHENTICATED', `access key ${key.id} expired at ${key.expiresAt}`);
    }
    if (
      usedPrevious &&
      !(key.previousSecretExpiresAt !== null && Date.parse(key.previousSecretExpiresAt) > now)
    ) {
      throw new TrainyardError(
        'UNAUTHENTICATED',
        `this secret of access key ${key.id} was replaced by a rotation and its grace period is over`,
      );
    }
  }

  /** @throws UNAUTHENTICATED for unknown, revoked or expired secrets */
  async authenticate(secret: string): Promise<Principal> {
    const hash = hashSecret(secret);
    const now = Date.now();
    const cached = this.#verified.get(hash);
    let key: StoredAccessKey | undefined;
    if (cached && now - cached.at < this.#verifiedMs) key = cached.key;
    else {
      key = await this.#store.findBySecretHash(hash);
      if (!key) {
        this.#verified.delete(hash);
        throw new TrainyardError('UNAUTHENTICATED', 'the access key is not known');
      }
      if (this.#verifiedMs > 0) {
        if (this.#verified.size >= verifiedCacheMax) this.#verified.clear();
        this.#verified.set(hash, { key, at: now });
      }
    }
    this.#check(key, key.secretHash !== hash);
    // No await when the key was touched lately (nearly every call): one promise less per request.
    const touched = this.#touch(key.id);
    if (touched) await touched;
    return { keyId: key.id, name: key.name, role: key.role };
  }

  /**
   * For SigV4: the principal and the secrets of an access key id; `previousSecret` is set while a
   * rotation's grace runs (a signature made with either is accepted). @throws UNAUTHENTICATED
   */
  async resolveAccessKeyId(
    id: string,
  ): Promise<{ principal: Principal; secret: string; previousSecret?: string }> {
    let key: StoredAccessKey;
    try {
      key = await this.#store.get(id);
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) {
        throw new TrainyardError('UNAUTHENTICATED', `access key id ${id} is not known`);
      }
      throw error;
    }
    this.#check(key, false);
    await this.#touch(key.id);
    const graceRunning =
      key.previousSecretSealed !== null &&
      key.previousSecretExpiresAt !== null &&
      Date.parse(key.previousSecretExpiresAt) > Date.now();
    return {
      principal: { keyId: key.id, name: key.name, role: key.role },
      secret: this.#sealer.open(key.secretSealed),
      ...(graceRunning ? { previousSecret: this.#sealer.open(key.previousSecretSealed as string) } : {}),
    };
  }

  /**
   * The principal of key `id` while the key is usable: console sessions name their key and are
   * checked against it on every call, so a revoked or expired key ends its sessions at once.
   * @throws UNAUTHENTICATED for an unknown, revoked or expired key
   */
  async principalOfKey(id: string): Promise<Principal> {
    let key: StoredAccessKey;
    try {
      key = await this.#store.get(id);
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) {
        throw new TrainyardError('UNAUTHENTICATED', `access key id ${id} is not known`);
      }
      throw error;
    }
    this.#check(key, false);
    await this.#touch(key.id);
    return { keyId: key.id, name: key.name, role: key.role };
  }

  async list(page?: PageRequest): Promise<Page<AccessKey>> {
    const result = await this.#store.list(page);
    return { ...result, items: result.items.map(publicView) };
  }

  async revoke(id: string): Promise<AccessKey> {
    this.#forget(id);
    const revoked = await this.#store.revoke(id);
    this.#forget(id);
    return publicView(revoked);
  }

  /** Records `lastUsedAt` at most once per interval; undefined when there is nothing to write. */
  #touch(id: string): Promise<void> | undefined {
    const now = Date.now();
    if (now - (this.#lastTouched.get(id) ?? 0) < touchIntervalMs) return undefined;
    this.#lastTouched.set(id, now);
    return this.#store.touch(id, new Date(now));
  }
}
