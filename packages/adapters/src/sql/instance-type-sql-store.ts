import { TrainyardError } from '@trainyard/contracts/errors';
import type {
  InstanceTypeInput,
  InstanceTypeRecord,
  UpdateInstanceTypeBody,
} from '@trainyard/contracts/instance-types';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type { InstanceTypeStore, PageRequest } from '@trainyard/core/ports/metadata-store';
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, InstanceTypesTable } from './database.js';
import { sqlCall } from './sql-errors.js';

function fromRow(row: Selectable<InstanceTypesTable>): InstanceTypeRecord {
  return {
    name: row.name,
    vcpus: Number(row.vcpus),
    memoryMiB: Number(row.memory_mib),
    gpus: Number(row.gpus),
    pricePerHour: Number(row.price_per_hour),
    description: row.description,
    version: Number(row.version),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export class InstanceTypeSqlStore implements InstanceTypeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: InstanceTypeInput): Promise<InstanceTypeRecord> {
    const now = Date.now();
    const row = await sqlCall(`instance type "${input.name}"`, () =>
      this.db
        .insertInto('instance_types')
        .values({
          name: input.name,
          vcpus: input.vcpus,
          memory_mib: input.memoryMiB,
          gpus: input.gpus ?? 0,
          price_per_hour: input.pricePerHour,
          description: input.description ?? '',
          version: 1,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return fromRow(row);
  }

  async get(name: string): Promise<InstanceTypeRecord> {
    const row = await sqlCall('instance type', () =>
      this.db.selectFrom('instance_types').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `instance type "${name}" does not exist`, { name });
    return fromRow(row);
  }

  async list(page: PageRequest = {}): Promise<Page<InstanceTypeRecord>> {
    const size = pageSize(page.limit);
    const after = decodePageToken(page.pageToken);
    let query = this.db
      .selectFrom('instance_types')
      .selectAll()
      .orderBy('name')
      .limit(size + 1);
    if (after !== undefined) query = query.where('name', '>', after);
    const rows = await sqlCall('instance types', () => query.execute());
    return toPage(rows.map(fromRow), size, (t) => t.name);
  }

  async update(name: string, patch: UpdateInstanceTypeBody): Promise<InstanceTypeRecord> {
    const set: Updateable<InstanceTypesTable> = { updated_at: Date.now() };
    if (patch.vcpus !== undefined) set.vcpus = patch.vcpus;
    if (patch.memoryMiB !== undefined) set.memory_mib = patch.memoryMiB;
    if (patch.gpus !== undefined) set.gpus = patch.gpus;
    if (patch.pricePerHour !== undefined) set.price_per_hour = patch.pricePerHour;
    if (patch.description !== undefined) set.description = patch.description;
    // One statement reads and bumps the version, so concurrent writers serialize in the database.
    let query = this.db
      .updateTable('instance_types')
      .set(set)
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('name', '=', name);
    if (patch.expectedVersion !== undefined) query = query.where('version', '=', patch.expectedVersion);
    const row = await sqlCall('instance type', () => query.returningAll().executeTakeFirst());
    if (row) return fromRow(row);
    const current = await this.get(name);
    throw new TrainyardError(
      'CONFLICT',
      `instance type "${name}" is at version ${current.version}, not ${patch.expectedVersion}; read it again and retry`,
      { name, version: current.version },
    );
  }

  async delete(name: string): Promise<void> {
    const result = await sqlCall('instance type', () =>
      this.db.deleteFrom('instance_types').where('name', '=', name).executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0) {
      throw new TrainyardError('NOT_FOUND', `instance type "${name}" does not exist`, { name });
    }
  }
}
