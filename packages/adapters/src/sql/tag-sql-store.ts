import type { ResourceTag, TagStore } from '@trainyard/core/ports/tag-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { sqlCall } from './sql-errors.js';

export class TagSqlStore implements TagStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(resource: string): Promise<ResourceTag[]> {
    const rows = await sqlCall('tags', () =>
      this.db
        .selectFrom('resource_tags')
        .select(['tag_key', 'tag_value'])
        .where('resource', '=', resource)
        .orderBy('tag_key')
        .execute(),
    );
    return rows.map((r) => ({ Key: r.tag_key, Value: r.tag_value }));
  }

  async put(resource: string, tags: readonly ResourceTag[]): Promise<void> {
    if (tags.length === 0) return;
    await sqlCall('tags', () =>
      this.db
        .insertInto('resource_tags')
        .values(tags.map((t) => ({ resource, tag_key: t.Key, tag_value: t.Value })))
        .onConflict((oc) =>
          oc
            .columns(['resource', 'tag_key'])
            .doUpdateSet((eb) => ({ tag_value: eb.ref('excluded.tag_value') })),
        )
        .execute(),
    );
  }

  async remove(resource: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await sqlCall('tags', () =>
      this.db
        .deleteFrom('resource_tags')
        .where('resource', '=', resource)
        .where('tag_key', 'in', [...keys])
        .execute(),
    );
  }

  async clear(resource: string): Promise<void> {
    await sqlCall('tags', () =>
      this.db.deleteFrom('resource_tags').where('resource', '=', resource).execute(),
    );
  }
}
