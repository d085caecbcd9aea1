import { z } from 'zod';
import {
  CompareRunsQuery,
  CreateExperimentBody,
  Experiment,
  ExperimentRuns,
  ExperimentSummary,
} from './experiments.js';
import { defineRoute } from './route.js';
import { ExperimentName } from './training-jobs.js';

const ByName = z.object({ name: ExperimentName });

/**
 * Experiments: created before any run, or by the first training job whose ExperimentConfig names
 * them; their runs (training jobs) compared side by side.
 */
export const experimentRoutes = {
  createExperiment: defineRoute({
    method: 'POST',
    path: '/api/v1/experiments',
    access: 'write',
    summary: 'Create an experiment before any run (training jobs join it with ExperimentConfig)',
    tag: 'experiments',
    body: CreateExperimentBody,
    response: Experiment,
    status: 201,
  }),
  describeExperiment: defineRoute({
    method: 'GET',
    path: '/api/v1/experiments/:name',
    access: 'read',
    summary: 'An experiment: display name, description, who created it and when',
    tag: 'experiments',
    params: ByName,
    response: Experiment,
  }),
  deleteExperiment: defineRoute({
    method: 'DELETE',
    path: '/api/v1/experiments/:name',
    access: 'write',
    summary: 'Delete an experiment without trials (a training job of it is one: delete its trials first)',
    tag: 'experiments',
    params: ByName,
    response: z.object({ deleted: z.literal(true) }),
  }),
  listExperiments: defineRoute({
    method: 'GET',
    path: '/api/v1/experiments',
    access: 'read',
    summary: 'List experiments (created ones and those training jobs name), newest run first',
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
