import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Lineage, ModelPackage } from '@trainyard/contracts/model-packages';
import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'react-router';
import { can } from '../api.js';
import { Pager, usePageToken } from '../components/pager.js';
import { Empty, ErrorState, QueryView, StatusBadge, When } from '../components/states.js';
import { useClient, useSession } from '../session.js';

/** `/registry`: the model package groups (each holds the numbered versions of one model). */
export function ModelGroupsPage() {
  const client = useClient();
  const pageToken = usePageToken();
  const list = useQuery({
    queryKey: ['model-package-groups', pageToken],
    queryFn: () =>
      client.call('listModelPackageGroups', {
        query: { limit: 20, ...(pageToken ? { pageToken } : {}) },
      }),
  });
  return (
    <>
      <h1>Model registry</h1>
      <p className="muted">
        Groups of versioned model packages. A version is approved or rejected with a reason before it is
        deployed. <Link to="/models">Models</Link> lists the deployable models.
      </p>
      <QueryView query={list} what="model package groups">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No model package groups yet. The sample project registers its model in "penguins".</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Group</th>
                    <th>Versions</th>
                    <th>Description</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((g) => (
                    <tr key={g.ModelPackageGroupName}>
                      <td>
                        <Link to={`/registry/${encodeURIComponent(g.ModelPackageGroupName)}`}>
                          {g.ModelPackageGroupName}
                        </Link>
                      </td>
                      <td>{g.LatestVersion}</td>
                      <td>{g.ModelPackageGroupDescription ?? <span className="muted">—</span>}</td>
                      <td>
                        <When at={g.CreationTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Model package groups" />
            </>
          )
        }
      </QueryView>
    </>
  );
}

/** `/registry/:group`: the group's versions, newest first, with status and headline metrics. */
export function ModelGroupPage() {
  const { group = '' } = useParams();
  const client = useClient();
  const pageToken = usePageToken();
  const described = useQuery({
    queryKey: ['model-package-group', group],
    queryFn: () => client.call('describeModelPackageGroup', { params: { group } }),
  });
  const versions = useQuery({
    queryKey: ['model-packages', group, pageToken],
    queryFn: async () => {
      const page = await client.call('listModelPackages', {
        query: { group, sortOrder: 'Descending', limit: 20, ...(pageToken ? { pageToken } : {}) },
      });
      // The summary carries no metrics: each version's description has them (20 at most a page).
      const full = await Promise.all(
        page.items.map((p) =>
          client.call('describeModelPackage', { params: { group, version: p.ModelPackageVersion } }),
        ),
      );
      return { ...page, full };
    },
  });
  return (
    <>
      <p>
        <Link to="/registry">Model registry</Link>
      </p>
      <h1>Group {group}</h1>
      <QueryView query={described} what="group">
        {(g) => (
          <dl className="kv card">
            <dt>Description</dt>
            <dd>{g.ModelPackageGroupDescription ?? '—'}</dd>
            <dt>Created</dt>
            <dd>
              <When at={g.CreationTime} /> by {g.CreatedBy.KeyName}
            </dd>
            <dt>ARN</dt>
            <dd>
              <code>{g.ModelPackageGroupArn}</code>
            </dd>
          </dl>
        )}
      </QueryView>
      <h2>Versions</h2>
      <QueryView query={versions} what="versions">
        {(page) =>
          page.full.length === 0 ? (
            <Empty>No versions yet. Register one from a completed training job.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Status</th>
                    <th>Metrics</th>
                    <th>Source job</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {page.full.map((p) => (
                    <tr key={p.ModelPackageVersion}>
                      <td>
                        <Link to={`/registry/${encodeURIComponent(group)}/${p.ModelPackageVersion}`}>
                          Version {p.ModelPackageVersion}
                        </Link>
                      </td>
                      <td>
                        <StatusBadge status={p.ModelApprovalStatus} />
                      </td>
                      <td>{headline(p) || <span className="muted">—</span>}</td>
                      <td>
                        {p.SourceTrainingJob ? (
                          <Link
                            to={`/training-jobs/${encodeURIComponent(p.SourceTrainingJob.TrainingJobName)}`}
                          >
                            {p.SourceTrainingJob.TrainingJobName}
                          </Link>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                      <td>
                        <When at={p.CreationTime} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager next={page.nextPageToken} label="Versions" />
            </>
          )
        }
      </QueryView>
    </>
  );
}

/** A line of the numbers that matter: the evaluation's headline, else the first final metrics. */
function headline(p: ModelPackage): string {
  const r = p.EvaluationReport;
  if (r?.type === 'classification') return `accuracy ${(r.accuracy * 100).toFixed(1)}% (${r.rows} rows)`;
  if (r?.type === 'regression') return `RMSE ${r.rmse.toPrecision(4)}, R² ${r.r2.toFixed(3)}`;
  return (p.FinalMetricDataList ?? [])
    .slice(0, 2)
    .map((m) => `${m.MetricName} ${m.Value.toPrecision(4)}`)
    .join(', ');
}

function Decide({ p }: { p: ModelPackage }) {
  const client = useClient();
  const queries = useQueryClient();
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const decide = useMutation({
    mutationFn: (status: 'Approved' | 'Rejected') =>
      client.call('updateModelPackage', {
        params: { group: p.ModelPackageGroupName, version: p.ModelPackageVersion },
        body: {
          ModelApprovalStatus: status,
          ...(reason.trim() ? { ApprovalDescription: reason.trim() } : {}),
        },
      }),
    onSuccess: (updated) => {
      queries.setQueryData(['model-package', p.ModelPackageGroupName, p.ModelPackageVersion], updated);
      void queries.invalidateQueries({ queryKey: ['model-packages', p.ModelPackageGroupName] });
      void queries.invalidateQueries({ queryKey: ['lineage'] });
      setReason('');
    },
  });
  const submit = (status: 'Approved' | 'Rejected') => (e?: FormEvent) => {
    e?.preventDefault();
    // A rejection must say why; an approval may.
    if (status === 'Rejected' && !reason.trim()) {
      setMissing(true);
      return;
    }
    setMissing(false);
    decide.mutate(status);
  };
  return (
    <form className="card stack" aria-labelledby="decide-title" onSubmit={submit('Approved')}>
      <h2 id="decide-title">Approve or reject</h2>
      <label>
        Reason (required to reject)
        <textarea
          value={reason}
          maxLength={1024}
          rows={2}
          aria-invalid={missing}
          aria-describedby={missing ? 'reason-error' : undefined}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      {missing ? (
        <p id="reason-error" role="alert">
          Give a reason for the rejection.
        </p>
      ) : null}
      <div className="row">
        <button
          type="submit"
          className="primary"
          disabled={decide.isPending || p.ModelApprovalStatus === 'Approved'}
        >
          Approve
        </button>
        <button
          type="button"
          className="danger"
          disabled={decide.isPending || p.ModelApprovalStatus === 'Rejected'}
          onClick={() => submit('Rejected')()}
        >
          Reject
        </button>
      </div>
      {decide.isError ? <ErrorState error={decide.error} /> : null}
    </form>
  );
}

const lineagePath: Record<string, (n: Lineage['nodes'][number]) => string> = {
  dataset: (n) => `/datasets/${encodeURIComponent(n.name)}${n.version ? `?version=${n.version}` : ''}`,
  'training-job': (n) => `/training-jobs/${encodeURIComponent(n.name)}`,
  'model-package': (n) => `/registry/${encodeURIComponent(n.name)}/${n.version ?? ''}`,
  model: () => '/models',
  endpoint: (n) => `/inference/${encodeURIComponent(n.name)}`,
};
const kindOrder = ['dataset', 'training-job', 'model-package', 'model', 'endpoint'] as const;
const kindLabel: Record<string, string> = {
  dataset: 'Datasets',
  'training-job': 'Training jobs',
  'model-package': 'Model packages',
  model: 'Models',
  endpoint: 'Endpoints',
};

/** Lineage as columns left to right (dataset → job → package → model → endpoint), each node a link. */
export function LineageView({ kind, name }: { kind: (typeof kindOrder)[number]; name: string }) {
  const client = useClient();
  const lineage = useQuery({
    queryKey: ['lineage', kind, name],
    queryFn: () => client.call('lineage', { query: { kind, name } }),
  });
  return (
    <section className="card" aria-labelledby="lineage-title">
      <h2 id="lineage-title">Lineage</h2>
      <QueryView query={lineage} what="lineage">
        {(l) => {
          const incoming = (id: string) =>
            l.edges
              .filter((e) => e.to === id)
              .map((e) => {
                const n = l.nodes.find((x) => x.id === e.from);
                return n ? `${n.name}${n.version !== undefined ? ` v${n.version}` : ''}` : e.from;
              });
          return (
            <div className="lineage" data-testid="lineage">
              {kindOrder
                .filter((k) => l.nodes.some((n) => n.kind === k))
                .map((k) => (
                  <div key={k} className="stack">
                    <h3>{kindLabel[k]}</h3>
                    <ul>
                      {l.nodes
                        .filter((n) => n.kind === k)
                        .map((n) => {
                          const from = incoming(n.id);
                          const label = `${n.name}${n.version !== undefined ? ` v${n.version}` : ''}`;
                          return (
                            <li key={n.id} aria-current={n.id === l.start ? 'true' : undefined}>
                              {n.id === l.start ? (
                                <strong>{label}</strong>
                              ) : (
                                <Link to={(lineagePath[k] ?? (() => '/'))(n)}>{label}</Link>
                              )}{' '}
                              {n.status ? <StatusBadge status={n.status} /> : null}
                              {from.length ? <div className="muted">from {from.join(', ')}</div> : null}
                            </li>
                          );
                        })}
                    </ul>
                  </div>
                ))}
            </div>
          );
        }}
      </QueryView>
    </section>
  );
}

/** `/registry/:group/:version`: one version, its approval and history, metrics and lineage. */
export function ModelPackagePage() {
  const { group = '', version: v = '' } = useParams();
  const version = Number(v);
  const client = useClient();
  const { session } = useSession();
  const pkg = useQuery({
    queryKey: ['model-package', group, version],
    queryFn: () => client.call('describeModelPackage', { params: { group, version } }),
  });
  return (
    <>
      <p>
        <Link to="/registry">Model registry</Link> /{' '}
        <Link to={`/registry/${encodeURIComponent(group)}`}>{group}</Link>
      </p>
      <h1>
        {group} version {v}
      </h1>
      <QueryView query={pkg} what="model package">
        {(p) => (
          <div className="stack">
            <section className="card" aria-labelledby="summary-title">
              <h2 id="summary-title">
                Approval <StatusBadge status={p.ModelApprovalStatus} />
              </h2>
              <dl className="kv">
                <dt>Reason</dt>
                <dd data-testid="approval-description">{p.ApprovalDescription ?? '—'}</dd>
                <dt>Description</dt>
                <dd>{p.ModelPackageDescription ?? '—'}</dd>
                <dt>Created</dt>
                <dd>
                  <When at={p.CreationTime} /> by {p.CreatedBy.KeyName}
                </dd>
                <dt>Container</dt>
                <dd>
                  <code>{p.InferenceSpecification.Containers[0]?.Image}</code>
                </dd>
                <dt>Artifact</dt>
                <dd>
                  <code>{p.InferenceSpecification.Containers[0]?.ModelDataUrl ?? '—'}</code>
                </dd>
                <dt>ARN</dt>
                <dd>
                  <code>{p.ModelPackageArn}</code>
                </dd>
              </dl>
            </section>
            {can(session.role, 'write') ? <Decide p={p} /> : null}
            <section className="card" aria-labelledby="history-title">
              <h2 id="history-title">Approval history</h2>
              {p.ApprovalHistory.length === 0 ? (
                <Empty>No decision yet.</Empty>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>When</th>
                      <th>Status</th>
                      <th>Who</th>
                      <th>Why</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.ApprovalHistory.map((h) => (
                      <tr key={`${h.Time}-${h.ModelApprovalStatus}`}>
                        <td>
                          <When at={h.Time} />
                        </td>
                        <td>
                          <StatusBadge status={h.ModelApprovalStatus} />
                        </td>
                        <td>{h.By.KeyName}</td>
                        <td>{h.ApprovalDescription ?? <span className="muted">—</span>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section className="card" aria-labelledby="metrics-title">
              <h2 id="metrics-title">Metrics and evaluation</h2>
              {p.EvaluationReport || p.FinalMetricDataList?.length ? (
                <dl className="kv">
                  {p.EvaluationReport ? (
                    <>
                      <dt>Evaluation</dt>
                      <dd>
                        {headline(p)} on the {p.EvaluationReport.channel} channel
                      </dd>
                    </>
                  ) : null}
                  {(p.FinalMetricDataList ?? []).map((m) => (
                    <div key={m.MetricName} style={{ display: 'contents' }}>
                      <dt>{m.MetricName}</dt>
                      <dd>{m.Value.toPrecision(4)}</dd>
                    </div>
                  ))}
                </dl>
              ) : (
                <Empty>No metrics: this version was registered from containers, not a training job.</Empty>
              )}
              {p.SourceTrainingJob ? (
                <p>
                  The full evaluation report (confusion matrix, curves) is on the training job{' '}
                  <Link to={`/training-jobs/${encodeURIComponent(p.SourceTrainingJob.TrainingJobName)}`}>
                    {p.SourceTrainingJob.TrainingJobName}
                  </Link>
                  .
                </p>
              ) : null}
            </section>
            <LineageView kind="model-package" name={`${p.ModelPackageGroupName}/${p.ModelPackageVersion}`} />
          </div>
        )}
      </QueryView>
    </>
  );
}
