import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { EndpointMetrics } from '@trainyard/contracts/endpoints';
import { type FormEvent, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { can } from '../api.js';
import { axis, Chart } from '../components/chart.js';
import { Empty, ErrorState, QueryView, StatusBadge, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

interface Invocation {
  at: number;
  ms: number;
  ok: boolean;
}

function InvokeBox({ name, onResult }: { name: string; onResult: (i: Invocation) => void }) {
  const client = useClient();
  const [body, setBody] = useState('');
  const [contentType, setContentType] = useState('text/csv');
  const invoke = useMutation({
    mutationFn: async () => {
      const started = performance.now();
      try {
        const answer = await client.invokeEndpoint(name, body, { contentType });
        onResult({ at: Date.now(), ms: performance.now() - started, ok: true });
        return answer;
      } catch (error) {
        onResult({ at: Date.now(), ms: performance.now() - started, ok: false });
        throw error;
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invoke.mutate();
  };
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="invoke-title">
      <h2 id="invoke-title">Invoke</h2>
      <label>
        Content type
        <select value={contentType} onChange={(e) => setContentType(e.target.value)}>
          <option value="text/csv">text/csv</option>
          <option value="application/json">application/json</option>
          <option value="application/jsonlines">application/jsonlines</option>
        </select>
      </label>
      <label>
        Request body (one row per line for CSV, features only)
        <textarea name="payload" rows={4} required value={body} onChange={(e) => setBody(e.target.value)} />
      </label>
      <div>
        <button type="submit" className="primary" disabled={invoke.isPending || body.trim() === ''}>
          {invoke.isPending ? 'Invoking…' : 'Invoke'}
        </button>
      </div>
      {invoke.isError ? <ErrorState error={invoke.error} /> : null}
      {invoke.data ? (
        <div>
          <h3>Response from variant {invoke.data.invokedProductionVariant}</h3>
          <pre className="logs" data-testid="invoke-response">
            {invoke.data.body}
          </pre>
        </div>
      ) : null}
    </form>
  );
}

function WeightsForm({
  name,
  variants,
}: {
  name: string;
  variants: { VariantName: string; CurrentWeight: number; CurrentInstanceCount: number }[];
}) {
  const client = useClient();
  const queries = useQueryClient();
  const [weights, setWeights] = useState(() =>
    Object.fromEntries(variants.map((v) => [v.VariantName, String(v.CurrentWeight)])),
  );
  const update = useMutation({
    mutationFn: () =>
      client.call('updateEndpointWeightsAndCapacities', {
        params: { name },
        body: {
          DesiredWeightsAndCapacities: variants.map((v) => ({
            VariantName: v.VariantName,
            DesiredWeight: Number(weights[v.VariantName] ?? v.CurrentWeight),
          })),
        },
      }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['endpoint', name] }),
  });
  return (
    <form
      className="card stack"
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate();
      }}
      aria-labelledby="weights-title"
    >
      <h2 id="weights-title">Traffic weights</h2>
      <div className="row">
        {variants.map((v) => (
          <label key={v.VariantName}>
            Weight of {v.VariantName}
            <input
              type="number"
              min={0}
              max={1000}
              step="any"
              value={weights[v.VariantName] ?? ''}
              onChange={(e) => setWeights({ ...weights, [v.VariantName]: e.target.value })}
            />
          </label>
        ))}
      </div>
      {update.isError ? <ErrorState error={update.error} /> : null}
      <div>
        <button type="submit" disabled={update.isPending}>
          Change weights
        </button>
      </div>
    </form>
  );
}

type Sample = EndpointMetrics['variants'][number]['samples'][number];

/** One line per variant (and per `keys`), over the sample times. */
function lines(
  metrics: EndpointMetrics,
  keys: [keyof Sample, string][],
): { type: 'line'; name: string; symbolSize: number; data: [string, number | null][] }[] {
  return metrics.variants.flatMap((v) =>
    keys.map(([key, label]) => ({
      type: 'line' as const,
      name: `${v.VariantName || '(not routed)'} ${label}`,
      // Points stay visible: a latency with calls in one sample only is one point between gaps.
      symbolSize: 4,
      data: v.samples.map((s): [string, number | null] => [s.time, s[key] as number | null]),
    })),
  );
}

function trafficOption(series: ReturnType<typeof lines>, unit: string) {
  return {
    grid: { left: 56, right: 24, top: 40, bottom: 40 },
    legend: { type: 'scroll', top: 0 },
    tooltip: { renderMode: 'richText', trigger: 'axis' },
    xAxis: axis({ type: 'time' }),
    yAxis: axis({ type: 'value', name: unit }),
    series,
  };
}

/** Traffic, errors, latency and instance load per variant from the stored series. */
function TrafficCharts({ name }: { name: string }) {
  const client = useClient();
  const metrics = useQuery({
    queryKey: ['endpoint', name, 'metrics'],
    queryFn: () => client.call('getEndpointMetrics', { params: { name } }),
    // API processes add their counts every 5 s (and the answering one before it answers).
    refetchInterval: 5000,
  });
  const options = useMemo(() => {
    const m = metrics.data;
    if (!m) return undefined;
    return {
      traffic: trafficOption(
        lines(m, [
          ['invocations', 'invocations'],
          ['errors4xx', '4xx'],
          ['errors5xx', '5xx'],
        ]),
        `per ${m.intervalSeconds} s`,
      ),
      latency: trafficOption(
        lines(m, [
          ['modelLatencyP50Ms', 'model p50'],
          ['modelLatencyP99Ms', 'model p99'],
          ['overheadLatencyP50Ms', 'overhead p50'],
          ['overheadLatencyP99Ms', 'overhead p99'],
        ]),
        'ms',
      ),
      cpu: trafficOption(lines(m, [['cpuPercent', 'CPU']]), '% of a core'),
    };
  }, [metrics.data]);
  return (
    <section className="card stack" aria-labelledby="traffic-title">
      <h2 id="traffic-title">Traffic and latency</h2>
      <QueryView query={metrics} what="endpoint metrics">
        {(m) => {
          const samples = m.variants.flatMap((v) => v.samples);
          const calls = samples.reduce((s, x) => s + x.invocations, 0);
          const errors4xx = samples.reduce((s, x) => s + x.errors4xx, 0);
          const errors5xx = samples.reduce((s, x) => s + x.errors5xx, 0);
          if (samples.length === 0 || !options)
            return (
              <Empty>
                No traffic or instance samples in the last {Math.round(m.windowSeconds / 60)} minutes.
              </Empty>
            );
          return (
            <>
              <p className="muted">
                Last {Math.round(m.windowSeconds / 60)} minutes, one sample every {m.intervalSeconds} s,
                stored for every API process together (kept 24 hours).{' '}
                <span data-testid="traffic-total" data-calls={calls}>
                  {calls} invocations, {errors4xx} 4xx, {errors5xx} 5xx.
                </span>
              </p>
              <Chart
                option={options.traffic}
                label="Invocations and 4xx/5xx errors per variant over time"
                summary={`${calls} invocations, ${errors4xx} 4xx and ${errors5xx} 5xx over the window.`}
              />
              <Chart
                option={options.latency}
                label="Model and overhead latency p50 and p99 per variant over time, in milliseconds"
              />
              <Chart
                option={options.cpu}
                label="Mean CPU of each variant's instances over time"
                height={200}
              />
            </>
          );
        }}
      </QueryView>
    </section>
  );
}

export function EndpointPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const { session } = useSession();
  const [invocations, setInvocations] = useState<Invocation[]>([]);
  const endpoint = useQuery({
    queryKey: ['endpoint', name],
    queryFn: () => client.call('describeEndpoint', { params: { name } }),
    enabled: can(session.role, 'read'),
    // No timer: endpoint.state-change events (live-events.ts) re-read it when it changes.
  });
  const instances = useQuery({
    queryKey: ['endpoint', name, 'instances'],
    queryFn: () => client.call('listEndpointInstances', { params: { name } }),
    enabled: can(session.role, 'read'),
    // Re-read on endpoint and endpoint-instance state-change events, like the endpoint.
  });
  const latency = useMemo(
    () => ({
      grid: { left: 56, right: 24, top: 16, bottom: 40 },
      xAxis: axis({ type: 'category', data: invocations.map((_, i) => String(i + 1)), name: 'call' }),
      yAxis: axis({ type: 'value', name: 'ms' }),
      series: [{ type: 'bar', data: invocations.map((i) => Number(i.ms.toFixed(1))) }],
    }),
    [invocations],
  );
  return (
    <>
      <p>
        <Link to="/inference">Endpoints</Link> /
      </p>
      <h1>Endpoint {name}</h1>
      {can(session.role, 'read') ? (
        <QueryView query={endpoint} what="endpoint">
          {(e) => (
            <div className="stack">
              <div className="row">
                <span data-testid="endpoint-status">
                  <StatusBadge status={e.EndpointStatus} />
                </span>
                <span className="muted">
                  config {e.EndpointConfigName}, created <When at={e.CreationTime} />
                </span>
              </div>
              {e.FailureReason ? (
                <p role="alert" className="state error">
                  {e.FailureReason}
                </p>
              ) : null}
              <h2>Variants</h2>
              <table>
                <thead>
                  <tr>
                    <th>Variant</th>
                    <th>Model</th>
                    <th>Instance type</th>
                    <th>Weight (current / desired)</th>
                    <th>Instances (current / desired)</th>
                  </tr>
                </thead>
                <tbody>
                  {e.ProductionVariants.map((v) => (
                    <tr key={v.VariantName}>
                      <td>{v.VariantName}</td>
                      <td>{v.ModelName}</td>
                      <td>{v.InstanceType}</td>
                      <td>
                        {v.CurrentWeight} / {v.DesiredWeight}
                      </td>
                      <td>
                        {v.CurrentInstanceCount} / {v.DesiredInstanceCount}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Instances and health</h2>
              <QueryView query={instances} what="instances">
                {(list) =>
                  list.items.length === 0 ? (
                    <Empty>No instances running.</Empty>
                  ) : (
                    <table>
                      <thead>
                        <tr>
                          <th>Instance</th>
                          <th>Variant</th>
                          <th>Health</th>
                          <th>Restarts</th>
                          <th>Started</th>
                          <th>Last error</th>
                        </tr>
                      </thead>
                      <tbody>
                        {list.items.map((i) => (
                          <tr key={i.InstanceId}>
                            <td>
                              <code>{i.InstanceId}</code>
                            </td>
                            <td>{i.VariantName}</td>
                            <td>
                              <StatusBadge status={i.Status} />
                            </td>
                            <td>{i.Restarts}</td>
                            <td>
                              <When at={i.StartTime} />
                            </td>
                            <td>{i.LastError ?? '—'}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )
                }
              </QueryView>
              <TrafficCharts name={name} />
              {can(session.role, 'write') && e.EndpointStatus === 'InService' ? (
                <WeightsForm name={name} variants={e.ProductionVariants} />
              ) : null}
            </div>
          )}
        </QueryView>
      ) : null}
      {can(session.role, 'invoke') ? (
        <InvokeBox name={name} onResult={(i) => setInvocations((prev) => [...prev.slice(-49), i])} />
      ) : null}
      {invocations.length > 0 ? (
        <section className="card" aria-labelledby="latency-title">
          <h2 id="latency-title">Latency of this page's invocations</h2>
          <Chart
            option={latency}
            label="Latency of each invocation made from this page, in milliseconds"
            summary={`${invocations.length} calls, ${invocations.filter((i) => !i.ok).length} failed.`}
          />
        </section>
      ) : null}
    </>
  );
}
