import { useSearchParams } from 'react-router';

/** The statuses a job list filters on (training, processing and tuning jobs share them). */
export const jobStatuses = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The `?status=` of a job list page, when it is one of `jobStatuses`. */
export function useStatusFilter(): JobStatus | undefined {
  const [params] = useSearchParams();
  const given = params.get('status') ?? '';
  return (jobStatuses as readonly string[]).includes(given) ? (given as JobStatus) : undefined;
}

/** The status select of a job list: choosing one starts the list again from its first page. */
export function StatusFilter() {
  const [, setParams] = useSearchParams();
  const status = useStatusFilter();
  return (
    <label className="inline">
      Status&nbsp;
      <select
        value={status ?? ''}
        onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}
      >
        <option value="">All</option>
        {jobStatuses.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}
