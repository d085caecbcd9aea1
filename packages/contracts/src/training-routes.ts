import { z } from 'zod';
import { JobListQuery, JobLogEvent, JobLogPage, JobLogQuery, JobStatus, SecondaryStatus } from './jobs.js';
import { pageOf } from './pagination.js';
import { defineRoute } from './route.js';
import {
  CreateTrainingJobBody,
  TrainingJob,
  TrainingJobMetrics,
  TrainingJobSummary,
} from './training-jobs.js';

const ByName = z.object({ name: z.string().min(1).max(63) });

/** Data of the log stream's events: a log line, a status change, or the end. */
export const TrainingLogStreamEvent = z.union([
  JobLogEvent,
  z.object({ TrainingJobStatus: JobStatus, SecondaryStatus, StatusMessage: z.string().optional() }),
]);
export type TrainingLogStreamEvent = z.input<typeof TrainingLogStreamEvent>;

/** Training jobs: built-in algorithms, SageMaker-style scripts or any command, run as queued jobs. */
export const trainingRoutes = {
  createTrainingJob: defineRoute({
    method: 'POST',
    path: '/api/v1/training-jobs',
    access: 'write',
    summary: 'Queue a training job (SageMaker CreateTrainingJob fields)',
    tag: 'training-jobs',
    body: CreateTrainingJobBody,
    response: TrainingJob,
    status: 201,
  }),
  listTrainingJobs: defineRoute({
    method: 'GET',
    path: '/api/v1/training-jobs',
    access: 'read',
    summary:
      'List training jobs: newest first, or by name or status; filter by status, name and creation or modification time',
    tag: 'training-jobs',
    query: JobListQuery,
    response: pageOf(TrainingJobSummary),
  }),
  describeTrainingJob: defineRoute({
    method: 'GET',
    path: '/api/v1/training-jobs/:name',
    access: 'read',
    summary: 'Describe a training job: status, transitions, final metrics, artifacts, evaluation report',
    tag: 'training-jobs',
    params: ByName,
    response: TrainingJob,
  }),
  stopTrainingJob: defineRoute({
    method: 'POST',
    path: '/api/v1/training-jobs/:name/stop',
    access: 'write',
    summary: 'Stop a training job: SIGTERM, then SIGKILL after the grace period; ends Stopped',
    tag: 'training-jobs',
    params: ByName,
    response: TrainingJob,
  }),
  deleteTrainingJob: defineRoute({
    method: 'DELETE',
    path: '/api/v1/training-jobs/:name',
    access: 'write',
    summary: 'Delete an ended training job and its log (artifacts stay in the blob store); 412 while it runs',
    tag: 'training-jobs',
    params: ByName,
    response: z.object({ TrainingJobName: z.string(), TrainingJobArn: z.string() }),
  }),
  getTrainingJobLogs: defineRoute({
    method: 'GET',
    path: '/api/v1/training-jobs/:name/logs',
    access: 'read',
    summary: 'Read a training job log from a cursor; poll with nextCursor to follow it',
    tag: 'training-jobs',
    params: ByName,
    query: JobLogQuery,
    response: JobLogPage,
  }),
  streamTrainingJobLogs: {
    ...defineRoute({
      method: 'GET',
      path: '/api/v1/training-jobs/:name/logs/stream',
      access: 'read',
      summary:
        'Follow a training job log as server-sent events (`log` events with id = seq, `status` on each change, `end` once it has ended); Last-Event-ID or cursor resumes',
      tag: 'training-jobs',
      params: ByName,
      query: z.object({ cursor: z.coerce.number().int().min(0).optional() }),
      response: TrainingLogStreamEvent,
    }),
    eventStream: true as const,
  },
  getTrainingJobMetrics: defineRoute({
    method: 'GET',
    path: '/api/v1/training-jobs/:name/metrics',
    access: 'read',
    summary: "A training job's metric time series (built-in per-iteration metrics and MetricDefinitions)",
    tag: 'training-jobs',
    params: ByName,
    response: TrainingJobMetrics,
  }),
};
