/**
 * Table types shared by the SQLite and PostgreSQL adapters. Times are epoch milliseconds
 * (bigint columns), booleans are 0/1 integers and documents are JSON text, so one Kysely
 * code path serves both dialects.
 */
export interface AccessKeysTable {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  secret_sealed: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  expires_at: number | null;
  previous_secret_hash: string | null;
  previous_secret_sealed: string | null;
  previous_expires_at: number | null;
}

export interface AuditLogTable {
  id: string;
  at: number;
  key_id: string;
  key_name: string;
  role: string;
  door: string;
  action: string;
  target: string;
  status: number;
  source_ip: string;
  request_id: string;
}

export interface ConsoleSessionsTable {
  id_hash: string;
  key_id: string;
  created_at: number;
  expires_at: number;
}

export interface QuickstartsTable {
  id: string;
  status: string;
  document: string;
  created_at: number;
  updated_at: number;
}

export interface InstanceTypesTable {
  name: string;
  vcpus: number;
  memory_mib: number;
  gpus: number;
  price_per_hour: number;
  description: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

export interface Database {
  access_keys: AccessKeysTable;
  audit_log: AuditLogTable;
  console_sessions: ConsoleSessionsTable;
  quickstarts: QuickstartsTable;
  instance_types: InstanceTypesTable;
  leases: LeasesTable;
}
