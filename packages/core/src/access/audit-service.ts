import type { AuditEntry } from '@trainyard/contracts/access-keys';
import type { Page } from '@trainyard/contracts/pagination';
import type { AuditFilter, AuditLog, NewAuditEntry } from '../ports/audit-log.js';

/** Mutating calls a door saw; `true` for the methods that change something. */
export function isMutatingMethod(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}

/**
 * The audit log as the doors use it: every door records each mutating call of an authenticated
 * key once its answer is known (refused calls included); admins list it newest first.
 */
export class AuditService {
  readonly #log: AuditLog;

  constructor(log: AuditLog) {
    this.#log = log;
  }

  record(entry: NewAuditEntry): Promise<void> {
    return this.#log.record(entry);
  }

  /** @throws INVALID_ARGUMENT for a page token not returned by a previous page */
  list(filter: AuditFilter = {}): Promise<Page<AuditEntry>> {
    return this.#log.list(filter);
  }
}
