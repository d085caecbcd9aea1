import type { EndpointConfig, EndpointInstance, Model } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type { EndpointStore, StoredEndpoint } from '@trainyard/core/ports/endpoint-store';
import type { PageRequest } from '@trainyard/core/ports/metadata-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { EndpointTables } from './endpoint-tables.js';
import { sqlCall } from './sql-errors.js';

type Db = Kysely<Database & EndpointTables>;
type EndpointDocument = Omit<StoredEndpoint, 'createdAt' | 'updatedAt' | 'version' | 'name'>;

function endpointOf(row: {
  name: string;
  document: string;
  version: number;
  created_at: number;
  updated_at: number;
}): StoredEndpoint {
  const doc = JSON.parse(row.document) as EndpointDocument;
  return {
    ...doc,
    pendingConfigName: doc.pendingConfigName ?? undefined,
    failureReason: doc.failureReason ?? undefined,
    name: row.name,
    version: Number(row.version),
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  };
}

function documentOf(endpoint: Omit<StoredEndpoint, 'version'>): string {
  const { name: _n, createdAt: _c, updatedAt: _u, ...doc } = endpoint as StoredEndpoint;
  const { version: _v, ...rest } = doc as EndpointDocument & { version?: number };
  return JSON.stringify(rest);
}

/** EndpointStore over Kysely (SQLite and PostgreSQL). */
export class EndpointSqlStore implements EndpointStore {
  private readonly db: Db;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<EndpointTables>();
  }

  async #createNamed(table: 'models' | 'endpoint_configs', what: string, name: string, doc: unknown) {
    await sqlCall(`${what} "${name}"`, () =>
      this.db
        .insertInto(table)
        .values({ name, document: JSON.stringify(doc), created_at: Date.now() })
        .execute(),
    );
  }

  async #getNamed<T>(table: 'models' | 'endpoint_configs', what: string, name: string): Promise<T> {
    const row = await sqlCall(what, () =>
      this.db.selectFrom(table).select('document').where('name', '=', name).executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `${what} "${name}" does not exist`, { name });
    return JSON.parse(row.document) as T;
  }

  async #listNamed<T>(table: 'models' | 'endpoint_configs', page: PageRequest): Promise<Page<T>> {
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db.selectFrom(table).select(['name', 'document']);
    if (after !== undefined) query = query.where('name', '>', after);
    const rows = await sqlCall(table, () =>
      query
        .orderBy('name')
        .limit(size + 1)
        .execute(),
    );
    const paged = toPage(rows, size, (r) => r.name);
    return { ...paged, items: paged.items.map((r) => JSON.parse(r.document) as T) };
  }

  async #deleteNamed(table: 'models' | 'endpoint_configs', what: string, name: string): Promise<void> {
    const result = await sqlCall(what, () =>
      this.db.deleteFrom(table).where('name', '=', name).executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0)
      throw new TrainyardError('NOT_FOUND', `${what} "${name}" does not exist`, { name });
  }

  async createModel(model: Model): Promise<Model> {
    await this.#createNamed('models', 'model', model.ModelName, model);
    return model;
  }
  getModel(name: string): Promise<Model> {
    return this.#getNamed('models', 'model', name);
  }
  listModels(page: PageRequest = {}): Promise<Page<Model>> {
    return this.#listNamed('models', page);
  }
  deleteModel(name: string): Promise<void> {
    return this.#deleteNamed('models', 'model', name);
  }

  async createConfig(config: EndpointConfig): Promise<EndpointConfig> {
    await this.#createNamed('endpoint_configs', 'endpoint config', config.EndpointConfigName, config);
    return config;
  }
  getConfig(name: string): Promise<EndpointConfig> {
    return this.#getNamed('endpoint_configs', 'endpoint config', name);
  }
  listConfigs(page: PageRequest = {}): Promise<Page<EndpointConfig>> {
    return this.#listNamed('endpoint_configs', page);
  }
  deleteConfig(name: string): Promise<void> {
    return this.#deleteNamed('endpoint_configs', 'endpoint config', name);
  }

  async createEndpoint(endpoint: StoredEndpoint): Promise<StoredEndpoint> {
    await sqlCall(`endpoint "${endpoint.name}"`, () =>
      this.db
        .insertInto('endpoints')
        .values({
          name: endpoint.name,
          document: documentOf(endpoint),
          version: 1,
          created_at: endpoint.createdAt.getTime(),
          updated_at: endpoint.updatedAt.getTime(),
        })
        .execute(),
    );
    return { ...endpoint, version: 1 };
  }

  async getEndpoint(name: string): Promise<StoredEndpoint> {
    const row = await sqlCall('endpoint', () =>
      this.db.selectFrom('endpoints').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `endpoint "${name}" does not exist`, { name });
    return endpointOf(row);
  }

  async listEndpoints(page: PageRequest = {}): Promise<Page<StoredEndpoint>> {
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db.selectFrom('endpoints').selectAll();
    if (after !== undefined) query = query.where('name', '>', after);
    const rows = await sqlCall('endpoints', () =>
      query
        .orderBy('name')
        .limit(size + 1)
        .execute(),
    );
    const paged = toPage(rows, size, (r) => r.name);
    return { ...paged, items: paged.items.map(endpointOf) };
  }

  async replaceEndpoint(
    expected: StoredEndpoint,
    next: Omit<StoredEndpoint, 'version'>,
  ): Promise<StoredEndpoint> {
    const result = await sqlCall(`endpoint "${expected.name}"`, () =>
      this.db
        .updateTable('endpoints')
        .set({
          document: documentOf(next),
          version: expected.version + 1,
          updated_at: next.updatedAt.getTime(),
        })
        .where('name', '=', expected.name)
        .where('version', '=', expected.version)
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) {
      await this.getEndpoint(expected.name);
      throw new TrainyardError(
        'CONFLICT',
        `endpoint "${expected.name}" changed meanwhile; read it again and retry`,
      );
    }
    return { ...next, name: expected.name, version: expected.version + 1 };
  }

  async deleteEndpoint(name: string): Promise<void> {
    const result = await sqlCall('endpoint', () =>
      this.db.deleteFrom('endpoints').where('name', '=', name).executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0)
      throw new TrainyardError('NOT_FOUND', `endpoint "${name}" does not exist`, { name });
  }

  async putInstance(instance: EndpointInstance & { owner: string }): Promise<void> {
    const { owner, ...doc } = instance;
    const values = {
      endpoint_name: instance.EndpointName,
      owner,
      document: JSON.stringify(doc),
      updated_at: Date.now(),
    };
    await sqlCall(`instance ${instance.InstanceId}`, () =>
      this.db
        .insertInto('endpoint_instances')
        .values({ instance_id: instance.InstanceId, ...values })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
        .execute(),
    );
  }

  async listInstances(endpointName?: string): Promise<(EndpointInstance & { owner: string })[]> {
    let query = this.db.selectFrom('endpoint_instances').select(['owner', 'document']);
    if (endpointName !== undefined) query = query.where('endpoint_name', '=', endpointName);
    const rows = await sqlCall('endpoint instances', () => query.orderBy('instance_id').execute());
    return rows.map((r) => ({ ...(JSON.parse(r.document) as EndpointInstance), owner: r.owner }));
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await sqlCall('endpoint instance', () =>
      this.db.deleteFrom('endpoint_instances').where('instance_id', '=', instanceId).execute(),
    );
  }
}
