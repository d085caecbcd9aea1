import type { AccessKey } from '@trainyard/contracts/access-keys';
import type {
  InstanceTypeInput,
  InstanceTypeRecord,
  UpdateInstanceTypeBody,
} from '@trainyard/contracts/instance-types';
import type { Page } from '@trainyard/contracts/pagination';
import type { Quickstart } from '@trainyard/contracts/quickstart-routes';
import type { Role } from '@trainyard/contracts/route';
import type { AuditLog } from './audit-log.js';
import type { ExperimentStore } from './experiment-store.js';
import type { JobStore } from './job-store.js';
import type { MultipartUploadStore } from './multipart-upload-store.js';
import type { TagStore } from './tag-store.js';

/** Paging arguments every list method takes. `limit` defaults to 100. */
export interface PageRequest {
  pageToken?: string | undefined;
  limit?: number | undefined;
}

export interface StoredAccessKey extends AccessKey {
  /** SHA-256 (hex) of the secret; bearer tokens are looked up by it. */
  secretHash: string;
  /** The secret sealed under the server's master key: SigV4 verification needs the secret itself. */
  secretSealed: string;
  /** The secret replaced by the last rotation, valid until `previousSecretExpiresAt`. */
  previousSecretHash: string | null;
  previousSecretSealed: string | null;
}

export interface NewAccessKey {
  id: string;
  name: string;
  role: Role;
  secretHash: string;
  secretSealed: string;
  /** ISO 8601; absent or null: never expires. */
  expiresAt?: string | null;
}

/** A rotation: the new secret, and until when the current one keeps working. */
export interface KeyRotation {
  secretHash: string;
  secretSealed: string;
  previousExpiresAt: Date;
}

/** Access keys. Names are unique among keys that are not revoked. */
export interface AccessKeyStore {
  /** @throws ALREADY_EXISTS when an active key has the same name or id. */
  create(key: NewAccessKey): Promise<StoredAccessKey>;
  /** @throws NOT_FOUND */
  get(id: string): Promise<StoredAccessKey>;
  /** Looks up current secrets and, during a rotation's grace, previous ones. */
  findBySecretHash(secretHash: string): Promise<StoredAccessKey | undefined>;
  /** Moves the current secret to "previous" and stores the new one. @throws NOT_FOUND */
  rotate(id: string, rotation: KeyRotation): Promise<StoredAccessKey>;
  list(page?: PageRequest): Promise<Page<StoredAccessKey>>;
  /** @throws NOT_FOUND; revoking twice keeps the first revocation time. */
  revoke(id: string): Promise<StoredAccessKey>;
  touch(id: string, at: Date): Promise<void>;
  countActive(): Promise<number>;
}

/** A console session: only the hash of its id is kept, never the id or the key's secret. */
export interface StoredSession {
  /** SHA-256 (hex) of the session id the cookie carries. */
  idHash: string;
  keyId: string;
  createdAt: Date;
  expiresAt: Date;
}

/** Console sessions (sign-in with an access key, then an HttpOnly cookie). */
export interface SessionStore {
  create(session: StoredSession): Promise<void>;
  /** The session with this id hash, expired or not; undefined when there is none. */
  find(idHash: string): Promise<StoredSession | undefined>;
  delete(idHash: string): Promise<void>;
  /** Ends every session of a key (its revocation); returns how many ended. */
  deleteForKey(keyId: string): Promise<number>;
  /** Removes sessions that expired before `now`; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}

/** Runs of the sample project (quickstart), kept whole as their public document. */
export interface QuickstartStore {
  /** Inserts or replaces the run with this id. */
  save(run: Quickstart): Promise<void>;
  /** @throws NOT_FOUND */
  get(id: string): Promise<Quickstart>;
  /** Newest first. */
  list(limit: number): Promise<Quickstart[]>;
}

/** The hardware catalog. */
export interface InstanceTypeStore {
  /** @throws ALREADY_EXISTS */
  create(input: InstanceTypeInput): Promise<InstanceTypeRecord>;
  /** @throws NOT_FOUND */
  get(name: string): Promise<InstanceTypeRecord>;
  list(page?: PageRequest): Promise<Page<InstanceTypeRecord>>;
  /**
   * Applies `patch` atomically. With `expectedVersion`, refuses with CONFLICT when the stored
   * version differs, so two read-modify-write clients never silently lose an update.
   * @throws NOT_FOUND, CONFLICT
   */
  update(name: string, patch: UpdateInstanceTypeBody): Promise<InstanceTypeRecord>;
  /** @throws NOT_FOUND */
  delete(name: string): Promise<void>;
}

/** Leases elect one holder for leader-only loops (scheduler, autoscaler, monitoring cron). */
export interface LeaseStore {
  /** Takes or renews `name` for `holder` for `ttlMs`; true when `holder` holds it afterwards. */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
  holderOf(name: string): Promise<string | undefined>;
}

/**
 * The metadata port, split by aggregate. Adapters: SQLite (default) and PostgreSQL, same Kysely code.
 */
export interface MetadataStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly accessKeys: AccessKeyStore;
  readonly auditLog: AuditLog;
  readonly sessions: SessionStore;
  readonly quickstarts: QuickstartStore;
  readonly instanceTypes: InstanceTypeStore;
  readonly leases: LeaseStore;
  readonly multipartUploads: MultipartUploadStore;
  readonly jobs: JobStore;
  /** Tags by resource ARN (the SageMaker door's AddTags/ListTags/DeleteTags). */
  readonly tags: TagStore;
  /** Experiments, trials and trial components (SageMaker Experiments). */
  readonly experiments: ExperimentStore;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  /** True when the store answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
