import { useQuery } from '@tanstack/react-query';
import type { DatasetProfile } from '@trainyard/contracts/datasets';
import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { axis, Chart } from '../components/chart.js';
import { RecipeEditor } from '../components/recipe-editor.js';
import { Empty, QueryView, When } from '../components/states.js';
import { useClient } from '../session.js';

function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? n.toLocaleString() : n.toPrecision(4);
}

function MissingBars({ profile }: { profile: DatasetProfile }) {
  const option = useMemo(
    () => ({
      grid: { left: 120, right: 24, top: 16, bottom: 32 },
      xAxis: axis({ type: 'value', name: 'missing %', max: 100 }),
      yAxis: axis({ type: 'category', data: profile.columns.map((c) => c.name) }),
      series: [
        {
          type: 'bar',
          data: profile.columns.map((c) =>
            c.count + c.missing === 0 ? 0 : (100 * c.missing) / (c.count + c.missing),
          ),
        },
      ],
    }),
    [profile],
  );
  const withMissing = profile.columns.filter((c) => c.missing > 0);
  return (
    <Chart
      option={option}
      label="Missing values per column, in percent"
      height={Math.max(160, profile.columns.length * 22 + 48)}
      summary={
        withMissing.length === 0
          ? 'No column has missing values.'
          : `Missing: ${withMissing.map((c) => `${c.name} ${c.missing}`).join(', ')}.`
      }
    />
  );
}

function Correlations({ profile }: { profile: DatasetProfile }) {
  const { columns, matrix } = profile.correlations;
  const option = useMemo(
    () => ({
      grid: { left: 120, right: 24, top: 16, bottom: 100 },
      xAxis: axis({ type: 'category', data: columns, axisLabel: { rotate: 45 } }),
      yAxis: axis({ type: 'category', data: columns }),
      visualMap: {
        min: -1,
        max: 1,
        calculable: true,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        // Diverging: negative blue, none white, positive red.
        inRange: { color: ['#2166ac', '#f7f7f7', '#b2182b'] },
      },
      series: [
        {
          type: 'heatmap',
          data: matrix.flatMap((row, i) =>
            row.map((v, j) => [j, i, v === null ? '-' : Number(v.toFixed(3))]),
          ),
          label: { show: columns.length <= 8 },
        },
      ],
    }),
    [columns, matrix],
  );
  if (columns.length < 2) return <Empty>Fewer than two numeric columns: no correlations.</Empty>;
  return <Chart option={option} label="Correlation heatmap of the numeric columns" height={360} />;
}

function ColumnCard({ column }: { column: DatasetProfile['columns'][number] }) {
  const option = useMemo(() => {
    if (column.numeric?.histogram.length) {
      const h = column.numeric.histogram;
      return {
        grid: { left: 48, right: 16, top: 16, bottom: 40 },
        xAxis: axis({ type: 'category', data: h.map((b) => `${fmt(b.lower)}–${fmt(b.upper)}`) }),
        yAxis: axis({ type: 'value' }),
        series: [{ type: 'bar', data: h.map((b) => b.count) }],
      };
    }
    if (column.topK?.length) {
      const top = column.topK.slice(0, 10).reverse();
      return {
        grid: { left: 100, right: 16, top: 16, bottom: 24 },
        xAxis: axis({ type: 'value' }),
        yAxis: axis({ type: 'category', data: top.map((t) => t.value) }),
        series: [{ type: 'bar', data: top.map((t) => t.count) }],
      };
    }
    return undefined;
  }, [column]);
  return (
    <section className="card" aria-label={`Column ${column.name}`}>
      <h3>
        {column.name} <span className="badge neutral">{column.type}</span>
      </h3>
      <dl className="kv">
        <dt>missing</dt>
        <dd>{column.missing}</dd>
        <dt>distinct</dt>
        <dd>
          {column.distinct}
          {column.distinctApprox ? ' (approx.)' : ''}
        </dd>
        {column.numeric ? (
          <>
            <dt>min / mean / max</dt>
            <dd>
              {fmt(column.numeric.min)} / {fmt(column.numeric.mean)} / {fmt(column.numeric.max)}
            </dd>
          </>
        ) : null}
      </dl>
      {option ? (
        <Chart
          option={option}
          height={200}
          label={column.numeric ? `Histogram of ${column.name}` : `Top values of ${column.name}`}
        />
      ) : null}
    </section>
  );
}

export function DatasetPage() {
  const { name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const client = useClient();
  const versions = useQuery({
    queryKey: ['datasets', name, 'versions'],
    queryFn: () => client.call('listDatasetVersions', { params: { name }, query: { limit: 50 } }),
  });
  const chosen = params.get('version') ?? 'latest';
  const profile = useQuery({
    queryKey: ['datasets', name, 'profile', chosen],
    queryFn: () =>
      client.call('getDatasetProfile', {
        params: { name, version: chosen === 'latest' ? 'latest' : Number(chosen) },
      }),
  });
  return (
    <>
      <p>
        <Link to="/datasets">Data</Link> /
      </p>
      <h1>Dataset {name}</h1>
      <h2>Versions</h2>
      <QueryView query={versions} what="versions">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No versions.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Status</th>
                  <th>Rows</th>
                  <th>Target</th>
                  <th>Lineage</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((v) => (
                  <tr key={v.version}>
                    <td>
                      <button
                        type="button"
                        aria-pressed={String(v.version) === chosen}
                        onClick={() => setParams({ version: String(v.version) })}
                      >
                        v{v.version}
                      </button>
                    </td>
                    <td>{v.status}</td>
                    <td>{v.rowCount.toLocaleString()}</td>
                    <td>{v.target ?? '—'}</td>
                    <td>
                      {v.lineage.source ??
                        (v.lineage.parentDataset
                          ? `${v.lineage.parentDataset} v${v.lineage.parentVersion}`
                          : '—')}
                      {v.lineage.jobName ? ` (job ${v.lineage.jobName})` : ''}
                    </td>
                    <td>
                      <When at={v.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryView>
      <h2>Profile {chosen === 'latest' ? '(latest version)' : `(v${chosen})`}</h2>
      <QueryView query={profile} what="profile">
        {(p) => (
          <div className="stack">
            <p>
              {p.rowCount.toLocaleString()} rows, {p.columns.length} columns
              {p.target ? `, target ${p.target.name}` : ''}.
            </p>
            <div className="grid">
              <section className="card" aria-labelledby="missing-title">
                <h3 id="missing-title">Missing values</h3>
                <MissingBars profile={p} />
              </section>
              <section className="card" aria-labelledby="corr-title">
                <h3 id="corr-title">Correlations</h3>
                <Correlations profile={p} />
              </section>
            </div>
            <h3>Columns</h3>
            <div className="grid">
              {p.columns.map((c) => (
                <ColumnCard key={c.name} column={c} />
              ))}
            </div>
            <RecipeEditor
              key={`${name}@${chosen}`}
              dataset={name}
              {...(chosen === 'latest' ? {} : { version: Number(chosen) })}
              columns={p.columns.map((c) => c.name)}
            />
          </div>
        )}
      </QueryView>
    </>
  );
}
