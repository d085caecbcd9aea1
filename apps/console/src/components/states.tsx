import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { errorText } from '../api.js';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state">{children}</div>;
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="state error" role="alert">
      <p>{errorText(error)}</p>
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Loading, error or the content of a query: every page draws its states the same way. */
export function QueryView<T>({
  query,
  what,
  children,
}: {
  query: UseQueryResult<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}

const statusTone: Record<string, string> = {
  Completed: 'ok',
  Approved: 'ok',
  PendingManualApproval: 'warn',
  Rejected: 'danger',
  InService: 'ok',
  Healthy: 'ok',
  InProgress: 'warn',
  Creating: 'warn',
  Updating: 'warn',
  Pending: 'warn',
  Stopping: 'warn',
  Failed: 'danger',
  Unhealthy: 'danger',
  Stopped: 'neutral',
  // Topic delivery attempts: a failed one is retried, a dead-lettered one was given up on.
  delivered: 'ok',
  failed: 'warn',
  'dead-lettered': 'danger',
};

export function StatusBadge({ status }: { status: string | undefined }) {
  const s = status ?? 'Unknown';
  return <span className={`badge ${statusTone[s] ?? 'neutral'}`}>{s}</span>;
}

export function When({ at }: { at: string | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const d = new Date(at);
  return <time dateTime={at}>{d.toLocaleString()}</time>;
}

/** A job's secondary status transitions as a card: each stage, when it began and its message. */
export function StatusTimeline({
  id,
  transitions,
}: {
  id: string;
  transitions: readonly { Status: string; StartTime: string; StatusMessage?: string | undefined }[];
}) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>Status timeline</h2>
      <ol className="timeline">
        {transitions.map((t) => (
          <li key={`${t.Status}-${t.StartTime}`}>
            <strong>{t.Status}</strong> <When at={t.StartTime} />
            {t.StatusMessage ? <div className="muted">{t.StatusMessage}</div> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
