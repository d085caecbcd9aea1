import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useParams } from 'react-router';
import { Empty, QueryView, StatusBadge, StatusTimeline, When } from '../components/states.js';
import { useClient } from '../session.js';

/**
 * A processing job: status, timeline, outputs and its log. Processing jobs have no log stream
 * yet: the log is re-read when a processing-job.state-change event arrives (live-events.ts).
 */
export function ProcessingJobPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const box = useRef<HTMLPreElement>(null);
  const job = useQuery({
    queryKey: ['processing-jobs', 'detail', name],
    queryFn: () => client.call('describeProcessingJob', { params: { name } }),
  });
  const logs = useQuery({
    queryKey: ['processing-jobs', 'logs', name],
    queryFn: () => client.call('getProcessingJobLogs', { params: { name }, query: { limit: 10_000 } }),
  });
  useEffect(() => {
    // The log box scrolls, so keyboard users must be able to focus it to scroll.
    if (box.current) box.current.tabIndex = 0;
  });
  return (
    <>
      <p>
        <Link to="/processing-jobs">Processing jobs</Link> /
      </p>
      <h1>Processing job {name}</h1>
      <QueryView query={job} what="processing job">
        {(j) => (
          <div className="stack">
            <div className="row">
              <StatusBadge status={j.ProcessingJobStatus} />
              <span className="muted">{j.SecondaryStatus}</span>
            </div>
            {j.FailureReason ? (
              <p role="alert" className="state error">
                {j.FailureReason}
              </p>
            ) : null}
            <div className="grid">
              <section className="card" aria-labelledby="pj-summary">
                <h2 id="pj-summary">Summary</h2>
                <dl className="kv">
                  <dt>Created</dt>
                  <dd>
                    <When at={j.CreationTime} />
                  </dd>
                  <dt>Ended</dt>
                  <dd>
                    <When at={j.ProcessingEndTime} />
                  </dd>
                  <dt>Attempts</dt>
                  <dd>{j.Attempts}</dd>
                  <dt>Exit message</dt>
                  <dd>{j.ExitMessage ?? '—'}</dd>
                </dl>
              </section>
              <StatusTimeline id="pj-timeline" transitions={j.SecondaryStatusTransitions} />
            </div>
          </div>
        )}
      </QueryView>
      <h2>Log</h2>
      <QueryView query={logs} what="log">
        {(page) =>
          page.events.length === 0 ? (
            <Empty>No log lines yet.</Empty>
          ) : (
            <pre ref={box} className="logs" role="log" aria-label="Processing job log" aria-live="off">
              {page.events.map((e) => e.message).join('\n')}
            </pre>
          )
        }
      </QueryView>
    </>
  );
}
