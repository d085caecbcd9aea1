import { z } from 'zod';
import { CompareRunsQuery, ExperimentRuns, ExperimentSummary } from './experiments.js';
import { defineRoute } from './route.js';

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
    params: z.object({ name: z.string().min(1).max(120) }),
    query: CompareRunsQuery,
    response: ExperimentRuns,
  }),
};
