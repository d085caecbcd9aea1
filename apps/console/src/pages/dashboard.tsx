import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router';
import { can, errorText, type QuickstartRun } from '../api.js';
import { EndpointPicker } from '../components/endpoint-picker.js';
import { Empty, ErrorState, QueryView, StatusBadge, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

function SampleProjectCard() {
  const client = useClient();
  const queries = useQueryClient();
  const [params, setParams] = useSearchParams();
  const id = params.get('quickstart');
  const start = useMutation({
    mutationFn: () => client.call('startQuickstart'),
    onSuccess: (run) => {
      const p = new URLSearchParams(params);
      p.set('quickstart', run.id);
      setParams(p);
      void queries.invalidateQueries({ queryKey: ['quickstart'] });
    },
  });
  const progress = useQuery({
    queryKey: ['quickstart', id],
    queryFn: () => client.call('getQuickstart', { params: { id: id! } }),
    // quickstart.progress events on /api/v1/events refresh this (see live-events.ts).
    enabled: id !== null,
  });
  const run = progress.data;
  return (
    <section className="card" aria-labelledby="sample-title">
      <h2 id="sample-title">Sample project</h2>
      <p>
        One click ingests the Palmer penguins (CC0), profiles them, trains and evaluates a species classifier,
        deploys it and invokes it. Every step links to what it made.
      </p>
      <button
        type="button"
        className="primary"
        disabled={start.isPending || run?.status === 'running'}
        onClick={() => start.mutate()}
      >
        {start.isPending ? 'Starting…' : 'Run the sample project'}
      </button>
      {start.isError ? <ErrorState error={start.error} /> : null}
      {id && progress.isError ? <ErrorState error={progress.error} /> : null}
      {run ? (
        <>
          <p role="status" aria-live="polite" data-testid="quickstart-status">
            {run.status === 'running' ? 'Running…' : run.status === 'done' ? 'Done.' : 'Failed.'}
          </p>
          <ol className="timeline" aria-label="Sample project steps">
            {run.steps.map((s) => (
              <li key={s.name}>
                <strong>{s.title}</strong> <span className={`badge ${toneOf(s.status)}`}>{s.status}</span>
                {s.message ? <div className="muted">{s.message}</div> : null}
                <StepLinks links={s.links} />
              </li>
            ))}
          </ol>
          {run.prediction ? (
            <p>
              The endpoint predicted <strong>{run.prediction.predicted}</strong>
              {run.prediction.expected ? ` (the row is a ${run.prediction.expected})` : ''}.
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function toneOf(status: string) {
  return status === 'done'
    ? 'ok'
    : status === 'failed'
      ? 'danger'
      : status === 'running'
        ? 'warn'
        : 'neutral';
}

function StepLinks({ links }: { links: QuickstartRun['steps'][number]['links'] }) {
  return (
    <span className="row">
      {links.dataset ? (
        <Link to={`/datasets/${encodeURIComponent(links.dataset.name)}?version=${links.dataset.version}`}>
          dataset {links.dataset.name} v{links.dataset.version}
        </Link>
      ) : null}
      {links.processingJob ? (
        <Link to={`/processing-jobs/${encodeURIComponent(links.processingJob)}`}>
          processing job {links.processingJob}
        </Link>
      ) : null}
      {links.trainingJob ? (
        <Link to={`/training-jobs/${encodeURIComponent(links.trainingJob)}`}>
          training job {links.trainingJob}
        </Link>
      ) : null}
      {links.modelPackage ? (
        <Link to={`/registry/${links.modelPackage.split('/').map(encodeURIComponent).join('/')}`}>
          model package {links.modelPackage}
        </Link>
      ) : null}
      {links.endpoint ? (
        <Link to={`/inference/${encodeURIComponent(links.endpoint)}`}>endpoint {links.endpoint}</Link>
      ) : null}
    </span>
  );
}

export function DashboardPage() {
  const client = useClient();
  const { session } = useSession();
  const [params] = useSearchParams();
  const reads = can(session.role, 'read');
  const jobs = useQuery({
    queryKey: ['dashboard', 'training'],
    queryFn: () => client.call('listTrainingJobs', { query: { limit: 8 } }),
    enabled: reads,
  });
  const processing = useQuery({
    queryKey: ['dashboard', 'processing'],
    queryFn: () => client.call('listProcessingJobs', { query: { limit: 5 } }),
    enabled: reads,
  });
  const endpoints = useQuery({
    queryKey: ['dashboard', 'endpoints'],
    queryFn: () => client.call('listEndpoints', { query: { limit: 8 } }),
    enabled: reads,
  });
  const failedTraining = useQuery({
    queryKey: ['dashboard', 'failed'],
    queryFn: () => client.call('listTrainingJobs', { query: { limit: 5, status: 'Failed' } }),
    enabled: reads,
  });
  const datasets = useQuery({
    queryKey: ['dashboard', 'datasets'],
    queryFn: () => client.call('listDatasets', { query: { limit: 1 } }),
    enabled: reads,
  });
  useEffect(() => {
    // Time to first render of the dashboard, read by the e2e suite through the Performance API.
    if (performance.getEntriesByName('trainyard:dashboard-rendered').length === 0)
      performance.mark('trainyard:dashboard-rendered');
  }, []);
  const emptyInstall =
    datasets.data?.items.length === 0 && jobs.data?.items.length === 0 && endpoints.data?.items.length === 0;
  return (
    <>
      <h1>Dashboard</h1>
      <div className="grid">
        {can(session.role, 'write') && (emptyInstall || params.has('quickstart')) ? (
          <SampleProjectCard />
        ) : null}
        {reads ? (
          <section className="card" aria-labelledby="recent-jobs">
            <h2 id="recent-jobs">Recent training jobs</h2>
            <QueryView query={jobs} what="training jobs">
              {(page) =>
                page.items.length === 0 ? (
                  <Empty>No training jobs yet.</Empty>
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Status</th>
                        <th>Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      {page.items.map((j) => (
                        <tr key={j.TrainingJobName}>
                          <td>
                            <Link to={`/training-jobs/${encodeURIComponent(j.TrainingJobName)}`}>
                              {j.TrainingJobName}
                            </Link>
                          </td>
                          <td>
                            <StatusBadge status={j.TrainingJobStatus} />
                          </td>
                          <td>
                            <When at={j.CreationTime} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
              }
            </QueryView>
          </section>
        ) : null}
        {reads ? null : <EndpointPicker />}
        {reads ? (
          <section className="card" aria-labelledby="endpoints-health">
            <h2 id="endpoints-health">Endpoints</h2>
            <QueryView query={endpoints} what="endpoints">
              {(page) =>
                page.items.length === 0 ? (
                  <Empty>No endpoints yet.</Empty>
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Status</th>
                      </tr>
                    </thead>
                    <tbody>
                      {page.items.map((e) => (
                        <tr key={e.EndpointName}>
                          <td>
                            <Link to={`/inference/${encodeURIComponent(e.EndpointName)}`}>
                              {e.EndpointName}
                            </Link>
                          </td>
                          <td>
                            <StatusBadge status={e.EndpointStatus} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
              }
            </QueryView>
          </section>
        ) : null}
        {reads ? (
          <section className="card" aria-labelledby="failures">
            <h2 id="failures">What failed lately</h2>
            <QueryView query={failedTraining} what="failures">
              {(page) => {
                const failedProcessing = (processing.data?.items ?? []).filter(
                  (p) => p.ProcessingJobStatus === 'Failed',
                );
                if (page.items.length === 0 && failedProcessing.length === 0)
                  return <Empty>Nothing failed.</Empty>;
                return (
                  <ul>
                    {page.items.map((j) => (
                      <li key={j.TrainingJobName}>
                        <Link to={`/training-jobs/${encodeURIComponent(j.TrainingJobName)}`}>
                          {j.TrainingJobName}
                        </Link>
                        : {j.FailureReason ?? 'failed'}
                      </li>
                    ))}
                    {failedProcessing.map((p) => (
                      <li key={p.ProcessingJobName}>
                        processing job {p.ProcessingJobName}: {p.FailureReason ?? 'failed'}
                      </li>
                    ))}
                  </ul>
                );
              }}
            </QueryView>
            {processing.isError ? <p className="muted">{errorText(processing.error)}</p> : null}
          </section>
        ) : null}
      </div>
    </>
  );
}
