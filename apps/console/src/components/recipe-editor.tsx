import { useMutation, useQuery } from '@tanstack/react-query';
import { Recipe, type RecipeInput, stepOps } from '@trainyard/contracts/recipes';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { can } from '../api.js';
import { useClient, useSession } from '../session.js';
import { type RecipeDraft, RecipeForm } from './recipe-form.js';
import { ErrorState, Loading, StatusBadge } from './states.js';

const settled = new Set(['Completed', 'Failed', 'Stopped']);

/** The JSON as the form can draw it: an object with a list of steps (each an object with an op). */
function draftOf(text: string): RecipeDraft | undefined {
  try {
    const json: unknown = JSON.parse(text);
    if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
    const steps = (json as { steps?: unknown }).steps;
    if (!Array.isArray(steps) || !steps.every((s) => s && typeof s === 'object' && !Array.isArray(s)))
      return undefined;
    return json as RecipeDraft;
  } catch {
    return undefined;
  }
}

function starter(columns: string[]): RecipeInput {
  return {
    name: 'prep',
    steps: [{ op: 'select', columns: columns.slice(0, Math.min(columns.length, 5)) }, { op: 'deduplicate' }],
  };
}

/** The recipe in the text box, checked against the contract: either a recipe or messages naming the step and field. */
function check(
  text: string,
): { recipe: RecipeInput; problems: [] } | { recipe?: undefined; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`not valid JSON: ${(error as Error).message}`] };
  }
  const parsed = Recipe.safeParse(json);
  if (parsed.success) return { recipe: json as RecipeInput, problems: [] };
  const steps = (json as { steps?: { op?: unknown }[] } | null)?.steps;
  return {
    problems: parsed.error.issues.map((issue) => {
      const [first, index, ...rest] = issue.path;
      if (first === 'steps' && typeof index === 'number') {
        const op = steps?.[index]?.op;
        const field = rest.length ? `, ${rest.join('.')}` : '';
        return `step ${index + 1}${typeof op === 'string' ? ` (${op})` : ''}${field}: ${issue.message}`;
      }
      return `${issue.path.join('.') || 'recipe'}: ${issue.message}`;
    }),
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * The recipe editor of a dataset page: JSON checked as you type, a preview of the first rows
 * (debounced, fitted on those rows by the server) and, for roles that may write, a run into a new
 * dataset through a recipe-processor job whose status is followed here.
 */
export function RecipeEditor({
  dataset,
  version,
  columns,
}: {
  dataset: string;
  version?: number;
  columns: string[];
}) {
  const client = useClient();
  const { session } = useSession();
  const [text, setText] = useState(() => JSON.stringify(starter(columns), null, 2));
  const [debounced, setDebounced] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(text), 400);
    return () => clearTimeout(timer);
  }, [text]);
  const checked = useMemo(() => check(debounced), [debounced]);
  const draft = useMemo(() => draftOf(text), [text]);
  const preview = useQuery({
    queryKey: ['recipe-preview', dataset, version ?? 'latest', debounced],
    queryFn: () =>
      client.call('previewRecipe', {
        body: { dataset, ...(version ? { version } : {}), recipe: checked.recipe!, rows: 20 },
      }),
    enabled: checked.recipe !== undefined,
    retry: false,
    placeholderData: (previous) => previous,
  });
  const run = useMutation({
    mutationFn: () =>
      client.call('runRecipe', {
        body: { dataset, ...(version ? { version } : {}), recipe: checked.recipe! },
      }),
  });
  const jobName = run.data?.ProcessingJobName;
  // The processing job page's query: processing-job.state-change events re-read it (no timer).
  const job = useQuery({
    queryKey: ['processing-jobs', 'detail', jobName],
    queryFn: () => client.call('describeProcessingJob', { params: { name: jobName! } }),
    enabled: jobName !== undefined,
  });
  const p = preview.data;
  return (
    <section className="card stack" aria-labelledby="recipe-title">
      <h2 id="recipe-title">Recipe editor</h2>
      <div className="recipe-views">
        <section aria-labelledby="recipe-form-title" className="stack">
          <h3 id="recipe-form-title">Steps</h3>
          {draft ? (
            <RecipeForm
              recipe={draft}
              columns={columns}
              onChange={(next) => setText(JSON.stringify(next, null, 2))}
            />
          ) : (
            <p className="state error">
              The form needs a JSON object with a list of steps: fix the JSON first.
            </p>
          )}
        </section>
        <label className="recipe-json">
          Recipe (JSON; steps: {stepOps.join(', ')})
          <textarea
            name="recipe"
            rows={16}
            spellCheck={false}
            className="recipe-text"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-describedby="recipe-problems"
          />
        </label>
      </div>
      <div id="recipe-problems" aria-live="polite">
        {checked.problems.length > 0 ? (
          <ul className="state error" data-testid="recipe-problems">
            {checked.problems.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        ) : null}
      </div>
      {checked.recipe && preview.isError ? <ErrorState error={preview.error} /> : null}
      {checked.recipe && preview.isPending ? <Loading what="preview" /> : null}
      {p ? (
        <div className="stack" data-testid="recipe-preview">
          <h3>Resulting schema</h3>
          <p>
            {p.columns.map((c) => (
              <code key={c.name} className="recipe-tag">
                {c.name}: {c.type}
              </code>
            ))}
          </p>
          <h3>
            Preview of the first {p.rows.length} rows{preview.isFetching ? ' (updating…)' : ''}
          </h3>
          <div className="recipe-scroll">
            <table aria-label="Rows after the recipe">
              <thead>
                <tr>
                  {p.splits ? <th>split</th> : null}
                  {p.columns.map((c) => (
                    <th key={c.name}>{c.name}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {p.rows.map((row, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: preview rows have no identity but their position
                  <tr key={i}>
                    {p.splits ? <td>{p.splits[i]}</td> : null}
                    {p.columns.map((c) => (
                      <td key={c.name}>{cell(row[c.name])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}
      {can(session.role, 'write') ? (
        <div className="stack">
          <div>
            <button
              type="button"
              className="primary"
              disabled={
                !checked.recipe ||
                run.isPending ||
                (job.data !== undefined && !settled.has(job.data.ProcessingJobStatus))
              }
              onClick={() => run.mutate()}
            >
              {run.isPending ? 'Starting…' : 'Run into a new dataset'}
            </button>
          </div>
          {run.isError ? <ErrorState error={run.error} /> : null}
          {jobName ? (
            <p role="status" data-testid="recipe-run">
              Job <Link to={`/processing-jobs/${encodeURIComponent(jobName)}`}>{jobName}</Link>:{' '}
              {job.data ? <StatusBadge status={job.data.ProcessingJobStatus} /> : 'starting'}
              {job.data?.FailureReason ? ` ${job.data.FailureReason}` : ''}
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
