import { TrainyardError } from '@trainyard/contracts/errors';
import type {
  JobFailure,
  JobStatus,
  SecondaryStatus,
  SecondaryStatusTransition,
} from '@trainyard/contracts/jobs';
import type { JobPatch, JobRecord } from '../ports/job-store.js';

/** SageMaker's documented mapping from secondary to primary status. */
const primaryBySecondary: Record<SecondaryStatus, JobStatus> = {
  Pending: 'InProgress',
  Starting: 'InProgress',
  Downloading: 'InProgress',
  Training: 'InProgress',
  Processing: 'InProgress',
  Uploading: 'InProgress',
  Restarting: 'InProgress',
  Completed: 'Completed',
  Failed: 'Failed',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  MaxRuntimeExceeded: 'Stopped',
};

const terminal: ReadonlySet<JobStatus> = new Set(['Completed', 'Failed', 'Stopped']);

/** Longest FailureReason SageMaker reports (the first 1024 characters of output/failure). */
export const maxFailureReasonLength = 1024;

/**
 * The job state machine: which moves are allowed and what each one writes. Pure functions over
 * a JobRecord; stores and workers apply the patches with compare-and-set.
 */
export const JobLifecycle = {
  primaryOf(secondary: SecondaryStatus): JobStatus {
    return primaryBySecondary[secondary];
  },

  isTerminal(status: JobStatus): boolean {
    return terminal.has(status);
  },

  /** The first transition of a queued job. */
  queued(at: Date): SecondaryStatusTransition[] {
    return [
      { Status: 'Pending', StartTime: at.toISOString(), StatusMessage: 'Queued; waiting for a worker' },
    ];
  },

  /**
   * Moves to `next`, closing the current transition. Refused (FAILED_PRECONDITION) from an ended job,
   * and while Stopping to anything but a stopped or failed end: a stop request wins over progress.
   */
  advance(job: JobRecord, next: SecondaryStatus, at: Date, message?: string): JobPatch {
    if (terminal.has(job.status)) {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `job "${job.name}" has ended (${job.status}); it cannot move to ${next}`,
      );
    }
    const status = primaryBySecondary[next];
    if (job.status === 'Stopping' && status === 'InProgress') {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `job "${job.name}" is stopping; it cannot move to ${next}`,
      );
    }
    const iso = at.toISOString();
    const transitions = job.transitions.map((t, i) =>
      i === job.transitions.length - 1 && t.EndTime === undefined ? { ...t, EndTime: iso } : t,
    );
    const entry: SecondaryStatusTransition = { Status: next, StartTime: iso };
    if (message !== undefined) entry.StatusMessage = message;
    if (terminal.has(status)) entry.EndTime = iso;
    transitions.push(entry);
    const patch: JobPatch = { status, secondaryStatus: next, transitions };
    if (terminal.has(status)) patch.endedAt = at;
    return patch;
  },

  /** Ends the job Failed with `failure`; FailureReason is its message, cut to 1024 characters. */
  fail(job: JobRecord, failure: JobFailure, at: Date): JobPatch {
    const message = failure.message.slice(0, maxFailureReasonLength);
    return { ...JobLifecycle.advance(job, 'Failed', at, message), failure: { ...failure, message } };
  },
};
