import type {
  JobFailure,
  JobLogEvent,
  JobStatus,
  SecondaryStatus,
  SecondaryStatusTransition,
} from '@trainyard/contracts/jobs';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/**
 * Job kinds in the jobs table. Names are unique per kind, as in SageMaker. `tuning` rows are
 * driven by the tuner's leader loop, not by a worker (no queue message is ever sent for them).
 */
export type JobKind = 'processing' | 'training' | 'transform' | 'monitoring' | 'tuning';

/** One job of any kind. `spec` and `result` are kind-specific JSON documents. */
export interface JobRecord {
  id: string;
  kind: JobKind;
  name: string;
  arn: string;
  status: JobStatus;
  secondaryStatus: SecondaryStatus;
  transitions: SecondaryStatusTransition[];
  spec: unknown;
  result: unknown;
  failure: JobFailure | undefined;
  exitMessage: string | undefined;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | undefined;
  endedAt: Date | undefined;
  /** Workers that started this job so far (a lost worker's attempt counts). */
  attempts: number;
  /** The worker holding the job's row-level lease, while it runs it. */
  claimHolder: string | undefined;
  claimExpiresAt: Date | undefined;
  /** Bumped by every write, for compare-and-set updates. */
  version: number;
}

export interface NewJob {
  id: string;
  kind: JobKind;
  name: string;
  arn: string;
  spec: unknown;
  transitions: SecondaryStatusTransition[];
  createdAt: Date;
}

/** Fields a state change may set; `null` clears an optional field. */
export interface JobPatch {
  status?: JobStatus;
  secondaryStatus?: SecondaryStatus;
  transitions?: SecondaryStatusTransition[];
  result?: unknown;
  failure?: JobFailure | null;
  exitMessage?: string | null;
  startedAt?: Date;
  endedAt?: Date;
}

/** Guards of an update: it applies only while they hold, else CONFLICT. */
export interface JobUpdateGuard {
  /** The row must still be at this version. */
  version?: number;
  /** The row must still be claimed by this holder, with an unexpired claim. */
  holder?: string;
}

export interface JobListFilter extends PageRequest {
  status?: JobStatus | undefined;
  nameContains?: string | undefined;
  /** Default CreationTime, Descending (newest first). */
  sortBy?: 'CreationTime' | 'Name' | 'Status' | undefined;
  sortOrder?: 'Ascending' | 'Descending' | undefined;
  /** ISO 8601 bounds, exclusive. */
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
  modifiedAfter?: string | undefined;
  modifiedBefore?: string | undefined;
}

/** Log lines as a worker appends them; `seq` is assigned by the writer, from 1. */
export type NewJobLogEvent = Omit<JobLogEvent, 'at'> & { at: Date };

/** Jobs and their logs, in the metadata store. */
export interface JobStore {
  /** @throws ALREADY_EXISTS when a job of this kind has the name */
  create(job: NewJob): Promise<JobRecord>;
  /** @throws NOT_FOUND */
  get(kind: JobKind, name: string): Promise<JobRecord>;
  /** @throws NOT_FOUND */
  getById(id: string): Promise<JobRecord>;
  /** Newest first unless `filter.sortBy` / `sortOrder` say otherwise. */
  list(kind: JobKind, filter?: JobListFilter): Promise<Page<JobRecord>>;
  /** @throws NOT_FOUND; CONFLICT when a guard no longer holds */
  update(id: string, patch: JobPatch, guard?: JobUpdateGuard): Promise<JobRecord>;
  /**
   * Takes the row-level lease for `ttlMs` when the job is unfinished and nobody holds an unexpired
   * claim; counts an attempt. Returns the claimed job, or undefined when another holder has it
   * or the job has ended. This is what keeps a job from running twice at once.
   */
  claim(id: string, holder: string, ttlMs: number): Promise<JobRecord | undefined>;
  /** Extends the holder's claim; false when it was lost (expired and taken, or released). */
  renewClaim(id: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseClaim(id: string, holder: string): Promise<void>;
  /**
   * Removes an ended job (Completed, Failed, Stopped) and its log. A running job cannot be
   * deleted: its worker still writes to it.
   * @throws NOT_FOUND; FAILED_PRECONDITION when the job has not ended
   */
  delete(id: string): Promise<void>;
  /** Appends log events; an event whose seq exists already is ignored. */
  appendLogs(jobId: string, events: NewJobLogEvent[]): Promise<void>;
  /** Events with seq > afterSeq, ascending, at most `limit`. */
  readLogs(jobId: string, afterSeq: number, limit: number): Promise<JobLogEvent[]>;
  /** Highest seq written so far, 0 when none. */
  lastLogSeq(jobId: string): Promise<number>;
}
