import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import type {
  JobFailure,
  JobLogEvent,
  JobLogStream,
  SecondaryStatusTransition,
} from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type {
  JobKind,
  JobListFilter,
  JobPatch,
  JobRecord,
  JobStore,
  JobUpdateGuard,
  NewJob,
  NewJobLogEvent,
} from '@trainyard/core/ports/job-store';
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database } from './database.js';
import type { JobsTable, JobsTables } from './jobs-tables.js';
import { sqlCall } from './sql-errors.js';

const unfinished = ['InProgress', 'Stopping'];

function date(value: number | null): Date | undefined {
  return value === null ? undefined : new Date(Number(value));
}

function fromRow(row: Selectable<JobsTable>): JobRecord {
  return {
    id: row.id,
    kind: row.kind as JobKind,
    name: row.name,
    arn: row.arn,
    status: row.status as JobRecord['status'],
    secondaryStatus: row.secondary_status as JobRecord['secondaryStatus'],
    transitions: JSON.parse(row.transitions) as SecondaryStatusTransition[],
    spec: JSON.parse(row.spec) as unknown,
    result: row.result === null ? undefined : (JSON.parse(row.result) as unknown),
    failure: row.failure === null ? undefined : (JSON.parse(row.failure) as JobFailure),
    exitMessage: row.exit_message ?? undefined,
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
    startedAt: date(row.started_at),
    endedAt: date(row.ended_at),
    attempts: Number(row.attempts),
    claimHolder: row.claim_holder ?? undefined,
    claimExpiresAt: date(row.claim_expires_at),
    version: Number(row.version),
  };
}

/** JobStore over Kysely (SQLite and PostgreSQL). */
export class JobSqlStore implements JobStore {
  private readonly db: Kysely<Database & JobsTables>;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<JobsTables>();
  }

  async create(job: NewJob): Promise<JobRecord> {
    const at = job.createdAt.getTime();
    const row = await sqlCall(`${job.kind} job "${job.name}"`, () =>
      this.db
        .insertInto('jobs')
        .values({
          id: job.id,
          kind: job.kind,
          name: job.name,
          arn: job.arn,
          status: 'InProgress',
          secondary_status: job.transitions.at(-1)?.Status ?? 'Pending',
          transitions: JSON.stringify(job.transitions),
          spec: JSON.stringify(job.spec),
          result: null,
          failure: null,
          exit_message: null,
          created_at: at,
          updated_at: at,
          started_at: null,
          ended_at: null,
          attempts: 0,
          claim_holder: null,
          claim_expires_at: null,
          version: 1,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return fromRow(row);
  }

  async get(kind: JobKind, name: string): Promise<JobRecord> {
    const row = await sqlCall('job', () =>
      this.db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', kind)
        .where('name', '=', name)
        .executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `${kind} job "${name}" does not exist`, { name });
    return fromRow(row);
  }

  async getById(id: string): Promise<JobRecord> {
    const row = await sqlCall('job', () =>
      this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    if (!row) throw new TrainyardError('NOT_FOUND', `job ${id} does not exist`, { id });
    return fromRow(row);
  }

  async list(kind: JobKind, filter: JobListFilter = {}): Promise<Page<JobRecord>> {
    const size = pageSize(filter.limit);
    const after = decodePageToken(filter.pageToken);
    const direction = filter.sortOrder === 'Ascending' ? 'asc' : 'desc';
    // Ids start with the creation time, so id order is creation order and a stable keyset; by name
    // or status the keyset is (column, id).
    const column = filter.sortBy === 'Name' ? 'name' : filter.sortBy === 'Status' ? 'status' : undefined;
    let query = this.db.selectFrom('jobs').selectAll().where('kind', '=', kind);
    if (column) query = query.orderBy(column, direction);
    query = query.orderBy('id', direction).limit(size + 1);
    const beyond = direction === 'asc' ? '>' : '<';
    if (after !== undefined && column === undefined) query = query.where('id', beyond, after);
    if (after !== undefined && column !== undefined) {
      const [value, id] = keysetOf(after);
      query = query.where((eb) =>
        eb.or([eb(column, beyond, value), eb.and([eb(column, '=', value), eb('id', beyond, id)])]),
      );
    }
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    // The contract allows only letters, digits and "-" here, so the pattern needs no escaping.
    if (filter.nameContains) {
      const pattern = `%${filter.nameContains.toLowerCase()}%`;
      query = query.where((eb) => eb(eb.fn('lower', ['name']), 'like', pattern));
    }
    const bounds = [
      ['created_at', '>', filter.createdAfter],
      ['created_at', '<', filter.createdBefore],
      ['updated_at', '>', filter.modifiedAfter],
      ['updated_at', '<', filter.modifiedBefore],
    ] as const;
    for (const [at, op, instant] of bounds) {
      if (instant !== undefined) query = query.where(at, op, Date.parse(instant));
    }
    const rows = await sqlCall('jobs', () => query.execute());
    return toPage(rows.map(fromRow), size, (j) =>
      column === undefined ? j.id : JSON.stringify([column === 'name' ? j.name : j.status, j.id]),
    );
  }

  async update(id: string, patch: JobPatch, guard: JobUpdateGuard = {}): Promise<JobRecord> {
    const now = Date.now();
    const set: Updateable<JobsTable> = { updated_at: now };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.secondaryStatus !== undefined) set.secondary_status = patch.secondaryStatus;
    if (patch.transitions !== undefined) set.transitions = JSON.stringify(patch.transitions);
    if (patch.result !== undefined) set.result = JSON.stringify(patch.result);
    if (patch.failure !== undefined)
      set.failure = patch.failure === null ? null : JSON.stringify(patch.failure);
    if (patch.exitMessage !== undefined) set.exit_message = patch.exitMessage;
    if (patch.startedAt !== undefined) set.started_at = patch.startedAt.getTime();
    if (patch.endedAt !== undefined) set.ended_at = patch.endedAt.getTime();
    let query = this.db
      .updateTable('jobs')
      .set(set)
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('id', '=', id);
    if (guard.version !== undefined) query = query.where('version', '=', guard.version);
    if (guard.holder !== undefined) {
      query = query.where('claim_holder', '=', guard.holder).where('claim_expires_at', '>=', now);
    }
    const row = await sqlCall('job', () => query.returningAll().executeTakeFirst());
    if (row) return fromRow(row);
    const current = await this.getById(id);
    throw new TrainyardError(
      'CONFLICT',
      guard.holder !== undefined && current.claimHolder !== guard.holder
        ? `job "${current.name}" is no longer claimed by ${guard.holder}`
        : `job "${current.name}" changed meanwhile (version ${current.version}); read it again`,
      { name: current.name, version: current.version },
    );
  }

  async claim(id: string, holder: string, ttlMs: number): Promise<JobRecord | undefined> {
    const now = Date.now();
    // One statement decides, so two workers racing for the same job cannot both win.
    const row = await sqlCall('job claim', () =>
      this.db
        .updateTable('jobs')
        .set({ claim_holder: holder, claim_expires_at: now + ttlMs, updated_at: now })
        .set((eb) => ({ version: eb('version', '+', 1), attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('status', 'in', unfinished)
        .where((eb) => eb.or([eb('claim_holder', 'is', null), eb('claim_expires_at', '<', now)]))
        .returningAll()
        .executeTakeFirst(),
    );
    return row ? fromRow(row) : undefined;
  }

  async renewClaim(id: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const result = await sqlCall('job claim', () =>
      this.db
        .updateTable('jobs')
        .set({ claim_expires_at: now + ttlMs })
        .where('id', '=', id)
        .where('claim_holder', '=', holder)
        .where('claim_expires_at', '>=', now)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseClaim(id: string, holder: string): Promise<void> {
    await sqlCall('job claim', () =>
      this.db
        .updateTable('jobs')
        .set({ claim_holder: null, claim_expires_at: null })
        .where('id', '=', id)
        .where('claim_holder', '=', holder)
        .execute(),
    );
  }

  async delete(id: string): Promise<void> {
    const deleted = await sqlCall('job', () =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom('jobs')
          .where('id', '=', id)
          .where('status', 'in', ['Completed', 'Failed', 'Stopped'])
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) return false;
        await trx.deleteFrom('job_logs').where('job_id', '=', id).execute();
        return true;
      }),
    );
    if (deleted) return;
    const job = await this.getById(id);
    throw new TrainyardError(
      'FAILED_PRECONDITION',
      `${job.kind} job "${job.name}" is ${job.status}; only an ended job can be deleted (stop it first)`,
      { name: job.name },
    );
  }

  async appendLogs(jobId: string, events: NewJobLogEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Chunks keep each statement under SQLite's and pg's bound-parameter limits.
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500);
      await sqlCall('job logs', () =>
        this.db
          .insertInto('job_logs')
          .values(
            chunk.map((e) => ({
              job_id: jobId,
              seq: e.seq,
              at: e.at.getTime(),
              stream: e.stream,
              message: e.message,
            })),
          )
          .onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing())
          .execute(),
      );
    }
  }

  async readLogs(jobId: string, afterSeq: number, limit: number): Promise<JobLogEvent[]> {
    const rows = await sqlCall('job logs', () =>
      this.db
        .selectFrom('job_logs')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute(),
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: new Date(Number(r.at)).toISOString(),
      stream: r.stream as JobLogStream,
      message: r.message,
    }));
  }

  async lastLogSeq(jobId: string): Promise<number> {
    const row = await sqlCall('job logs', () =>
      this.db
        .selectFrom('job_logs')
        .select((eb) => eb.fn.max('seq').as('last'))
        .where('job_id', '=', jobId)
        .executeTakeFirst(),
    );
    return Number(row?.last ?? 0);
  }
}

/** The (sort value, id) pair a page token of a by-name or by-status list carries. */
function keysetOf(key: string): [string, string] {
  try {
    const parsed = JSON.parse(key) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((v) => typeof v === 'string')) {
      return parsed as [string, string];
    }
  } catch {
    // refused below
  }
  throw invalidArgument('pageToken', 'is not a token of a list in this order');
}
