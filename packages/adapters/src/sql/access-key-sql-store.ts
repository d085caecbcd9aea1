import { TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import type { Role } from '@trainyard/contracts/route';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type {
  AccessKeyStore,
  KeyRotation,
  NewAccessKey,
  PageRequest,
  StoredAccessKey,
} from '@trainyard/core/ports/metadata-store';
import type { Kysely, Selectable } from 'kysely';
import type { AccessKeysTable, Database } from './database.js';
import { sqlCall } from './sql-errors.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

function fromRow(row: Selectable<AccessKeysTable>): StoredAccessKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
    expiresAt: iso(row.expires_at),
    previousSecretExpiresAt: iso(row.previous_expires_at),
    secretHash: row.secret_hash,
    secretSealed: row.secret_sealed,
    previousSecretHash: row.previous_secret_hash,
    previousSecretSealed: row.previous_secret_sealed,
  };
}

export class AccessKeySqlStore implements AccessKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(key: NewAccessKey): Promise<StoredAccessKey> {
    const row = await sqlCall(`access key "${key.name}"`, () =>
      this.db
        .insertInto('access_keys')
        .values({
          id: key.id,
          name: key.name,
          role: key.role,
          secret_hash: key.secretHash,
          secret_sealed: key.secretSealed,
          created_at: Date.now(),
          last_used_at: null,
          revoked_at: null,
          expires_at: key.expiresAt ? Date.parse(key.expiresAt) : null,
          previous_secret_hash: null,
          previous_secret_sealed: null,
          previous_expires_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return fromRow(row);
  }

  async get(id: string): Promise<StoredAccessKey> {
    const row = await this.db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new TrainyardError('NOT_FOUND', `access key ${id} does not exist`, { id });
    return fromRow(row);
  }

  async findBySecretHash(secretHash: string): Promise<StoredAccessKey | undefined> {
    const row = await sqlCall('access key', async () => {
      const current = await this.db
        .selectFrom('access_keys')
        .selectAll()
        .where('secret_hash', '=', secretHash)
        .executeTakeFirst();
      return (
        current ??
        this.db
          .selectFrom('access_keys')
          .selectAll()
          .where('previous_secret_hash', '=', secretHash)
          .executeTakeFirst()
      );
    });
    return row ? fromRow(row) : undefined;
  }

  async rotate(id: string, rotation: KeyRotation): Promise<StoredAccessKey> {
    const result = await sqlCall('access key', () =>
      this.db
        .updateTable('access_keys')
        .set((eb) => ({
          previous_secret_hash: eb.ref('secret_hash'),
          previous_secret_sealed: eb.ref('secret_sealed'),
          previous_expires_at: rotation.previousExpiresAt.getTime(),
          secret_hash: rotation.secretHash,
          secret_sealed: rotation.secretSealed,
        }))
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) {
      throw new TrainyardError('NOT_FOUND', `access key ${id} does not exist or was revoked`, { id });
    }
    return this.get(id);
  }

  async list(page: PageRequest = {}): Promise<Page<StoredAccessKey>> {
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db
      .selectFrom('access_keys')
      .selectAll()
      .orderBy('id')
      .limit(size + 1);
    if (after !== undefined) query = query.where('id', '>', after);
    const rows = await sqlCall('access keys', () => query.execute());
    return toPage(rows.map(fromRow), size, (k) => k.id);
  }

  async revoke(id: string): Promise<StoredAccessKey> {
    await this.db
      .updateTable('access_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    return this.get(id);
  }

  async touch(id: string, at: Date): Promise<void> {
    await sqlCall('access key', () =>
      this.db.updateTable('access_keys').set({ last_used_at: at.getTime() }).where('id', '=', id).execute(),
    );
  }

  async countActive(): Promise<number> {
    const row = await this.db
      .selectFrom('access_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
