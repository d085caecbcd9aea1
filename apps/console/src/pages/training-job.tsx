import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { EvaluationReport } from '@trainyard/contracts/training-jobs';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { can, errorText } from '../api.js';
import { axis, Chart } from '../components/chart.js';
import { Empty, QueryView, StatusBadge, StatusTimeline, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

interface LogLine {
  seq: number;
  stream: string;
  message: string;
}

/** Follows the job's log stream (SSE) and appends lines as they arrive; resumes after a drop. */
function LiveLogs({ name }: { name: string }) {
  const client = useClient();
  const queries = useQueryClient();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<'following' | 'ended' | 'error'>('following');
  const [error, setError] = useState<string>();
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    let last = 0;
    setLines([]);
    setState('following');
    void (async () => {
      for (let attempt = 0; attempt < 5 && !abort.signal.aborted; attempt++) {
        try {
          for await (const e of client.events(
            'streamTrainingJobLogs',
            { params: { name }, query: { cursor: last } },
            { signal: abort.signal },
          )) {
            const data = e.data as { seq?: number; stream?: string; message?: string };
            if (e.event === 'log' && data.seq !== undefined) {
              last = data.seq;
              const line = { seq: data.seq, stream: data.stream ?? 'stdout', message: data.message ?? '' };
              setLines((prev) => [...prev, line]);
            } else if (e.event === 'status') {
              void queries.invalidateQueries({ queryKey: ['training-job', name] });
            } else if (e.event === 'end') {
              setState('ended');
              void queries.invalidateQueries({ queryKey: ['training-job', name] });
              return;
            }
          }
          return;
        } catch (err) {
          if (abort.signal.aborted) return;
          setError(errorText(err));
          await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
        }
      }
      if (!abort.signal.aborted) setState('error');
    })();
    return () => abort.abort();
  }, [client, queries, name]);
  useEffect(() => {
    // The log box scrolls, so keyboard users must be able to focus it to scroll.
    if (box.current) box.current.tabIndex = 0;
  }, []);
  useEffect(() => {
    const el = box.current;
    if (el && lines.length > 0) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">
        Logs{' '}
        <span className={`badge ${state === 'ended' ? 'ok' : state === 'error' ? 'danger' : 'warn'}`}>
          {state === 'following' ? 'live' : state === 'ended' ? 'complete' : 'disconnected'}
        </span>
      </h2>
      {state === 'error' && error ? <p role="alert">{error}</p> : null}
      <pre className="logs" ref={box} role="log" aria-label="Job log" data-testid="job-logs" aria-live="off">
        {lines.length === 0 ? 'Waiting for the first log line…' : lines.map((l) => l.message).join('\n')}
      </pre>
    </section>
  );
}

function MetricCurves({ name, live }: { name: string; live: boolean }) {
  const client = useClient();
  const metrics = useQuery({
    queryKey: ['training-job', name, 'metrics'],
    queryFn: () => client.call('getTrainingJobMetrics', { params: { name } }),
    refetchInterval: live ? 5000 : false,
  });
  const option = useMemo(() => {
    const series = Object.entries(metrics.data?.metrics ?? {});
    return {
      legend: { type: 'scroll', top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 40 },
      xAxis: axis({ type: 'value', name: 'iteration' }),
      yAxis: axis({ type: 'value', scale: true }),
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      series: series.map(([metric, points]) => ({
        name: metric,
        type: 'line',
        showSymbol: false,
        data: points.map((p, i) => [p.Iteration ?? i, p.Value]),
      })),
    };
  }, [metrics.data]);
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metric curves</h2>
      <QueryView query={metrics} what="metrics">
        {(m) =>
          Object.keys(m.metrics).length === 0 ? (
            <Empty>No metrics reported yet.</Empty>
          ) : (
            <Chart option={option} label={`Metric curves: ${Object.keys(m.metrics).join(', ')}`} />
          )
        }
      </QueryView>
    </section>
  );
}

function pct(n: number) {
  return `${(n * 100).toFixed(1)}%`;
}

export function EvaluationView({ report }: { report: EvaluationReport }) {
  const option = useMemo(() => {
    if (report.type !== 'classification') {
      const h = report.residualHistogram;
      return {
        confusion: undefined,
        curves: undefined,
        residuals: {
          grid: { left: 56, right: 24, top: 16, bottom: 40 },
          xAxis: axis({
            type: 'category',
            data: h.counts.map((_, i) => `${h.edges[i]?.toPrecision(3)}…${h.edges[i + 1]?.toPrecision(3)}`),
          }),
          yAxis: axis({ type: 'value' }),
          series: [{ type: 'bar', data: h.counts }],
        },
      };
    }
    const labels = report.labels.map(String);
    const max = Math.max(1, ...report.confusionMatrix.flat());
    const confusion = {
      grid: { left: 64, right: 24, top: 16, bottom: 80 },
      xAxis: axis({ type: 'category', data: labels, name: 'predicted' }),
      yAxis: axis({ type: 'category', data: labels, name: 'true', inverse: true }),
      visualMap: { min: 0, max, orient: 'horizontal', left: 'center', bottom: 0, calculable: true },
      series: [
        {
          type: 'heatmap',
          data: report.confusionMatrix.flatMap((row, i) => row.map((v, j) => [j, i, v])),
          label: { show: true },
        },
      ],
    };
    const curves =
      report.roc || report.pr
        ? {
            legend: { top: 0 },
            grid: { left: 56, right: 24, top: 40, bottom: 40 },
            xAxis: axis({ type: 'value', min: 0, max: 1, name: 'FPR / recall' }),
            yAxis: axis({ type: 'value', min: 0, max: 1, name: 'TPR / precision' }),
            series: [
              ...(report.roc
                ? [
                    {
                      name: `ROC (AUC ${report.roc.auc.toFixed(3)})`,
                      type: 'line',
                      showSymbol: false,
                      data: report.roc.fpr.map((x, i) => [x, report.roc?.tpr[i]]),
                    },
                  ]
                : []),
              ...(report.pr
                ? [
                    {
                      name: `PR (AP ${report.pr.averagePrecision.toFixed(3)})`,
                      type: 'line',
                      showSymbol: false,
                      data: report.pr.recall.map((x, i) => [x, report.pr?.precision[i]]),
                    },
                  ]
                : []),
            ],
          }
        : undefined;
    return { confusion, curves, residuals: undefined };
  }, [report]);
  return (
    <section aria-labelledby="eval-title" data-testid="evaluation-report">
      <h2 id="eval-title">Evaluation report ({report.channel} channel)</h2>
      {report.type === 'classification' ? (
        <div className="stack">
          <p>
            Accuracy <strong>{pct(report.accuracy)}</strong> on {report.rows.toLocaleString()} rows.
          </p>
          <div className="grid">
            <div className="card">
              <h3>Confusion matrix</h3>
              {option.confusion ? (
                <Chart
                  option={option.confusion}
                  label="Confusion matrix: rows are true labels, columns predicted labels"
                  summary={report.confusionMatrix
                    .map((r, i) => `true ${report.labels[i]}: ${r.join(', ')}`)
                    .join('; ')}
                />
              ) : null}
            </div>
            {option.curves ? (
              <div className="card">
                <h3>ROC and precision-recall</h3>
                <Chart option={option.curves} label="ROC and precision-recall curves" />
              </div>
            ) : null}
          </div>
          <table>
            <caption className="muted">Per class</caption>
            <thead>
              <tr>
                <th>Class</th>
                <th>Precision</th>
                <th>Recall</th>
                <th>F1</th>
                <th>Support</th>
              </tr>
            </thead>
            <tbody>
              {report.perClass.map((c) => (
                <tr key={c.label}>
                  <td>{c.label}</td>
                  <td>{pct(c.precision)}</td>
                  <td>{pct(c.recall)}</td>
                  <td>{c.f1.toFixed(3)}</td>
                  <td>{c.support}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="stack">
          <p>
            RMSE <strong>{report.rmse.toPrecision(4)}</strong>, MAE {report.mae.toPrecision(4)}, R²{' '}
            {report.r2.toFixed(3)} on {report.rows.toLocaleString()} rows.
          </p>
          {option.residuals ? <Chart option={option.residuals} label="Histogram of residuals" /> : null}
        </div>
      )}
    </section>
  );
}

export function TrainingJobPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const { session } = useSession();
  const job = useQuery({
    queryKey: ['training-job', name],
    queryFn: () => client.call('describeTrainingJob', { params: { name } }),
  });
  return (
    <>
      <p>
        <Link to="/training-jobs">Training jobs</Link> /
      </p>
      <h1>Training job {name}</h1>
      <QueryView query={job} what="training job">
        {(j) => {
          const live = j.TrainingJobStatus === 'InProgress' || j.TrainingJobStatus === 'Stopping';
          return (
            <div className="stack">
              <div className="row">
                <span data-testid="job-status">
                  <StatusBadge status={j.TrainingJobStatus} />
                </span>
                <span className="muted">{j.SecondaryStatus}</span>
                {j.TrainingJobStatus === 'Completed' && can(session.role, 'write') ? (
                  <Link
                    className="button"
                    to={`/deploy?trainingJob=${encodeURIComponent(j.TrainingJobName)}`}
                  >
                    Deploy this model
                  </Link>
                ) : null}
              </div>
              {j.FailureReason ? (
                <p role="alert" className="state error">
                  {j.FailureReason}
                </p>
              ) : null}
              <div className="grid">
                <section className="card" aria-labelledby="facts-title">
                  <h2 id="facts-title">Summary</h2>
                  <dl className="kv">
                    <dt>Algorithm</dt>
                    <dd>
                      {j.AlgorithmSpecification?.AlgorithmName ??
                        j.AlgorithmSpecification?.TrainingImage ??
                        'script'}
                    </dd>
                    <dt>Instance</dt>
                    <dd>
                      {j.ResourceConfig.InstanceType} × {j.ResourceConfig.InstanceCount}
                    </dd>
                    <dt>Created</dt>
                    <dd>
                      <When at={j.CreationTime} />
                    </dd>
                    <dt>Training time</dt>
                    <dd>{j.TrainingTimeInSeconds !== undefined ? `${j.TrainingTimeInSeconds} s` : '—'}</dd>
                    <dt>Billable time</dt>
                    <dd>{j.BillableTimeInSeconds !== undefined ? `${j.BillableTimeInSeconds} s` : '—'}</dd>
                    <dt>Estimated cost</dt>
                    <dd>{j.EstimatedCostUsd !== undefined ? `$${j.EstimatedCostUsd.toFixed(4)}` : '—'}</dd>
                    <dt>Attempts</dt>
                    <dd>{j.Attempts}</dd>
                    <dt>Model</dt>
                    <dd>
                      <code>{j.ModelArtifacts.S3ModelArtifacts || '—'}</code>
                    </dd>
                  </dl>
                  {j.FinalMetricDataList?.length ? (
                    <>
                      <h3>Final metrics</h3>
                      <dl className="kv">
                        {j.FinalMetricDataList.map((m) => (
                          <div key={m.MetricName} style={{ display: 'contents' }}>
                            <dt>{m.MetricName}</dt>
                            <dd>{m.Value.toPrecision(4)}</dd>
                          </div>
                        ))}
                      </dl>
                    </>
                  ) : null}
                </section>
                <StatusTimeline id="timeline-title" transitions={j.SecondaryStatusTransitions} />
              </div>
              <LiveLogs name={name} />
              <MetricCurves name={name} live={live} />
              {j.EvaluationReport ? (
                <EvaluationView report={j.EvaluationReport} />
              ) : (
                <Empty>
                  {live
                    ? 'The evaluation report appears when the job completes.'
                    : 'No evaluation report: the job had no validation or test channel.'}
                </Empty>
              )}
            </div>
          );
        }}
      </QueryView>
    </>
  );
}
