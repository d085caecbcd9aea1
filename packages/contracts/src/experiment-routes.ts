import { z } from 'zod';
import { CompareRunsQuery, ExperimentRuns, ExperimentSummary } from './experiments.js';
import { defineRoute } from './route.js';
import { ExperimentName } from './training-jobs.js';

/** Experiments: training jobs grouped by ExperimentConfig.ExperimentName, compared side by side. */
export const experimentRoutes = {
  listExperiments: defineRoute({
    method: 'GET',
    path: '/api/v1/experiments',
    access: 'read',
    summary: 'List experiments (ExperimentConfig.ExperimentName of training jobs), newest run first',
    tag: 'experiments',
    query: z.object({ nameContains: z.string().max(120).optional() }),
    response: z.object({ items: z.array(ExperimentSummary) }),
  }),
  compareExperimentRuns: defineRoute({
    method: 'GET',
    path: '/api/v1/experiments/:name/runs',
    access: 'read',
    summary: "An experiment's runs side by side: parameters, final metrics, metric curves, artifacts; sorted",
    tag: 'experiments',
    // The same rule as ExperimentConfig.ExperimentName: a name with "/" or ".." is a clear 400.
    params: z.object({ name: ExperimentName }),
    query: CompareRunsQuery,
    response: ExperimentRuns,
  }),
};
