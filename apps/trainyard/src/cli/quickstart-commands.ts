import { setTimeout as sleep } from 'node:timers/promises';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { Quickstart } from '@trainyard/contracts/quickstart-routes';
import type { TrainyardClient } from '@trainyard/sdk/trainyard-client';
import type { Command } from 'commander';
import { type ClientFlags, clientCommand, clientOf } from './client-command.js';
import { printRows } from './output.js';

export interface QuickstartOutput {
  /** Progress lines (stderr in the CLI). */
  progress(line: string): void;
}

const marks = { pending: ' ', running: '…', done: '✓', failed: '✗' } as const;

/** The names a run created, one row per resource, for the closing table. */
export function createdBy(run: Quickstart): { resource: string; name: string }[] {
  const rows: { resource: string; name: string }[] = [];
  const links = Object.assign({}, ...run.steps.map((s) => s.links)) as Quickstart['steps'][number]['links'];
  if (links.dataset)
    rows.push({ resource: 'dataset', name: `${links.dataset.name} (version ${links.dataset.version})` });
  for (const d of links.datasets ?? [])
    rows.push({ resource: 'dataset', name: `${d.name} (version ${d.version})` });
  if (links.processingJob) rows.push({ resource: 'processing job', name: links.processingJob });
  if (links.trainingJob) rows.push({ resource: 'training job', name: links.trainingJob });
  if (links.model) rows.push({ resource: 'model', name: links.model });
  if (links.modelPackage) rows.push({ resource: 'model package', name: links.modelPackage });
  if (links.endpointConfig) rows.push({ resource: 'endpoint config', name: links.endpointConfig });
  if (links.endpoint) rows.push({ resource: 'endpoint', name: links.endpoint });
  return rows;
}

/**
 * Starts the sample project (or follows run `id`, or the one already running) and prints a line
 * per step change until it ends. Returns the final run; with `wait: false`, the run as started.
 */
export async function runQuickstart(
  client: TrainyardClient,
  options: { id?: string | undefined; wait?: boolean; pollMs?: number },
  output: QuickstartOutput,
): Promise<Quickstart> {
  let run: Quickstart;
  if (options.id) run = await client.call('getQuickstart', { params: { id: options.id } });
  else {
    try {
      run = await client.call('startQuickstart');
      output.progress(`quickstart ${run.id}: the Palmer penguins sample project, ${run.steps.length} steps`);
    } catch (error) {
      const running = TrainyardError.is(error, 'CONFLICT')
        ? (error.details as { id?: string }).id
        : undefined;
      if (!running) throw error;
      output.progress(`quickstart ${running} is already running; following it`);
      run = await client.call('getQuickstart', { params: { id: running } });
    }
  }
  if (options.wait === false) return run;
  const started = Date.now();
  const seen = new Map<string, string>();
  for (;;) {
    run.steps.forEach((step, i) => {
      const key = `${step.status}:${step.message ?? ''}`;
      if (seen.get(step.name) === key || step.status === 'pending') return;
      seen.set(step.name, key);
      const elapsed = `${Math.round((Date.now() - started) / 1000)}s`.padStart(4);
      const text = step.status === 'running' ? step.title : `${step.name}: ${step.message ?? step.status}`;
      output.progress(`[${i + 1}/${run.steps.length}] ${marks[step.status]} ${elapsed}  ${text}`);
    });
    if (run.status !== 'running') return run;
    await sleep(options.pollMs ?? 1000);
    run = await client.call('getQuickstart', { params: { id: run.id } });
  }
}

export function addQuickstartCommands(program: Command): void {
  clientCommand(
    program,
    'quickstart',
    'Run the sample project: ingest Palmer penguins, profile, prepare, train and evaluate XGBoost, deploy and invoke it, with progress; prints what it created',
  )
    .option('--id <id>', 'follow this run instead of starting one')
    .option('--no-wait', 'start and print the run without following it')
    .action(async (flags: ClientFlags & { id?: string; wait: boolean }) => {
      const json = flags.json ?? false;
      const run = await runQuickstart(
        clientOf(flags),
        { id: flags.id, wait: flags.wait },
        { progress: (line) => process.stderr.write(`${line}\n`) },
      );
      if (json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      else {
        printRows(createdBy(run), ['resource', 'name'], false);
        if (run.prediction) {
          const p = run.prediction;
          const share = ((p.probabilities[p.predicted] ?? 0) * 100).toFixed(1);
          process.stdout.write(
            `\nprediction: ${p.predicted} (${share}%)${p.expected ? `; its true species: ${p.expected}` : ''}\n`,
          );
        }
        const endpoint = run.steps.find((s) => s.links.endpoint)?.links.endpoint;
        if (run.status === 'done' && endpoint && run.prediction) {
          const row = Object.values(run.prediction.row)
            .map((v) => (v === null || v === undefined ? '' : String(v)))
            .join(',');
          process.stdout.write(`try it:     trainyard endpoints invoke ${endpoint} --body "${row}"\n`);
        }
      }
      if (run.status === 'failed') {
        const failed = run.steps.find((s) => s.status === 'failed');
        process.stderr.write(`quickstart ${run.id} failed at ${failed?.name}: ${failed?.message}\n`);
        process.exitCode = 1;
      }
    });
}
