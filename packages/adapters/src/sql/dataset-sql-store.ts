import type { Dataset, DatasetVersion } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type { CompletedVersion, DatasetStore } from '@trainyard/core/ports/dataset-store';
import type { PageRequest } from '@trainyard/core/ports/metadata-store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './database.js';
import type { DatasetsTable, DatasetTables, DatasetVersionsTable } from './dataset-tables.js';
import { sqlCall } from './sql-errors.js';

function iso(ms: number | string): string {
  return new Date(Number(ms)).toISOString();
}

function datasetFromRow(row: Selectable<DatasetsTable>): Dataset {
  return {
    name: row.name,
    description: row.description,
    latestVersion: Number(row.latest_version),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

type VersionDocument = Omit<DatasetVersion, 'dataset' | 'version' | 'status' | 'createdAt'>;

function versionFromRow(row: Selectable<DatasetVersionsTable>): DatasetVersion {
  const document = JSON.parse(row.document) as VersionDocument;
  return {
    ...document,
    dataset: row.dataset,
    version: Number(row.version),
    status: row.status as DatasetVersion['status'],
    createdAt: iso(row.created_at),
  };
}

function notFound(name: string, version?: number | 'latest'): TrainyardError {
  if (version === undefined)
    return new TrainyardError('NOT_FOUND', `dataset "${name}" does not exist`, { name });
  return new TrainyardError(
    'NOT_FOUND',
    version === 'latest'
      ? `dataset "${name}" has no ready version`
      : `dataset "${name}" has no version ${version}`,
    { name, version },
  );
}

/** DatasetStore over Kysely (SQLite and PostgreSQL). */
export class DatasetSqlStore implements DatasetStore {
  private readonly db: Kysely<Database & DatasetTables>;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<DatasetTables>();
  }

  async ensure(name: string, description = ''): Promise<Dataset> {
    const now = Date.now();
    await sqlCall(`dataset "${name}"`, () =>
      this.db
        .insertInto('datasets')
        .values({ name, description, latest_version: 0, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute(),
    );
    if (description !== '') {
      await sqlCall(`dataset "${name}"`, () =>
        this.db
          .updateTable('datasets')
          .set({ description, updated_at: now })
          .where('name', '=', name)
          .execute(),
      );
    }
    return this.get(name);
  }

  async get(name: string): Promise<Dataset> {
    const row = await sqlCall('dataset', () =>
      this.db.selectFrom('datasets').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    if (!row) throw notFound(name);
    return datasetFromRow(row);
  }

  async list(page: PageRequest = {}): Promise<Page<Dataset>> {
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db
      .selectFrom('datasets')
      .selectAll()
      .orderBy('name')
      .limit(size + 1);
    if (after !== undefined) query = query.where('name', '>', after);
    const rows = await sqlCall('datasets', () => query.execute());
    return toPage(rows.map(datasetFromRow), size, (d) => d.name);
  }

  async reserveVersion(name: string, lineage: DatasetVersion['lineage']): Promise<DatasetVersion> {
    await this.ensure(name);
    const document: VersionDocument = {
      uri: '',
      schema: [],
      rowCount: 0,
      sizeBytes: 0,
      contentHash: '',
      lineage,
      skippedRows: 0,
    };
    // Two writers may read the same maximum; the primary key refuses one, which takes the next.
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await sqlCall(`version of dataset "${name}"`, () =>
          this.db.transaction().execute(async (trx) => {
            const { max } = await trx
              .selectFrom('dataset_versions')
              .select((eb) => eb.fn.max('version').as('max'))
              .where('dataset', '=', name)
              .executeTakeFirstOrThrow();
            return trx
              .insertInto('dataset_versions')
              .values({
                dataset: name,
                version: Number(max ?? 0) + 1,
                status: 'creating',
                document: JSON.stringify(document),
                created_at: Date.now(),
                completed_at: null,
              })
              .returningAll()
              .executeTakeFirstOrThrow();
          }),
        );
        return versionFromRow(row);
      } catch (error) {
        if (!TrainyardError.is(error, 'ALREADY_EXISTS') || attempt >= 20) throw error;
      }
    }
  }

  async completeVersion(name: string, version: number, fields: CompletedVersion): Promise<DatasetVersion> {
    const now = Date.now();
    const row = await sqlCall('dataset version', () =>
      this.db
        .updateTable('dataset_versions')
        .set({ status: 'ready', document: JSON.stringify(fields), completed_at: now })
        .where('dataset', '=', name)
        .where('version', '=', version)
        .where('status', '=', 'creating')
        .returningAll()
        .executeTakeFirst(),
    );
    if (!row) {
      const current = await this.getVersion(name, version);
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `version ${version} of dataset "${name}" is ${current.status}; only a version being created can be completed`,
        { name, version },
      );
    }
    await sqlCall('dataset', () =>
      this.db
        .updateTable('datasets')
        .set({ latest_version: version, updated_at: now })
        .where('name', '=', name)
        .where('latest_version', '<', version)
        .execute(),
    );
    return versionFromRow(row);
  }

  async failVersion(
    name: string,
    version: number,
    failure: { code: string; message: string },
  ): Promise<void> {
    const current = await this.getVersion(name, version);
    const { dataset: _d, version: _v, status: _s, createdAt: _c, ...document } = current;
    await sqlCall('dataset version', () =>
      this.db
        .updateTable('dataset_versions')
        .set({
          status: 'failed',
          document: JSON.stringify({ ...document, failure }),
          completed_at: Date.now(),
        })
        .where('dataset', '=', name)
        .where('version', '=', version)
        .where('status', '=', 'creating')
        .execute(),
    );
  }

  async versionsDerivedFrom(name: string, version?: number): Promise<{ dataset: string; version: number }[]> {
    // The lineage lives in the JSON document: narrow by text, then check the parsed fields.
    const rows = await sqlCall('dataset versions', () =>
      this.db
        .selectFrom('dataset_versions')
        .select(['dataset', 'version', 'document'])
        .where('status', '!=', 'deleted')
        .where('document', 'like', `%"parentDataset":${JSON.stringify(name)}%`)
        .orderBy('dataset')
        .orderBy('version')
        .execute(),
    );
    return rows
      .filter((r) => {
        const lineage = (JSON.parse(r.document) as VersionDocument).lineage ?? {};
        return lineage.parentDataset === name && (version === undefined || lineage.parentVersion === version);
      })
      .map((r) => ({ dataset: r.dataset, version: Number(r.version) }));
  }

  async findBySource(name: string, sourceHash: string): Promise<DatasetVersion | undefined> {
    const row = await sqlCall('dataset versions', () =>
      this.db
        .selectFrom('dataset_versions')
        .selectAll()
        .where('dataset', '=', name)
        .where('status', '=', 'ready')
        .where('document', 'like', `%"sourceHash":${JSON.stringify(sourceHash)}%`)
        .orderBy('version', 'desc')
        .executeTakeFirst(),
    );
    return row ? versionFromRow(row) : undefined;
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await sqlCall('dataset version', () =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('dataset_versions')
          .set({ status: 'deleted', document: JSON.stringify({ deletedAt: new Date().toISOString() }) })
          .where('dataset', '=', name)
          .where('version', '=', version)
          .execute();
        const { max } = await trx
          .selectFrom('dataset_versions')
          .select((eb) => eb.fn.max('version').as('max'))
          .where('dataset', '=', name)
          .where('status', '=', 'ready')
          .executeTakeFirstOrThrow();
        await trx
          .updateTable('datasets')
          .set({ latest_version: Number(max ?? 0), updated_at: Date.now() })
          .where('name', '=', name)
          .execute();
      }),
    );
  }

  async deleteDataset(name: string): Promise<void> {
    await this.get(name);
    await sqlCall(`dataset "${name}"`, () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('dataset_versions').where('dataset', '=', name).execute();
        await trx.deleteFrom('datasets').where('name', '=', name).execute();
      }),
    );
  }

  async getVersion(name: string, version: number | 'latest'): Promise<DatasetVersion> {
    let query = this.db.selectFrom('dataset_versions').selectAll().where('dataset', '=', name);
    query =
      version === 'latest'
        ? query.where('status', '=', 'ready').orderBy('version', 'desc').limit(1)
        : query.where('version', '=', version);
    const row = await sqlCall('dataset version', () => query.executeTakeFirst());
    if (!row) {
      await this.get(name);
      throw notFound(name, version);
    }
    if (row.status === 'deleted') {
      throw new TrainyardError('NOT_FOUND', `version ${version} of dataset "${name}" was deleted`, {
        name,
        version,
      });
    }
    return versionFromRow(row);
  }

  async listVersions(name: string, page: PageRequest = {}): Promise<Page<DatasetVersion>> {
    await this.get(name);
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('dataset', '=', name)
      .where('status', '!=', 'deleted')
      .orderBy('version', 'desc')
      .limit(size + 1);
    if (after !== undefined) query = query.where('version', '<', Number(after));
    const rows = await sqlCall('dataset versions', () => query.execute());
    return toPage(rows.map(versionFromRow), size, (v) => String(v.version));
  }
}
