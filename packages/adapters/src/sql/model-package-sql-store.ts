import { TrainyardError } from '@trainyard/contracts/errors';
import type { ModelPackage, ModelPackageGroup } from '@trainyard/contracts/model-packages';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type {
  ModelPackageFilter,
  ModelPackageGroupFilter,
  ModelPackageStore,
} from '@trainyard/core/ports/model-package-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { RegistryTables } from './registry-tables.js';
import { sqlCall } from './sql-errors.js';

type Db = Kysely<Database & RegistryTables>;

function groupOf(row: { document: string; latest_version: number }): ModelPackageGroup {
  return { ...(JSON.parse(row.document) as ModelPackageGroup), LatestVersion: Number(row.latest_version) };
}

/** Keyset of a package listing: group key and zero-padded version, so text order is list order. */
function packageKey(groupKey: string, version: number): string {
  return `${groupKey}/${String(version).padStart(9, '0')}`;
}

/** A token that decodes but is not one of this listing's (another list's, or forged). */
function badToken(): TrainyardError {
  return new TrainyardError('INVALID_ARGUMENT', 'pageToken: is not a token returned by a previous page', {
    field: 'pageToken',
  });
}

/** ModelPackageStore over Kysely (SQLite and PostgreSQL). */
export class ModelPackageSqlStore implements ModelPackageStore {
  private readonly db: Db;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<RegistryTables>();
  }

  async createGroup(group: ModelPackageGroup): Promise<ModelPackageGroup> {
    const name = group.ModelPackageGroupName;
    await sqlCall(`model package group "${name}"`, () =>
      this.db
        .insertInto('model_package_groups')
        .values({
          name_key: name.toLowerCase(),
          name,
          latest_version: 0,
          document: JSON.stringify(group),
          created_at: Date.parse(group.CreationTime),
        })
        .execute(),
    );
    return { ...group, LatestVersion: 0 };
  }

  async getGroup(name: string): Promise<ModelPackageGroup> {
    const row = await sqlCall('model package group', () =>
      this.db
        .selectFrom('model_package_groups')
        .select(['document', 'latest_version'])
        .where('name_key', '=', name.toLowerCase())
        .executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `model package group "${name}" does not exist`, { name });
    return groupOf(row);
  }

  async listGroups(filter: ModelPackageGroupFilter = {}): Promise<Page<ModelPackageGroup>> {
    const size = pageSize(filter.limit);
    const after = decodePageToken(filter.pageToken);
    const byTime = filter.sortBy === 'CreationTime';
    const direction = filter.descending ? 'desc' : 'asc';
    const past = filter.descending ? '<' : '>';
    let query = this.db
      .selectFrom('model_package_groups')
      .select(['name_key', 'created_at', 'document', 'latest_version']);
    if (after !== undefined) {
      if (byTime) {
        const cut = after.indexOf('/');
        const time = Number(after.slice(0, cut));
        const key = after.slice(cut + 1);
        if (cut < 1 || !Number.isSafeInteger(time)) throw badToken();
        query = query.where((eb) =>
          eb.or([
            eb('created_at', past, time),
            eb.and([eb('created_at', '=', time), eb('name_key', past, key)]),
          ]),
        );
      } else query = query.where('name_key', past, after);
    }
    if (filter.nameContains) {
      // Callers check it is letters, digits and "-": nothing in it is a LIKE wildcard.
      if (!/^[a-zA-Z0-9-]+$/.test(filter.nameContains))
        throw new TrainyardError('INVALID_ARGUMENT', 'nameContains: use letters, digits and "-"', {
          field: 'nameContains',
        });
      query = query.where('name_key', 'like', `%${filter.nameContains.toLowerCase()}%`);
    }
    if (byTime) query = query.orderBy('created_at', direction);
    const rows = await sqlCall('model package groups', () =>
      query
        .orderBy('name_key', direction)
        .limit(size + 1)
        .execute(),
    );
    const paged = toPage(rows, size, (r) => (byTime ? `${Number(r.created_at)}/${r.name_key}` : r.name_key));
    return { ...paged, items: paged.items.map(groupOf) };
  }

  async deleteGroup(name: string): Promise<void> {
    const key = name.toLowerCase();
    await sqlCall(`model package group "${name}"`, () =>
      this.db.transaction().execute(async (trx) => {
        const held = await trx
          .selectFrom('model_packages')
          .select('version')
          .where('group_key', '=', key)
          .limit(1)
          .executeTakeFirst();
        if (held)
          throw new TrainyardError(
            'FAILED_PRECONDITION',
            `model package group "${name}" still holds model packages; delete them first`,
          );
        const result = await trx
          .deleteFrom('model_package_groups')
          .where('name_key', '=', key)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0)
          throw new TrainyardError('NOT_FOUND', `model package group "${name}" does not exist`, { name });
      }),
    );
  }

  async createPackage(
    group: string,
    make: (version: number, groupName: string) => ModelPackage,
  ): Promise<ModelPackage> {
    const key = group.toLowerCase();
    return sqlCall(`model package of group "${group}"`, () =>
      this.db.transaction().execute(async (trx) => {
        // One UPDATE takes the number: a row lock in PostgreSQL, the write lock in SQLite.
        const taken = await trx
          .updateTable('model_package_groups')
          .set((eb) => ({ latest_version: eb('latest_version', '+', 1) }))
          .where('name_key', '=', key)
          .returning(['latest_version', 'name'])
          .executeTakeFirst();
        if (!taken)
          throw new TrainyardError('NOT_FOUND', `model package group "${group}" does not exist`, {
            name: group,
          });
        const version = Number(taken.latest_version);
        const pkg = make(version, taken.name);
        const now = Date.parse(pkg.CreationTime);
        await trx
          .insertInto('model_packages')
          .values({
            group_key: key,
            version,
            approval_status: pkg.ModelApprovalStatus,
            document: JSON.stringify(pkg),
            created_at: now,
            updated_at: now,
          })
          .execute();
        return pkg;
      }),
    );
  }

  async getPackage(group: string, version: number): Promise<ModelPackage> {
    const row = await sqlCall('model package', () =>
      this.db
        .selectFrom('model_packages')
        .select('document')
        .where('group_key', '=', group.toLowerCase())
        .where('version', '=', version)
        .executeTakeFirst(),
    );
    if (!row)
      throw new TrainyardError('NOT_FOUND', `model package ${group}/${version} does not exist`, {
        name: `${group}/${version}`,
      });
    return JSON.parse(row.document) as ModelPackage;
  }

  async listPackages(filter: ModelPackageFilter = {}): Promise<Page<ModelPackage>> {
    const size = pageSize(filter.limit);
    const after = decodePageToken(filter.pageToken);
    let query = this.db.selectFrom('model_packages').select(['group_key', 'version', 'document']);
    if (filter.group !== undefined) query = query.where('group_key', '=', filter.group.toLowerCase());
    if (filter.approvalStatus !== undefined)
      query = query.where('approval_status', '=', filter.approvalStatus);
    const direction = filter.descending ? 'desc' : 'asc';
    const past = filter.descending ? '<' : '>';
    if (after !== undefined) {
      const cut = after.lastIndexOf('/');
      const afterGroup = after.slice(0, cut);
      const afterVersion = Number(after.slice(cut + 1));
      if (cut < 1 || !Number.isSafeInteger(afterVersion)) throw badToken();
      query = query.where((eb) =>
        eb.or([
          eb('group_key', past, afterGroup),
          eb.and([eb('group_key', '=', afterGroup), eb('version', past, afterVersion)]),
        ]),
      );
    }
    const rows = await sqlCall('model packages', () =>
      query
        .orderBy('group_key', direction)
        .orderBy('version', direction)
        .limit(size + 1)
        .execute(),
    );
    const paged = toPage(rows, size, (r) => packageKey(r.group_key, Number(r.version)));
    return { ...paged, items: paged.items.map((r) => JSON.parse(r.document) as ModelPackage) };
  }

  async replacePackage(expected: ModelPackage, next: ModelPackage): Promise<ModelPackage> {
    const group = expected.ModelPackageGroupName;
    const version = expected.ModelPackageVersion;
    // `expected` was parsed from the stored text, so its JSON is that text: compare and swap on it.
    const result = await sqlCall(`model package ${group}/${version}`, () =>
      this.db
        .updateTable('model_packages')
        .set({
          document: JSON.stringify(next),
          approval_status: next.ModelApprovalStatus,
          updated_at: Date.parse(next.LastModifiedTime),
        })
        .where('group_key', '=', group.toLowerCase())
        .where('version', '=', version)
        .where('document', '=', JSON.stringify(expected))
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) {
      await this.getPackage(group, version);
      throw new TrainyardError(
        'CONFLICT',
        `model package ${group}/${version} changed meanwhile; read it again and retry`,
      );
    }
    return next;
  }

  async deletePackage(group: string, version: number): Promise<void> {
    const result = await sqlCall('model package', () =>
      this.db
        .deleteFrom('model_packages')
        .where('group_key', '=', group.toLowerCase())
        .where('version', '=', version)
        .executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0)
      throw new TrainyardError('NOT_FOUND', `model package ${group}/${version} does not exist`, {
        name: `${group}/${version}`,
      });
  }
}
