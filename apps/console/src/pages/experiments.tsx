import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { axis, Chart } from '../components/chart.js';
import { Empty, QueryView, StatusBadge } from '../components/states.js';
import { useClient } from '../session.js';

function Compare({ name }: { name: string }) {
  const client = useClient();
  const [params, setParams] = useSearchParams();
  const runs = useQuery({
    queryKey: ['experiments', name, 'runs'],
    queryFn: () => client.call('compareExperimentRuns', { params: { name }, query: { curves: 'true' } }),
  });
  const metric = params.get('metric') ?? runs.data?.MetricNames[0] ?? '';
  const option = useMemo(
    () => ({
      legend: { type: 'scroll', top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 40 },
      xAxis: axis({ type: 'value', name: 'iteration' }),
      yAxis: axis({ type: 'value', scale: true, name: metric }),
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      series: (runs.data?.Runs ?? []).map((r) => ({
        name: r.RunName,
        type: 'line',
        showSymbol: false,
        data: (r.MetricCurves?.[metric] ?? []).map((p, i) => [p.Iteration ?? i, p.Value]),
      })),
    }),
    [runs.data, metric],
  );
  return (
    <QueryView query={runs} what="runs">
      {(data) =>
        data.Runs.length === 0 ? (
          <Empty>No runs in this experiment.</Empty>
        ) : (
          <div className="stack">
            <label className="inline">
              Metric&nbsp;
              <select
                value={metric}
                onChange={(e) => {
                  const p = new URLSearchParams(params);
                  p.set('metric', e.target.value);
                  setParams(p);
                }}
              >
                {data.MetricNames.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            {metric ? <Chart option={option} label={`${metric} of every run, overlaid`} /> : null}
            <table>
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  {data.VaryingParameters.map((p) => (
                    <th key={p}>{p}</th>
                  ))}
                  {data.MetricNames.map((m) => (
                    <th key={m}>{m}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.Runs.map((r) => (
                  <tr key={r.RunName}>
                    <td>
                      <Link to={`/training-jobs/${encodeURIComponent(r.TrainingJobName)}`}>{r.RunName}</Link>
                    </td>
                    <td>
                      <StatusBadge status={r.Status} />
                    </td>
                    {data.VaryingParameters.map((p) => (
                      <td key={p}>{r.Parameters[p] ?? ''}</td>
                    ))}
                    {data.MetricNames.map((m) => (
                      <td key={m}>{r.FinalMetrics[m]?.toPrecision(4) ?? ''}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </QueryView>
  );
}

export function ExperimentsPage() {
  const client = useClient();
  const [params, setParams] = useSearchParams();
  const chosen = params.get('experiment');
  const list = useQuery({
    queryKey: ['experiments'],
    queryFn: () => client.call('listExperiments', {}),
  });
  return (
    <>
      <h1>Experiments</h1>
      <QueryView query={list} what="experiments">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No experiments yet: give training jobs an ExperimentConfig to group their runs.</Empty>
          ) : (
            <label className="inline">
              Experiment&nbsp;
              <select value={chosen ?? ''} onChange={(e) => setParams({ experiment: e.target.value })}>
                <option value="">Choose an experiment</option>
                {data.items.map((x) => (
                  <option key={x.ExperimentName} value={x.ExperimentName}>
                    {x.ExperimentName} ({x.Runs} runs)
                  </option>
                ))}
              </select>
            </label>
          )
        }
      </QueryView>
      {chosen ? <Compare name={chosen} /> : null}
    </>
  );
}
