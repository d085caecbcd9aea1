import type { JobKind } from '../ports/job-store.js';

/**
 * The JobQueue queue a kind's jobs are dispatched through: one per kind, so a worker receives only
 * messages it can run and never hides another kind's job for a visibility timeout.
 */
export function jobQueueName(kind: JobKind): string {
  return `trainyard-jobs-${kind}`;
}

/** The body of a dispatch message: the job row holds everything else. */
export interface JobDispatchMessage {
  jobId: string;
  kind: JobKind;
}

export function parseJobDispatchMessage(body: string): JobDispatchMessage | undefined {
  try {
    const parsed = JSON.parse(body) as Partial<JobDispatchMessage>;
    return typeof parsed.jobId === 'string' && typeof parsed.kind === 'string'
      ? { jobId: parsed.jobId, kind: parsed.kind }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Ids start with the creation time in ms, so sorting ids sorts by creation. */
export function newJobId(at: Date): string {
  const random = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, '0');
  return `job-${at.getTime().toString().padStart(14, '0')}-${random}`;
}

/** SageMaker-style ARN; the region and account are fixed for a self-hosted installation. */
export function jobArn(kind: JobKind, name: string): string {
  return `arn:aws:sagemaker:us-east-1:000000000000:${kind}-job/${name.toLowerCase()}`;
}
