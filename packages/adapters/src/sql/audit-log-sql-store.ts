import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '@trainyard/contracts/access-keys';
import type { Page } from '@trainyard/contracts/pagination';
import type { Role } from '@trainyard/contracts/route';
import { decodePageToken, pageSize, toPage } from '@trainyard/core/paging/page-token';
import type { AuditFilter, AuditLog, NewAuditEntry } from '@trainyard/core/ports/audit-log';
import type { Kysely, Selectable } from 'kysely';
import type { AuditLogTable, Database } from './database.js';
import { sqlCall } from './sql-errors.js';

/** Ids sort by time (zero-padded epoch ms first), so "newest first" pages by id. */
function newAuditId(at: number): string {
  return `${String(at).padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
}

function fromRow(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id,
    at: new Date(Number(row.at)).toISOString(),
    keyId: row.key_id,
    keyName: row.key_name,
    role: row.role as Role,
    door: row.door,
    action: row.action,
    target: row.target,
    status: Number(row.status),
    sourceIp: row.source_ip,
    requestId: row.request_id,
  };
}

export class AuditLogSqlStore implements AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  async record(entry: NewAuditEntry): Promise<void> {
    const at = Date.parse(entry.at);
    await sqlCall('audit entry', () =>
      this.db
        .insertInto('audit_log')
        .values({
          id: newAuditId(at),
          at,
          key_id: entry.keyId.slice(0, 32),
          key_name: entry.keyName.slice(0, 64),
          role: entry.role,
          door: entry.door.slice(0, 16),
          action: entry.action.slice(0, 128),
          target: entry.target.slice(0, 1100),
          status: entry.status,
          source_ip: entry.sourceIp.slice(0, 64),
          request_id: entry.requestId.slice(0, 128),
        })
        .execute(),
    );
  }

  async list(filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    const size = pageSize(filter.limit);
    const before = decodePageToken(filter.pageToken);
    let query = this.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(size + 1);
    if (before !== undefined) query = query.where('id', '<', before);
    if (filter.keyId !== undefined) query = query.where('key_id', '=', filter.keyId);
    if (filter.since !== undefined) query = query.where('at', '>=', Date.parse(filter.since));
    const rows = await sqlCall('audit log', () => query.execute());
    return toPage(rows.map(fromRow), size, (e) => e.id);
  }
}
