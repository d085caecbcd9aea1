import { z } from 'zod';
import { errorCodes } from './errors.js';
import { PageQuery } from './pagination.js';

/**
 * Status of every job kind (processing now; training, transform and monitoring reuse it), with
 * SageMaker's names: `InProgress` covers queued (secondary `Pending`) through uploading.
 */
export const JobStatus = z.enum(['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped']);

/** Orders of a job list (SageMaker's SortBy / SortOrder); newest first by default. */
export const jobSortKeys = ['CreationTime', 'Name', 'Status'] as const;

const Instant = z.iso.datetime({ offset: true });

/** A job list's filters and order, for every job kind (SageMaker's List*Jobs request members). */
export const JobListQuery = PageQuery.extend({
  status: JobStatus.optional(),
  nameContains: z
    .string()
    .max(63)
    .regex(/^[a-zA-Z0-9-]+$/, 'letters, digits and "-", as in job names')
    .optional(),
  sortBy: z.enum(jobSortKeys).optional(),
  sortOrder: z.enum(['Ascending', 'Descending']).optional(),
  /** Jobs created strictly after / before this instant (ISO 8601). */
  createdAfter: Instant.optional(),
  createdBefore: Instant.optional(),
  /** Jobs last changed strictly after / before this instant (ISO 8601). */
  modifiedAfter: Instant.optional(),
  modifiedBefore: Instant.optional(),
});
export type JobStatus = z.infer<typeof JobStatus>;

/**
 * SageMaker's secondary statuses. `Pending` = queued, no worker yet; `Restarting` = a worker
 * lost the job (crash, lost heartbeat) and another one starts it again from the beginning.
 */
export const SecondaryStatus = z.enum([
  'Pending',
  'Starting',
  'Downloading',
  'Training',
  'Processing',
  'Uploading',
  'Restarting',
  'Completed',
  'Failed',
  'Stopping',
  'Stopped',
  'MaxRuntimeExceeded',
]);
export type SecondaryStatus = z.infer<typeof SecondaryStatus>;

export const SecondaryStatusTransition = z.object({
  Status: SecondaryStatus,
  /** ISO 8601. */
  StartTime: z.string(),
  /** ISO 8601; absent while this is the current status. */
  EndTime: z.string().optional(),
  StatusMessage: z.string().optional(),
});
export type SecondaryStatusTransition = z.infer<typeof SecondaryStatusTransition>;

/** Why a job failed, as data: `retryable` says whether running the same job again may succeed. */
export const JobFailure = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  retryable: z.boolean(),
});
export type JobFailure = z.infer<typeof JobFailure>;

export const JobLogStream = z.enum(['stdout', 'stderr', 'system']);
export type JobLogStream = z.infer<typeof JobLogStream>;

export const JobLogEvent = z.object({
  /** Position in the job's log, from 1, increasing across restarts. */
  seq: z.number().int().min(1),
  /** ISO 8601. */
  at: z.string(),
  stream: JobLogStream,
  message: z.string(),
});
export type JobLogEvent = z.infer<typeof JobLogEvent>;

export const JobLogQuery = z.object({
  /** Returns events with `seq` greater than this; pass the previous page's `nextCursor`. Default 0. */
  cursor: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const JobLogPage = z.object({
  events: z.array(JobLogEvent),
  /** Pass as `cursor` to read what comes next (equal to the request's cursor when nothing new). */
  nextCursor: z.number().int(),
  /** True once the job has ended and every event has been returned: followers can stop. */
  complete: z.boolean(),
});
export type JobLogPage = z.infer<typeof JobLogPage>;

/** SageMaker's job name rule: 1-63 of letters, digits and single or repeated hyphens inside. */
export const JobName = z
  .string()
  .max(63)
  .regex(
    /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/,
    'use 1-63 letters, digits and hyphens, starting with a letter or digit',
  );
