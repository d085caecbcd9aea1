import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { can } from './api.js';
import { useClient, useSession } from './session.js';

/** Which cached queries an event touches. */
function keysOf(type: string): string[][] {
  // A tuning job's own state changes and trial progress (the tuner records a trial's end in the
  // tuning job a moment after the training job's event, and publishes tuning-job.progress then).
  if (type.includes('tuning-job')) return [['tuning-jobs'], ['tuning-job']];
  if (type.includes('training-job')) return [['training-jobs'], ['training-job'], ['dashboard']];
  if (type.includes('processing-job')) return [['processing-jobs'], ['dashboard']];
  if (type.includes('endpoint')) return [['endpoints'], ['endpoint'], ['dashboard'], ['lineage']];
  if (type.includes('quickstart')) return [['quickstart'], ['dashboard'], ['datasets']];
  return [];
}

/**
 * Follows `/api/v1/events` for the whole signed-in session and refreshes what each event
 * touches, so pages update without polling. Reconnects after a dropped stream.
 */
export function useLiveEvents(): void {
  const client = useClient();
  const { session } = useSession();
  const queries = useQueryClient();
  // The feed needs read access; an invoker key only invokes endpoints.
  const reads = can(session.role, 'read');
  useEffect(() => {
    if (!reads) return;
    const abort = new AbortController();
    void (async () => {
      let delay = 1000;
      while (!abort.signal.aborted) {
        try {
          for await (const e of client.events('streamEvents', {}, { signal: abort.signal })) {
            delay = 1000;
            for (const key of keysOf(e.event)) void queries.invalidateQueries({ queryKey: key });
          }
        } catch {
          if (abort.signal.aborted) return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    })();
    return () => abort.abort();
  }, [client, queries, reads]);
}
