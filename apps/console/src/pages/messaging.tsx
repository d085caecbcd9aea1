import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link } from 'react-router';
import { can } from '../api.js';
import { axis, Chart } from '../components/chart.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, ErrorState, QueryView, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

function Queues() {
  const client = useClient();
  const { session } = useSession();
  const queries = useQueryClient();
  const pageToken = usePageToken('queues');
  const list = useQuery({
    queryKey: ['messaging', 'queues', pageToken],
    queryFn: () => client.call('listQueues', { query: { limit: 50, ...(pageToken ? { pageToken } : {}) } }),
  });
  const redrive = useMutation({
    mutationFn: (name: string) => client.call('redriveQueue', { params: { name }, body: {} }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['messaging', 'queues'] }),
  });
  const option = useMemo(() => {
    const items = list.data?.items ?? [];
    return {
      legend: { top: 0 },
      grid: { left: 160, right: 24, top: 32, bottom: 24 },
      xAxis: axis({ type: 'value' }),
      yAxis: axis({ type: 'category', data: items.map((q) => q.name) }),
      series: [
        { name: 'visible', type: 'bar', stack: 'depth', data: items.map((q) => q.visible) },
        { name: 'in flight', type: 'bar', stack: 'depth', data: items.map((q) => q.inFlight) },
        { name: 'delayed', type: 'bar', stack: 'depth', data: items.map((q) => q.delayed) },
      ],
    };
  }, [list.data]);
  const deadLetterQueues = new Set((list.data?.items ?? []).map((q) => q.deadLetterQueue).filter(Boolean));
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      <QueryView query={list} what="queues">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No queues.</Empty>
          ) : (
            <div className="stack">
              <Chart
                option={option}
                label="Queue depth: visible, in-flight and delayed messages per queue"
                height={Math.max(160, page.items.length * 28 + 64)}
              />
              <table>
                <thead>
                  <tr>
                    <th>Queue</th>
                    <th>Visible</th>
                    <th>In flight</th>
                    <th>Delayed</th>
                    <th>Oldest</th>
                    <th>Dead letters go to</th>
                    <th>Redrive</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((q) => (
                    <tr key={q.name}>
                      <td>{q.name}</td>
                      <td>{q.visible}</td>
                      <td>{q.inFlight}</td>
                      <td>{q.delayed}</td>
                      <td>{q.oldestAgeMs > 0 ? `${Math.round(q.oldestAgeMs / 1000)} s` : '—'}</td>
                      <td>{q.deadLetterQueue ?? '—'}</td>
                      <td>
                        {deadLetterQueues.has(q.name) && can(session.role, 'write') ? (
                          <button
                            type="button"
                            disabled={redrive.isPending || q.visible === 0}
                            onClick={() => redrive.mutate(q.name)}
                          >
                            Redrive {q.name}
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Queues" param="queues" />
              {redrive.isError ? <ErrorState error={redrive.error} /> : null}
              {redrive.data ? (
                <p role="status">
                  Moved {redrive.data.moved} messages to {redrive.data.toQueue}.
                </p>
              ) : null}
            </div>
          )
        }
      </QueryView>
    </section>
  );
}

function Topics() {
  const client = useClient();
  const pageToken = usePageToken('topics');
  const list = useQuery({
    queryKey: ['messaging', 'topics', pageToken],
    queryFn: () => client.call('listTopics', { query: { limit: 50, ...(pageToken ? { pageToken } : {}) } }),
  });
  return (
    <section aria-labelledby="topics-title">
      <h2 id="topics-title">Topics</h2>
      <QueryView query={list} what="topics">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No topics.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Topic</th>
                    <th>Subscriptions</th>
                    <th>Description</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((t) => (
                    <tr key={t.name}>
                      <td>
                        <Link to={`/messaging/topics/${encodeURIComponent(t.name)}`}>{t.name}</Link>
                      </td>
                      <td>{t.subscriptionCount}</td>
                      <td>{t.description}</td>
                      <td>
                        <When at={t.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Topics" param="topics" />
            </>
          )
        }
      </QueryView>
    </section>
  );
}

function Streams() {
  const client = useClient();
  const pageToken = usePageToken('streams');
  const list = useQuery({
    queryKey: ['messaging', 'streams', pageToken],
    queryFn: () => client.call('listStreams', { query: { limit: 50, ...(pageToken ? { pageToken } : {}) } }),
  });
  return (
    <section aria-labelledby="streams-title">
      <h2 id="streams-title">Streams</h2>
      <QueryView query={list} what="streams">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No streams.</Empty>
          ) : (
            <>
              <ul>
                {page.items.map((s) => (
                  <li key={s.name}>
                    <Link to={`/messaging/streams/${encodeURIComponent(s.name)}`}>{s.name}</Link>
                  </li>
                ))}
              </ul>
              <Pager next={page.nextPageToken} label="Streams" param="streams" />
            </>
          )
        }
      </QueryView>
    </section>
  );
}

export function MessagingPage() {
  return (
    <>
      <h1>Messaging</h1>
      <Queues />
      <Topics />
      <Streams />
    </>
  );
}
