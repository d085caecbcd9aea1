import { z } from 'zod';
import { PageQuery, pageOf } from './pagination.js';
import { defineRoute } from './route.js';
import {
  CreateTuningJobBody,
  TuningJob,
  TuningJobName,
  TuningJobStatus,
  TuningJobSummary,
  TuningTrial,
  TuningTrialsQuery,
} from './tuning-jobs.js';

const ByName = z.object({ name: TuningJobName });

/** Hyperparameter tuning jobs: trials are training jobs proposed by a search strategy. */
export const tuningRoutes = {
  createTuningJob: defineRoute({
    method: 'POST',
    path: '/api/v1/tuning-jobs',
    access: 'write',
    summary: 'Start a hyperparameter tuning job (SageMaker CreateHyperParameterTuningJob fields)',
    tag: 'tuning-jobs',
    body: CreateTuningJobBody,
    response: TuningJob,
    status: 201,
  }),
  listTuningJobs: defineRoute({
    method: 'GET',
    path: '/api/v1/tuning-jobs',
    access: 'read',
    summary: 'List tuning jobs, newest first, with counters and the best objective so far',
    tag: 'tuning-jobs',
    query: PageQuery.extend({
      status: TuningJobStatus.optional(),
      nameContains: z
        .string()
        .max(32)
        .regex(/^[a-zA-Z0-9-]+$/, 'letters, digits and "-", as in tuning job names')
        .optional(),
    }),
    response: pageOf(TuningJobSummary),
  }),
  describeTuningJob: defineRoute({
    method: 'GET',
    path: '/api/v1/tuning-jobs/:name',
    access: 'read',
    summary: 'Describe a tuning job: status, counters, best training job, completion details',
    tag: 'tuning-jobs',
    params: ByName,
    response: TuningJob,
  }),
  stopTuningJob: defineRoute({
    method: 'POST',
    path: '/api/v1/tuning-jobs/:name/stop',
    access: 'write',
    summary: 'Stop a tuning job and every trial still running; ends Stopped',
    tag: 'tuning-jobs',
    params: ByName,
    response: TuningJob,
  }),
  listTuningJobTrials: defineRoute({
    method: 'GET',
    path: '/api/v1/tuning-jobs/:name/trials',
    access: 'read',
    summary: "A tuning job's trials (its training jobs) with their hyperparameters and objective values",
    tag: 'tuning-jobs',
    params: ByName,
    query: TuningTrialsQuery,
    response: z.object({ items: z.array(TuningTrial) }),
  }),
};
