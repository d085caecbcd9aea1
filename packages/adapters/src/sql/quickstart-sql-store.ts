import { TrainyardError } from '@trainyard/contracts/errors';
import type { Quickstart } from '@trainyard/contracts/quickstart-routes';
import type { QuickstartStore } from '@trainyard/core/ports/metadata-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { sqlCall } from './sql-errors.js';

export class QuickstartSqlStore implements QuickstartStore {
  constructor(private readonly db: Kysely<Database>) {}

  async save(run: Quickstart): Promise<void> {
    const row = {
      id: run.id,
      status: run.status,
      document: JSON.stringify(run),
      created_at: Date.parse(run.createdAt),
      updated_at: Date.parse(run.updatedAt),
    };
    await sqlCall(`quickstart "${run.id}"`, () =>
      this.db
        .insertInto('quickstarts')
        .values(row)
        .onConflict((c) =>
          c
            .column('id')
            .doUpdateSet({ status: row.status, document: row.document, updated_at: row.updated_at }),
        )
        .execute(),
    );
  }

  async get(id: string): Promise<Quickstart> {
    const row = await sqlCall(`quickstart "${id}"`, () =>
      this.db.selectFrom('quickstarts').select('document').where('id', '=', id).executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `quickstart "${id}" does not exist`, { field: 'id' });
    return JSON.parse(row.document) as Quickstart;
  }

  async list(limit: number): Promise<Quickstart[]> {
    const rows = await sqlCall('quickstarts', () =>
      this.db
        .selectFrom('quickstarts')
        .select('document')
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => JSON.parse(r.document) as Quickstart);
  }
}
