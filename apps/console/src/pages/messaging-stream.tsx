import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { axis, Chart } from '../components/chart.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, ErrorState, Loading, QueryView, When } from '../components/states.js';
import { useClient } from '../session.js';

/** The windows the page reads (`?window=`); `all` starts at the oldest record kept. */
const windows = {
  '5m': { label: 'last 5 minutes', ms: 5 * 60_000 },
  '1h': { label: 'last hour', ms: 3_600_000 },
  '24h': { label: 'last 24 hours', ms: 24 * 3_600_000 },
  all: { label: 'everything kept', ms: undefined },
} as const;
type WindowKey = keyof typeof windows;

/** Records read per shard for the chart and the latest records (the API's cap is 10 000). */
const chartLimit = 1000;
/** Records per page of the shard reader. */
const readerLimit = 50;
const buckets = 30;

interface StreamRecord {
  shardId: number;
  sequenceNumber: string;
  partitionKey: string;
  data: string;
  arrivedAt: string;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

const clip = (data: string) => (data.length > 160 ? `${data.slice(0, 160)}…` : data);

/** Where a read of the window starts (sequence numbers are opaque: the page never computes one). */
function windowStart(key: WindowKey, now: number) {
  const ms = windows[key].ms;
  return ms === undefined
    ? { position: 'TRIM_HORIZON' as const }
    : { position: 'AT_TIMESTAMP' as const, timestamp: new Date(now - ms).toISOString() };
}

function RecordsTable({ records, label }: { records: StreamRecord[]; label: string }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>Shard</th>
          <th>Sequence number</th>
          <th>Partition key</th>
          <th>Arrived</th>
          <th>Data</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r) => (
          <tr key={`${r.shardId}-${r.sequenceNumber}`}>
            <td>{r.shardId}</td>
            <td>
              <code>{r.sequenceNumber}</code>
            </td>
            <td>{r.partitionKey}</td>
            <td>
              <When at={r.arrivedAt} />
            </td>
            <td>
              <code>{clip(r.data)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Records over time (stacked per shard) and the latest records of the window, newest first. */
function Recent({
  name,
  shardIds,
  win,
  now,
}: {
  name: string;
  shardIds: number[];
  win: WindowKey;
  now: number;
}) {
  const client = useClient();
  const recent = useQuery({
    queryKey: ['messaging', 'stream-recent', name, win, now, shardIds.length],
    queryFn: () =>
      Promise.all(
        shardIds.map((shardId) =>
          client.call('getRecords', {
            params: { name, shardId },
            query: { ...windowStart(win, now), limit: chartLimit },
          }),
        ),
      ),
  });
  const view = useMemo(() => {
    if (!recent.data) return undefined;
    const perShard = recent.data.map((r) => r.records);
    const all = perShard.flat();
    const times = all.map((r) => Date.parse(r.arrivedAt));
    const windowMs = windows[win].ms;
    const from = windowMs === undefined ? Math.min(now - 60_000, ...times) : now - windowMs;
    const width = Math.max(1000, Math.ceil((now - from) / buckets));
    const labels = Array.from({ length: buckets }, (_, i) => {
      const d = new Date(from + i * width);
      if (width < 60_000) return d.toLocaleTimeString();
      // Within a day the time says it; a longer span needs the date too.
      return now - from <= 24 * 3_600_000
        ? d.toLocaleTimeString([], { timeStyle: 'short' })
        : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
    });
    const series = perShard.map((records, i) => {
      const counts = new Array<number>(buckets).fill(0);
      for (const r of records) {
        const at = Math.floor((Date.parse(r.arrivedAt) - from) / width);
        counts[Math.min(buckets - 1, Math.max(0, at))]! += 1;
      }
      return { name: `shard ${shardIds[i]}`, type: 'bar', stack: 'records', data: counts };
    });
    const truncated = shardIds.filter((_, i) => (perShard[i]?.length ?? 0) >= chartLimit);
    const latest = [...all].sort((a, b) => Date.parse(b.arrivedAt) - Date.parse(a.arrivedAt)).slice(0, 20);
    return {
      total: all.length,
      truncated,
      latest,
      width,
      option: {
        legend: { top: 0 },
        grid: { left: 48, right: 24, top: 32, bottom: 56 },
        xAxis: axis({ type: 'category', data: labels, axisLabel: { rotate: 30 } }),
        yAxis: axis({ type: 'value', minInterval: 1, name: 'records' }),
        series,
      },
    };
  }, [recent.data, shardIds, win, now]);
  if (recent.isPending) return <Loading what="recent records" />;
  if (recent.isError) return <ErrorState error={recent.error} retry={() => void recent.refetch()} />;
  if (!view || view.total === 0) return <Empty>No records in the {windows[win].label}.</Empty>;
  return (
    <div className="stack">
      <Chart
        option={view.option}
        label={`Records per ${duration(view.width)} over the ${windows[win].label}, stacked per shard`}
        summary={`${view.total} records read in the ${windows[win].label}${
          view.truncated.length > 0
            ? `; shard ${view.truncated.join(', ')} has more than ${chartLimit}: the chart and the latest records cover the first ${chartLimit} of each, choose a shorter window for the newest`
            : ''
        }.`}
      />
      <h3>Latest records</h3>
      <RecordsTable records={view.latest} label="Latest records, newest first" />
    </div>
  );
}

/** One shard read forward from the window's start, a page at a time (`?after=<sequence number>`). */
function ShardReader({
  name,
  shardIds,
  win,
  now,
}: {
  name: string;
  shardIds: number[];
  win: WindowKey;
  now: number;
}) {
  const client = useClient();
  const [params, setParams] = useSearchParams();
  const shard = Number(params.get('shard') ?? shardIds[0] ?? 0);
  const after = usePageToken('after');
  const page = useQuery({
    queryKey: ['messaging', 'stream-records', name, shard, win, now, after],
    queryFn: () =>
      client.call('getRecords', {
        params: { name, shardId: shard },
        query: after
          ? { position: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after, limit: readerLimit }
          : { ...windowStart(win, now), limit: readerLimit },
      }),
  });
  return (
    <div className="stack">
      <label className="inline">
        Shard&nbsp;
        <select
          value={shard}
          onChange={(e) => {
            const p = new URLSearchParams(params);
            p.set('shard', e.target.value);
            p.delete('after');
            p.delete('after-back');
            setParams(p);
          }}
        >
          {shardIds.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <QueryView query={page} what="records">
        {(r) => (
          <>
            {r.records.length === 0 ? (
              <Empty>
                {after
                  ? 'No records after this one yet.'
                  : `No records of shard ${shard} in the ${windows[win].label}.`}
              </Empty>
            ) : (
              <RecordsTable records={r.records} label={`Records of shard ${shard} in stream order`} />
            )}
            <Pager
              next={
                r.records.length === readerLimit && r.nextPosition.type === 'AFTER_SEQUENCE_NUMBER'
                  ? r.nextPosition.sequenceNumber
                  : undefined
              }
              label={`Shard ${shard} records`}
              param="after"
            />
          </>
        )}
      </QueryView>
    </div>
  );
}

/**
 * A stream (`/messaging/streams/:name?window=1h&shard=0&after=…`): shards with their record counts
 * and sequence ranges, retention, records over time, the latest records and a shard reader.
 */
export function StreamPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const [params, setParams] = useSearchParams();
  const win =
    (params.get('window') ?? '1h') in windows ? ((params.get('window') ?? '1h') as WindowKey) : '1h';
  // The window ends when the page read it; Refresh moves it to now (no timer).
  const [now, setNow] = useState(() => Date.now());
  const stream = useQuery({
    queryKey: ['messaging', 'stream', name, now],
    queryFn: () => client.call('describeStream', { params: { name } }),
    placeholderData: (previous) => previous,
  });
  const shardIds = useMemo(() => (stream.data?.shards ?? []).map((s) => s.shardId), [stream.data]);
  return (
    <>
      <p>
        <Link to="/messaging">Messaging</Link> /
      </p>
      <h1>Stream {name}</h1>
      <div className="row" style={{ marginBottom: 'var(--space-3)' }}>
        <label className="inline">
          Window&nbsp;
          <select
            value={win}
            onChange={(e) => {
              const p = new URLSearchParams(params);
              p.set('window', e.target.value);
              p.delete('after');
              p.delete('after-back');
              setParams(p);
              setNow(Date.now());
            }}
          >
            {Object.entries(windows).map(([key, w]) => (
              <option key={key} value={key}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setNow(Date.now())}>
          Refresh
        </button>
      </div>
      <QueryView query={stream} what="stream">
        {(s) => (
          <div className="stack">
            <dl className="kv card">
              <dt>Shards</dt>
              <dd>{s.shardCount}</dd>
              <dt>Retention</dt>
              <dd>
                {duration(s.retentionMs)}
                {s.maxRecordsPerShard ? `, at most ${s.maxRecordsPerShard} records per shard` : ''}
              </dd>
              <dt>Records kept</dt>
              <dd>{s.shards.reduce((n, sh) => n + sh.records, 0)}</dd>
              <dt>Created</dt>
              <dd>
                <When at={s.createdAt} />
              </dd>
            </dl>
            <section aria-labelledby="shards-title">
              <h2 id="shards-title">Shards</h2>
              <table>
                <thead>
                  <tr>
                    <th>Shard</th>
                    <th>Records</th>
                    <th>First sequence number</th>
                    <th>Last sequence number</th>
                  </tr>
                </thead>
                <tbody>
                  {s.shards.map((sh) => (
                    <tr key={sh.shardId}>
                      <td>{sh.shardId}</td>
                      <td>{sh.records}</td>
                      <td>
                        <code>{sh.firstSequenceNumber ?? '—'}</code>
                      </td>
                      <td>
                        <code>{sh.lastSequenceNumber ?? '—'}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            <section aria-labelledby="recent-title">
              <h2 id="recent-title">Records over time</h2>
              <Recent name={name} shardIds={shardIds} win={win} now={now} />
            </section>
            <section aria-labelledby="reader-title">
              <h2 id="reader-title">Read a shard</h2>
              <ShardReader name={name} shardIds={shardIds} win={win} now={now} />
            </section>
          </div>
        )}
      </QueryView>
    </>
  );
}
