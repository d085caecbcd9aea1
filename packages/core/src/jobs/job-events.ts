import type { EventPublisher } from '../messaging/event-publisher.js';
import type { JobRecord } from '../ports/job-store.js';

/** What job code needs of the event publisher. */
export type JobEventSink = Pick<EventPublisher, 'stateChange'>;

/**
 * Publishes `trainyard.<kind>-job.state-change` when a write changed the job's primary status
 * (InProgress, Completed, Failed, Stopping, Stopped). Best effort: the job row is the truth, so a
 * failed publish is reported to `onError` and never fails the job.
 */
export async function publishJobStateChange(
  events: JobEventSink | undefined,
  before: JobRecord | undefined,
  after: JobRecord,
  onError: (error: unknown) => void = () => {},
): Promise<void> {
  if (!events || before?.status === after.status) return;
  const detail: Parameters<JobEventSink['stateChange']>[2] = {
    state: after.status,
    secondaryStatus: after.secondaryStatus,
    arn: after.arn,
  };
  if (before) detail.previousState = before.status;
  const reason = after.failure?.message ?? after.transitions.at(-1)?.StatusMessage;
  if (reason !== undefined) detail.reason = reason;
  try {
    await events.stateChange(`${after.kind}-job`, after.name, detail, after.updatedAt);
  } catch (error) {
    onError(error);
  }
}
