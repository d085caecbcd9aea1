import { useQuery } from '@tanstack/react-query';
import type { TuningJob, TuningTrial } from '@trainyard/contracts/tuning-jobs';
import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { axis, Chart } from '../components/chart.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, QueryView, StatusBadge, When } from '../components/states.js';
import { StatusFilter, useStatusFilter } from '../components/status-filter.js';
import { useClient } from '../session.js';

/*
 * No timer: these pages refresh on the tuning job's own events (live-events.ts):
 * `tuning-job.state-change` on every change of status and `tuning-job.progress` whenever the tuner
 * records trials (proposed, started, ended) in the job, which is all these pages show.
 */

/** `/tuning-jobs?status=…`: tuning jobs, newest first, with counters and the best objective. */
export function TuningJobsPage() {
  const client = useClient();
  const pageToken = usePageToken();
  const status = useStatusFilter();
  const list = useQuery({
    queryKey: ['tuning-jobs', status, pageToken],
    queryFn: () =>
      client.call('listTuningJobs', {
        query: {
          limit: 20,
          ...(pageToken ? { pageToken } : {}),
          ...(status ? { status } : {}),
        },
      }),
  });
  return (
    <>
      <h1>Hyperparameter tuning</h1>
      <StatusFilter />
      <QueryView query={list} what="tuning jobs">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No tuning jobs yet. Start one with `trainyard tuning-jobs create` or the SDK.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Status</th>
                    <th>Strategy</th>
                    <th>Trials (done / max)</th>
                    <th>Best objective</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((j) => (
                    <tr key={j.HyperParameterTuningJobName}>
                      <td>
                        <Link to={`/tuning-jobs/${encodeURIComponent(j.HyperParameterTuningJobName)}`}>
                          {j.HyperParameterTuningJobName}
                        </Link>
                      </td>
                      <td>
                        <StatusBadge status={j.HyperParameterTuningJobStatus} />
                      </td>
                      <td>{j.Strategy}</td>
                      <td>
                        {j.TrainingJobStatusCounters.Completed} /{' '}
                        {j.ResourceLimits.MaxNumberOfTrainingJobs ?? '—'}
                      </td>
                      <td>{j.BestObjectiveValue?.toPrecision(4) ?? <span className="muted">—</span>}</td>
                      <td>
                        <When at={j.CreationTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Tuning jobs" />
            </>
          )
        }
      </QueryView>
    </>
  );
}

const objectiveOf = (t: TuningTrial) => t.FinalHyperParameterTuningJobObjectiveMetric?.Value;

/** The objective of each trial in the order they were proposed, with the best so far as a step line. */
function ObjectiveChart({ trials, job }: { trials: TuningTrial[]; job: TuningJob }) {
  const objective = job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective;
  const minimize = objective?.Type !== 'Maximize';
  const option = useMemo(() => {
    const ordered = [...trials].sort((a, b) => a.TrialIndex - b.TrialIndex);
    const points: [number, number][] = [];
    const best: [number, number][] = [];
    let running: number | undefined;
    for (const t of ordered) {
      const v = objectiveOf(t);
      if (v === undefined) continue;
      points.push([t.TrialIndex, v]);
      running = running === undefined ? v : minimize ? Math.min(running, v) : Math.max(running, v);
      best.push([t.TrialIndex, running]);
    }
    return {
      grid: { left: 60, right: 20, top: 30, bottom: 40 },
      legend: { data: ['trial', 'best so far'] },
      xAxis: axis({ type: 'value', name: 'trial', minInterval: 1 }),
      yAxis: axis({ type: 'value', name: objective?.MetricName ?? 'objective', scale: true }),
      series: [
        { name: 'trial', type: 'scatter', data: points, symbolSize: 8 },
        { name: 'best so far', type: 'line', step: 'end', data: best, showSymbol: false },
      ],
    };
  }, [trials, objective?.MetricName, minimize]);
  const scored = trials.filter((t) => objectiveOf(t) !== undefined).length;
  return (
    <Chart
      option={option}
      label={`${objective?.MetricName ?? 'Objective'} by trial, with the best so far`}
      summary={`${scored} of ${trials.length} trials have an objective value (${minimize ? 'lower' : 'higher'} is better).`}
    />
  );
}

/** One line per scored trial across the tuned hyperparameters, coloured by its objective. */
function ParallelChart({ trials, job }: { trials: TuningTrial[]; job: TuningJob }) {
  const metric =
    job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective?.MetricName ?? 'objective';
  const option = useMemo(() => {
    const scored = trials.filter((t) => objectiveOf(t) !== undefined);
    const names = [...new Set(scored.flatMap((t) => Object.keys(t.TunedHyperParameters)))].sort();
    const numeric = names.map((n) =>
      scored.every((t) => {
        const v = t.TunedHyperParameters[n];
        return v !== undefined && v.trim() !== '' && Number.isFinite(Number(v));
      }),
    );
    const values = scored.map((t) => objectiveOf(t) as number);
    const parallelAxis = [
      ...names.map((n, i) =>
        numeric[i]
          ? { dim: i, name: n, type: 'value', scale: true }
          : {
              dim: i,
              name: n,
              type: 'category',
              data: [...new Set(scored.map((t) => t.TunedHyperParameters[n] ?? ''))].sort(),
            },
      ),
      { dim: names.length, name: metric, type: 'value', scale: true },
    ];
    return {
      // Drawn at once: the lines' entry animation left half-drawn lines in screenshots.
      animation: false,
      parallel: { left: 50, right: 130, top: 40, bottom: 30 },
      parallelAxis,
      visualMap: {
        type: 'continuous',
        dimension: names.length,
        min: Math.min(...values),
        max: Math.max(...values),
        calculable: true,
        precision: 3,
        right: 0,
        top: 'middle',
        inRange: { color: ['#2166ac', '#8c6bb1', '#b2182b'] },
      },
      series: [
        {
          type: 'parallel',
          lineStyle: { width: 2, opacity: 0.7 },
          data: scored.map((t) => [
            ...names.map((n, i) =>
              numeric[i] ? Number(t.TunedHyperParameters[n]) : (t.TunedHyperParameters[n] ?? ''),
            ),
            objectiveOf(t),
          ]),
        },
      ],
    };
  }, [trials, metric]);
  return (
    <Chart
      option={option}
      height={320}
      label={`Tuned hyperparameters of each scored trial, coloured by ${metric}`}
      summary="Each line is a trial: its value on every tuned hyperparameter and its objective (the last axis)."
    />
  );
}

type SortKey = 'TrialIndex' | 'objective' | 'TrainingJobStatus';

function TrialsTable({ trials, job }: { trials: TuningTrial[]; job: TuningJob }) {
  const [params, setParams] = useSearchParams();
  const sort = (params.get('sort') as SortKey | null) ?? 'TrialIndex';
  const order = params.get('order') === 'desc' ? 'desc' : 'asc';
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.TunedHyperParameters)))].sort();
  const best = job.BestTrainingJob?.TrainingJobName;
  const sorted = [...trials].sort((a, b) => {
    let d: number;
    if (sort === 'objective') {
      // Trials without an objective sort last either way.
      const x = objectiveOf(a);
      const y = objectiveOf(b);
      if (x === undefined || y === undefined) return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0);
      d = x - y;
    } else if (sort === 'TrainingJobStatus') d = a.TrainingJobStatus.localeCompare(b.TrainingJobStatus);
    else d = a.TrialIndex - b.TrialIndex;
    return order === 'asc' ? d : -d;
  });
  const header = (key: SortKey, label: string) => {
    const active = sort === key;
    return (
      <th aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button
          type="button"
          onClick={() => {
            const p = new URLSearchParams(params);
            p.set('sort', key);
            p.set('order', active && order === 'asc' ? 'desc' : 'asc');
            setParams(p, { replace: true });
          }}
        >
          {label}
          {active ? (order === 'asc' ? ' ↑' : ' ↓') : ''}
        </button>
      </th>
    );
  };
  return (
    <table aria-label="Trials">
      <thead>
        <tr>
          {header('TrialIndex', 'Trial')}
          <th>Training job</th>
          {header('TrainingJobStatus', 'Status')}
          {header('objective', 'Objective')}
          {names.map((n) => (
            <th key={n}>{n}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {sorted.map((t) => (
          <tr key={t.TrainingJobName}>
            <td>{t.TrialIndex}</td>
            <td>
              {t.TrainingJobStatus === 'Pending' ? (
                t.TrainingJobName
              ) : (
                <Link to={`/training-jobs/${encodeURIComponent(t.TrainingJobName)}`}>
                  {t.TrainingJobName}
                </Link>
              )}
              {t.TrainingJobName === best ? (
                <>
                  {' '}
                  <span className="badge ok">best</span>
                </>
              ) : null}
            </td>
            <td>
              <StatusBadge status={t.TrainingJobStatus} />
              {t.EarlyStopReason ? <div className="muted">{t.EarlyStopReason}</div> : null}
            </td>
            <td>{objectiveOf(t)?.toPrecision(4) ?? <span className="muted">—</span>}</td>
            {names.map((n) => (
              <td key={n}>{t.TunedHyperParameters[n] ?? ''}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `/tuning-jobs/:name`: counters, the best trial, the objective by trial, the hyperparameters tried. */
export function TuningJobPage() {
  const { name = '' } = useParams();
  const client = useClient();
  const job = useQuery({
    queryKey: ['tuning-job', name],
    queryFn: () => client.call('describeTuningJob', { params: { name } }),
  });
  // Keyed by the job's last change too, so the trials are read again when the job moves on (its end included).
  const trials = useQuery({
    queryKey: ['tuning-job', name, 'trials', job.data?.LastModifiedTime],
    placeholderData: (previous) => previous,
    queryFn: () => client.call('listTuningJobTrials', { params: { name }, query: {} }),
  });
  return (
    <>
      <p>
        <Link to="/tuning-jobs">Hyperparameter tuning</Link>
      </p>
      <h1>Tuning job {name}</h1>
      <QueryView query={job} what="tuning job">
        {(j) => {
          const config = j.HyperParameterTuningJobConfig;
          const c = j.TrainingJobStatusCounters;
          const best = j.BestTrainingJob;
          return (
            <div className="stack">
              <section className="card" aria-labelledby="tj-summary">
                <h2 id="tj-summary">
                  Status <StatusBadge status={j.HyperParameterTuningJobStatus} />
                </h2>
                <dl className="kv">
                  <dt>Strategy</dt>
                  <dd>{config.Strategy}</dd>
                  <dt>Objective</dt>
                  <dd>
                    {config.HyperParameterTuningJobObjective
                      ? `${config.HyperParameterTuningJobObjective.Type} ${config.HyperParameterTuningJobObjective.MetricName}`
                      : '—'}
                  </dd>
                  <dt>Trials</dt>
                  <dd data-testid="tuning-counters">
                    {c.Completed} completed, {c.InProgress} in progress, {c.Stopped} stopped,{' '}
                    {c.RetryableError + c.NonRetryableError} failed
                    {config.ResourceLimits.MaxNumberOfTrainingJobs
                      ? ` (of at most ${config.ResourceLimits.MaxNumberOfTrainingJobs}, ${config.ResourceLimits.MaxParallelTrainingJobs} at a time)`
                      : ''}
                  </dd>
                  <dt>Created</dt>
                  <dd>
                    <When at={j.CreationTime} />
                  </dd>
                  <dt>Ended</dt>
                  <dd>
                    <When at={j.HyperParameterTuningEndTime} />
                  </dd>
                  {j.TuningJobCompletionDetails?.CompletionReason ? (
                    <>
                      <dt>Why it ended</dt>
                      <dd>{j.TuningJobCompletionDetails.CompletionReason}</dd>
                    </>
                  ) : null}
                  {j.FailureReason ? (
                    <>
                      <dt>Failure</dt>
                      <dd>{j.FailureReason}</dd>
                    </>
                  ) : null}
                </dl>
              </section>
              <section className="card" aria-labelledby="tj-best">
                <h2 id="tj-best">Best training job</h2>
                {best ? (
                  <dl className="kv" data-testid="best-trial">
                    <dt>Training job</dt>
                    <dd>
                      <Link to={`/training-jobs/${encodeURIComponent(best.TrainingJobName)}`}>
                        {best.TrainingJobName}
                      </Link>
                    </dd>
                    <dt>{best.FinalHyperParameterTuningJobObjectiveMetric?.MetricName ?? 'Objective'}</dt>
                    <dd>{objectiveOf(best)?.toPrecision(4) ?? '—'}</dd>
                    {Object.entries(best.TunedHyperParameters).map(([k, v]) => (
                      <div key={k} style={{ display: 'contents' }}>
                        <dt>{k}</dt>
                        <dd>{v}</dd>
                      </div>
                    ))}
                  </dl>
                ) : (
                  <Empty>No trial has an objective value yet.</Empty>
                )}
              </section>
              <QueryView query={trials} what="trials">
                {(t) =>
                  t.items.length === 0 ? (
                    <Empty>No trials yet.</Empty>
                  ) : (
                    <>
                      <section className="card" aria-labelledby="tj-objective">
                        <h2 id="tj-objective">Objective by trial</h2>
                        <ObjectiveChart trials={t.items} job={j} />
                      </section>
                      {t.items.some((x) => objectiveOf(x) !== undefined) ? (
                        <section className="card" aria-labelledby="tj-parallel">
                          <h2 id="tj-parallel">Hyperparameters tried</h2>
                          <ParallelChart trials={t.items} job={j} />
                        </section>
                      ) : null}
                      <section className="card" aria-labelledby="tj-trials">
                        <h2 id="tj-trials">Trials</h2>
                        <TrialsTable trials={t.items} job={j} />
                      </section>
                    </>
                  )
                }
              </QueryView>
            </div>
          );
        }}
      </QueryView>
    </>
  );
}
