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

function publicView(key: StoredAccessKey): AccessKey {
  const { secretHash: _hash, secretSealed: _sealed, ...view } = key;
  return view;
}

/** Issues, checks and revokes access keys. Only hashes and sealed secrets are stored. */
export class AccessKeyService {
  readonly #store: AccessKeyStore;
  readonly #sealer: SecretSealer;
  readonly #lastTouched = new Map<string, number>();

  constructor(store: AccessKeyStore, sealer: SecretSealer) {
    this.#store = store;
    this.#sealer = sealer;
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

  async create(name: string, role: Role): Promise<CreatedKey> {
    return this.#issue(name, role, newSecret());
  }

  async #issue(name: string, role: Role, secret: string): Promise<CreatedKey> {
    const stored = await this.#store.create({
      id: newAccessKeyId(),
      name,
      role,
      secretHash: hashSecret(secret),
      secretSealed: this.#sealer.seal(secret),
    });
    return { ...publicView(stored), secret };
  }

  /** @throws UNAUTHENTICATED for unknown or revoked secrets */
  async authenticate(secret: string): Promise<Principal> {
    const key = await this.#store.findBySecretHash(hashSecret(secret));
    if (!key) throw new TrainyardError('UNAUTHENTICATED', 'the access key is not known');
    if (key.revokedAt !== null)
      throw new TrainyardError('UNAUTHENTICATED', `access key ${key.id} was revoked`);
    await this.#touch(key.id);
    return { keyId: key.id, name: key.name, role: key.role };
  }

  /** For SigV4: the principal and secret of an access key id. @throws UNAUTHENTICATED */
  async resolveAccessKeyId(id: string): Promise<{ principal: Principal; secret: string }> {
    let key: StoredAccessKey;
    try {
      key = await this.#store.get(id);
    } catch (error) {
      if (TrainyardError.is(error, 'NOT_FOUND')) {
        throw new TrainyardError('UNAUTHENTICATED', `access key id ${id} is not known`);
      }
      throw error;
    }
    if (key.revokedAt !== null)
      throw new TrainyardError('UNAUTHENTICATED', `access key ${key.id} was revoked`);
    await this.#touch(key.id);
    return {
      principal: { keyId: key.id, name: key.name, role: key.role },
      secret: this.#sealer.open(key.secretSealed),
    };
  }

  async list(page?: PageRequest): Promise<Page<AccessKey>> {
    const result = await this.#store.list(page);
    return { ...result, items: result.items.map(publicView) };
  }

  async revoke(id: string): Promise<AccessKey> {
    return publicView(await this.#store.revoke(id));
  }

  async #touch(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.#lastTouched.get(id) ?? 0) < touchIntervalMs) return;
    this.#lastTouched.set(id, now);
    await this.#store.touch(id, new Date(now));
  }
}
