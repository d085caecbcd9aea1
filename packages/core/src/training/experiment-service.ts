import type { ExperimentRun, ExperimentRuns, ExperimentSummary } from '@trainyard/contracts/experiments';
import type { JobStatus } from '@trainyard/contracts/jobs';
import type { CreateTrainingJobBody } from '@trainyard/contracts/training-jobs';
import type { JobRecord, JobStore } from '../ports/job-store.js';
import type { TrainingJobResult } from './training-job-service.js';

export interface CompareRunsOptions {
  /** A metric name or `CreationTime`. */
  sortBy?: string;
  order?: 'asc' | 'desc';
  curves?: boolean;
  status?: JobStatus | undefined;
}

/** Rows read per page while scanning the training jobs. */
const scanPage = 500;

/**
 * Experiments as SageMaker's ExperimentConfig defines them: training jobs naming the same
 * ExperimentName are its runs. There is no experiment table: experiments are read from the
 * training jobs (a scan of the training kind's rows, newest first), so a run appears and ends with
 * its job and nothing can get out of step.
 */
export class ExperimentService {
  constructor(private readonly options: { store: JobStore }) {}

  async #scan(visit: (job: JobRecord, spec: CreateTrainingJobBody) => void): Promise<void> {
    let pageToken: string | undefined;
    do {
      const page = await this.options.store.list('training', {
        limit: scanPage,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const job of page.items) visit(job, job.spec as CreateTrainingJobBody);
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** Experiments with their run counts, newest run first. */
  async list(nameContains?: string): Promise<ExperimentSummary[]> {
    const byName = new Map<string, ExperimentSummary>();
    await this.#scan((job, spec) => {
      const name = spec.ExperimentConfig?.ExperimentName;
      if (!name || (nameContains && !name.includes(nameContains))) return;
      const entry = byName.get(name);
      const created = job.createdAt.toISOString();
      if (!entry) byName.set(name, { ExperimentName: name, Runs: 1, LastRunTime: created });
      else {
        entry.Runs++;
        if (created > entry.LastRunTime) entry.LastRunTime = created;
      }
    });
    return [...byName.values()].sort((a, b) => b.LastRunTime.localeCompare(a.LastRunTime));
  }

  /**
   * The experiment's runs side by side, sorted by a final metric (runs without it last) or by
   * creation time; the parameters that differ between runs are named for a comparison table.
   * @returns an empty run list for an experiment no job names
   */
  async runs(experiment: string, options: CompareRunsOptions = {}): Promise<ExperimentRuns> {
    const runs: ExperimentRun[] = [];
    await this.#scan((job, spec) => {
      if (spec.ExperimentConfig?.ExperimentName !== experiment) return;
      if (options.status && job.status !== options.status) return;
      const result = job.result as TrainingJobResult | undefined;
      const metrics = result?.metrics ?? {};
      const run: ExperimentRun = {
        RunName: spec.ExperimentConfig.RunName ?? job.name,
        TrainingJobName: job.name,
        Status: job.status,
        CreationTime: job.createdAt.toISOString(),
        Parameters: Object.fromEntries(
          Object.entries(spec.HyperParameters ?? {}).filter(([k]) => !k.startsWith('sagemaker_')),
        ),
        FinalMetrics: Object.fromEntries(
          Object.entries(metrics)
            .filter(([, points]) => points.length > 0)
            .map(([name, points]) => [name, points.at(-1)!.Value]),
        ),
      };
      if (job.endedAt) run.TrainingEndTime = job.endedAt.toISOString();
      if (options.curves) run.MetricCurves = metrics;
      if (result?.modelArtifacts) run.ModelArtifacts = result.modelArtifacts;
      if (job.failure) run.FailureReason = job.failure.message;
      runs.push(run);
    });
    const sortBy = options.sortBy ?? 'CreationTime';
    const sign = (options.order ?? 'desc') === 'desc' ? -1 : 1;
    runs.sort((a, b) => {
      if (sortBy === 'CreationTime') return sign * a.CreationTime.localeCompare(b.CreationTime);
      const x = a.FinalMetrics[sortBy];
      const y = b.FinalMetrics[sortBy];
      if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
      return sign * (x - y);
    });
    const names = new Set(runs.flatMap((r) => Object.keys(r.Parameters)));
    const varying = [...names].filter((name) => new Set(runs.map((r) => r.Parameters[name])).size > 1).sort();
    const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.FinalMetrics)))].sort();
    return { ExperimentName: experiment, VaryingParameters: varying, MetricNames: metricNames, Runs: runs };
  }
}
