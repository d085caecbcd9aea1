import type { JobQueue } from '../ports/job-queue.js';
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

/** The single queue every kind shared before per-kind queues. */
export const legacyJobQueueName = 'trainyard-jobs';

/**
 * Moves dispatch messages left in the shared queue of an older version to their kind's queue, so
 * jobs queued before an upgrade still run. Create the kind queues first. Messages another worker
 * holds are moved once they reappear, at a later start. Returns how many were moved.
 */
export async function forwardLegacyJobMessages(queue: JobQueue): Promise<number> {
  const queues = await queue.listQueues();
  if (!queues.includes(legacyJobQueueName)) return 0;
  let moved = 0;
  for (;;) {
    const messages = await queue.receive(legacyJobQueueName, {
      maxMessages: 10,
      waitMs: 0,
      visibilityTimeoutMs: 30_000,
    });
    if (messages.length === 0) return moved;
    for (const message of messages) {
      const dispatch = parseJobDispatchMessage(message.body);
      // A kind without its queue here is left where it is, for a server that runs that kind.
      if (dispatch && !queues.includes(jobQueueName(dispatch.kind))) continue;
      if (dispatch) {
        await queue.send(jobQueueName(dispatch.kind), message.body);
        moved++;
      }
      await queue.delete(legacyJobQueueName, message.receiptHandle);
    }
  }
}
