import type { SessionStore, StoredSession } from '@trainyard/core/ports/metadata-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { sqlCall } from './sql-errors.js';

export class SessionSqlStore implements SessionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(session: StoredSession): Promise<void> {
    await sqlCall('session', () =>
      this.db
        .insertInto('console_sessions')
        .values({
          id_hash: session.idHash,
          key_id: session.keyId,
          created_at: session.createdAt.getTime(),
          expires_at: session.expiresAt.getTime(),
        })
        .execute(),
    );
  }

  async find(idHash: string): Promise<StoredSession | undefined> {
    const row = await sqlCall('session', () =>
      this.db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst(),
    );
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      keyId: row.key_id,
      createdAt: new Date(Number(row.created_at)),
      expiresAt: new Date(Number(row.expires_at)),
    };
  }

  async delete(idHash: string): Promise<void> {
    await sqlCall('session', () =>
      this.db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute(),
    );
  }

  async deleteForKey(keyId: string): Promise<number> {
    const result = await sqlCall('sessions', () =>
      this.db.deleteFrom('console_sessions').where('key_id', '=', keyId).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async deleteExpired(now: Date): Promise<number> {
    const result = await sqlCall('sessions', () =>
      this.db.deleteFrom('console_sessions').where('expires_at', '<=', now.getTime()).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
