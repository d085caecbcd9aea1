import type { LeaseStore } from '@trainyard/core/ports/metadata-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { sqlCall } from './sql-errors.js';

export class LeaseSqlStore implements LeaseStore {
  constructor(private readonly db: Kysely<Database>) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    // Insert, or take over when we already hold it or the holder let it expire: one atomic upsert.
    await sqlCall('lease', () =>
      this.db
        .insertInto('leases')
        .values({ name, holder, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder, expires_at: now + ttlMs })
            .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', now)])),
        )
        .execute(),
    );
    return (await this.holderOf(name)) === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
  }

  async holderOf(name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('leases')
      .select(['holder', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row && Number(row.expires_at) >= Date.now() ? row.holder : undefined;
  }
}
