import type { AuditEntry } from '@trainyard/contracts/access-keys';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/** One mutating call to record; the store assigns `id`. */
export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditFilter extends PageRequest {
  keyId?: string | undefined;
  /** ISO 8601: entries at or after it. */
  since?: string | undefined;
}

/**
 * The audit log: every mutating call of every door (who, what, when, from where, the answer).
 * Append-only through this port; entries are never changed.
 */
export interface AuditLog {
  record(entry: NewAuditEntry): Promise<void>;
  /** Newest first. */
  list(filter?: AuditFilter): Promise<Page<AuditEntry>>;
}
