import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { type Kysely, Migrator, sql } from 'kysely';
import { AccessKeySqlStore } from './access-key-sql-store.js';
import { AuditLogSqlStore } from './audit-log-sql-store.js';
import type { Database } from './database.js';
import { ExperimentSqlStore } from './experiment-sql-store.js';
import { InstanceTypeSqlStore } from './instance-type-sql-store.js';
import { JobSqlStore } from './job-sql-store.js';
import { LeaseSqlStore } from './lease-sql-store.js';
import { migrationList } from './migration-list.js';
import { MultipartUploadSqlStore } from './multipart-upload-sql-store.js';
import { QuickstartSqlStore } from './quickstart-sql-store.js';
import { SessionSqlStore } from './session-sql-store.js';
import { TagSqlStore } from './tag-sql-store.js';

/** The MetadataStore over Kysely: the SQLite and PostgreSQL adapters differ only in their dialect. */
export class SqlMetadataStore implements MetadataStore {
  readonly accessKeys: AccessKeySqlStore;
  readonly auditLog: AuditLogSqlStore;
  readonly sessions: SessionSqlStore;
  readonly quickstarts: QuickstartSqlStore;
  readonly instanceTypes: InstanceTypeSqlStore;
  readonly leases: LeaseSqlStore;
  readonly multipartUploads: MultipartUploadSqlStore;
  readonly jobs: JobSqlStore;
  readonly tags: TagSqlStore;
  readonly experiments: ExperimentSqlStore;

  constructor(
    readonly db: Kysely<Database>,
    readonly kind: 'sqlite' | 'postgres',
    private readonly onClose: () => Promise<void> = async () => {},
    /** PostgreSQL schema holding the tables, when not the default search path. */
    private readonly schema?: string,
  ) {
    this.accessKeys = new AccessKeySqlStore(db);
    this.auditLog = new AuditLogSqlStore(db);
    this.sessions = new SessionSqlStore(db);
    this.quickstarts = new QuickstartSqlStore(db);
    this.instanceTypes = new InstanceTypeSqlStore(db);
    this.leases = new LeaseSqlStore(db);
    this.multipartUploads = new MultipartUploadSqlStore(db);
    this.jobs = new JobSqlStore(db);
    this.tags = new TagSqlStore(db);
    this.experiments = new ExperimentSqlStore(db);
  }

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({
      db: this.db,
      provider: { getMigrations: async () => migrationList },
      // Areas add migrations independently; a database may have applied a later-numbered one first.
      allowUnorderedMigrations: true,
      migrationTableName: 'trainyard_migrations',
      // Without it Kysely finds its tables in ANY schema and skips creating them in ours.
      ...(this.schema ? { migrationTableSchema: this.schema } : {}),
      migrationLockTableName: 'trainyard_migrations_lock',
    });
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await migrator.migrateToLatest();
      // Kysely looks for its tables by reading the catalog of every schema; on PostgreSQL a table,
      // column or schema another session drops meanwhile (another schema's teardown) fails that
      // read with an "undefined object" error (42P01, 42703, 42704, 3F000) before anything is
      // applied: try again.
      const code = (error as { code?: string } | undefined)?.code;
      if (code && ['42P01', '42703', '42704', '3F000'].includes(code) && attempt < 5) continue;
      if (error) throw error;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    }
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.onClose();
  }
}
