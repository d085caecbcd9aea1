import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { can } from '../api.js';
import { axis, Chart } from '../components/chart.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, ErrorState, QueryView, StatusBadge, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

/** Delivery attempts shown at first, and how many more each "Show more" asks for (the API's cap is 1 000). */
const attemptsStep = 50;
const attemptsCap = 1000;

type Endpoint =
  | { kind: 'http' | 'https'; url: string }
  | { kind: 'queue'; queue: string }
  | { kind: 'handler'; name: string };

function Target({ endpoint }: { endpoint: Endpoint }) {
  if (endpoint.kind === 'queue')
    return (
      <>
        queue <code>{endpoint.queue}</code>
      </>
    );
  if (endpoint.kind === 'handler')
    return (
      <>
        in-process handler <code>{endpoint.name}</code>
      </>
    );
  return (
    <>
      webhook <code>{endpoint.url}</code>
    </>
  );
}

/** The delivery log and dead letters of one subscription (`GET /api/v1/subscriptions/:id/…`). */
function Deliveries({ id }: { id: string }) {
  const client = useClient();
  const [params, setParams] = useSearchParams();
  const limit = Math.min(attemptsCap, Math.max(attemptsStep, Number(params.get('limit')) || attemptsStep));
  const log = useQuery({
    queryKey: ['messaging', 'deliveries', id, limit],
    queryFn: () => client.call('listDeliveries', { params: { id }, query: { limit } }),
  });
  const dead = useQuery({
    queryKey: ['messaging', 'dead-letters', id],
    queryFn: () => client.call('listDeadLetters', { params: { id }, query: { limit: 100 } }),
  });
  const option = useMemo(() => {
    const items = log.data?.items ?? [];
    const outcomes = ['delivered', 'failed', 'dead-lettered'] as const;
    return {
      grid: { left: 110, right: 24, top: 8, bottom: 24 },
      xAxis: axis({ type: 'value', minInterval: 1 }),
      yAxis: axis({ type: 'category', data: [...outcomes] }),
      series: [{ type: 'bar', data: outcomes.map((o) => items.filter((a) => a.status === o).length) }],
    };
  }, [log.data]);
  return (
    <div className="stack">
      <div className="row">
        <button
          type="button"
          onClick={() => {
            void log.refetch();
            void dead.refetch();
          }}
        >
          Refresh deliveries
        </button>
        {log.isFetching && !log.isPending ? <span className="muted">refreshing…</span> : null}
      </div>
      <QueryView query={log} what="deliveries">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>No delivery attempts logged for this subscription yet.</Empty>
          ) : (
            <>
              <Chart
                option={option}
                height={140}
                label="Outcome of the delivery attempts shown: delivered, failed (to be retried), dead-lettered"
                summary={`${items.filter((a) => a.status === 'delivered').length} delivered, ${items.filter((a) => a.status === 'failed').length} failed, ${items.filter((a) => a.status === 'dead-lettered').length} dead-lettered of the last ${items.length} attempts.`}
              />
              <table aria-label="Delivery attempts, newest first">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Message</th>
                    <th>Attempt</th>
                    <th>Outcome</th>
                    <th>HTTP</th>
                    <th>Took</th>
                    <th>Error</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={`${a.messageId}-${a.attempt}-${a.at}`}>
                      <td>
                        <When at={a.at} />
                      </td>
                      <td>
                        <code>{a.messageId}</code>
                      </td>
                      <td>{a.attempt}</td>
                      <td>
                        <StatusBadge status={a.status} />
                      </td>
                      <td>{a.httpStatus ?? '—'}</td>
                      <td>{a.durationMs} ms</td>
                      <td>{a.error ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {items.length >= limit && limit < attemptsCap ? (
                <div>
                  <button
                    type="button"
                    onClick={() => {
                      const p = new URLSearchParams(params);
                      p.set('limit', String(Math.min(attemptsCap, limit + attemptsStep)));
                      setParams(p);
                    }}
                  >
                    Show older attempts
                  </button>
                </div>
              ) : null}
            </>
          )
        }
      </QueryView>
      <h3>Dead letters</h3>
      <QueryView query={dead} what="dead letters">
        {({ items }) =>
          items.length === 0 ? (
            <Empty>No dead letters: no delivery was given up on.</Empty>
          ) : (
            <table aria-label="Dead letters, newest first">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Message</th>
                  <th>Attempts</th>
                  <th>Last error</th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={`${d.messageId}-${d.at}`}>
                    <td>
                      <When at={d.at} />
                    </td>
                    <td>
                      <code>{d.messageId}</code>
                    </td>
                    <td>{d.attempts}</td>
                    <td>{d.lastError}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryView>
    </div>
  );
}

/** Test-publish (developers and admins): the message goes to every subscription. */
function PublishForm({ topic }: { topic: string }) {
  const client = useClient();
  const queries = useQueryClient();
  const [message, setMessage] = useState('');
  const publish = useMutation({
    mutationFn: () => client.call('publish', { params: { name: topic }, body: { message } }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['messaging', 'deliveries'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    publish.mutate();
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="publish-title">
      <h2 id="publish-title">Publish a test message</h2>
      <label>
        Message
        <textarea name="message" rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />
      </label>
      <div>
        <button type="submit" className="primary" disabled={publish.isPending || message === ''}>
          {publish.isPending ? 'Publishing…' : 'Publish'}
        </button>
      </div>
      {publish.isError ? <ErrorState error={publish.error} /> : null}
      {publish.data ? (
        <p role="status">
          Message <code>{publish.data.messageId}</code> queued for {publish.data.deliveries} subscription
          {publish.data.deliveries === 1 ? '' : 's'}; deliveries are sent in the background (refresh to see
          them).
        </p>
      ) : null}
    </form>
  );
}

/**
 * A topic (`/messaging/topics/:name`): its subscriptions (paged, `?subs=`) and, for the one chosen
 * (`?subscription=<id>`, else the first), its delivery attempts with their outcome and its dead letters.
 */
export function TopicPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const { session } = useSession();
  const [params] = useSearchParams();
  const pageToken = usePageToken('subs');
  const topic = useQuery({
    queryKey: ['messaging', 'topic', name],
    queryFn: () => client.call('getTopic', { params: { name } }),
  });
  const subscriptions = useQuery({
    queryKey: ['messaging', 'subscriptions', name, pageToken],
    queryFn: () =>
      client.call('listSubscriptions', {
        params: { name },
        query: { limit: 20, ...(pageToken ? { pageToken } : {}) },
      }),
  });
  const chosen = params.get('subscription') ?? subscriptions.data?.items[0]?.id;
  const linkTo = (id: string) => {
    const p = new URLSearchParams(params);
    p.set('subscription', id);
    p.delete('limit');
    return `?${p.toString()}`;
  };
  return (
    <>
      <p>
        <Link to="/messaging">Messaging</Link> /
      </p>
      <h1>Topic {name}</h1>
      <QueryView query={topic} what="topic">
        {(t) => (
          <dl className="kv card">
            <dt>Description</dt>
            <dd>{t.description || '—'}</dd>
            <dt>Created</dt>
            <dd>
              <When at={t.createdAt} />
            </dd>
            <dt>Subscriptions</dt>
            <dd>{t.subscriptionCount}</dd>
          </dl>
        )}
      </QueryView>
      {can(session.role, 'write') && topic.isSuccess ? <PublishForm topic={name} /> : null}
      <section aria-labelledby="subscriptions-title">
        <h2 id="subscriptions-title">Subscriptions</h2>
        <QueryView query={subscriptions} what="subscriptions">
          {(page) =>
            page.items.length === 0 ? (
              <Empty>No subscriptions: messages published to this topic go nowhere.</Empty>
            ) : (
              <>
                <table>
                  <thead>
                    <tr>
                      <th>Subscription</th>
                      <th>Delivers to</th>
                      <th>Attempts at most</th>
                      <th>Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((s) => (
                      <tr key={s.id}>
                        <td>
                          <Link to={linkTo(s.id)} aria-current={s.id === chosen ? 'true' : undefined}>
                            {s.id}
                          </Link>
                        </td>
                        <td>
                          <Target endpoint={s.endpoint} />
                        </td>
                        <td>{s.retryPolicy.maxAttempts}</td>
                        <td>
                          <When at={s.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Pager next={page.nextPageToken} label="Subscriptions" param="subs" />
              </>
            )
          }
        </QueryView>
      </section>
      {chosen ? (
        <section aria-labelledby="deliveries-title">
          <h2 id="deliveries-title">Deliveries of subscription {chosen}</h2>
          <Deliveries id={chosen} />
        </section>
      ) : null}
    </>
  );
}
