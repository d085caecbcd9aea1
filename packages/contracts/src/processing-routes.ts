import { z } from 'zod';
import { JobListQuery, JobLogPage, JobLogQuery } from './jobs.js';
import { pageOf } from './pagination.js';
import { CreateProcessingJobBody, ProcessingJob, ProcessingJobSummary } from './processing-jobs.js';
import { defineRoute } from './route.js';

const ByName = z.object({ name: z.string().min(1).max(63) });

/** Processing jobs: a user script or a built-in processor run as a queued job. */
export const processingRoutes = {
  createProcessingJob: defineRoute({
    method: 'POST',
    path: '/api/v1/processing-jobs',
    access: 'write',
    summary: 'Queue a processing job (SageMaker CreateProcessingJob fields)',
    tag: 'processing-jobs',
    body: CreateProcessingJobBody,
    response: ProcessingJob,
    status: 201,
  }),
  listProcessingJobs: defineRoute({
    method: 'GET',
    path: '/api/v1/processing-jobs',
    access: 'read',
    summary:
      'List processing jobs: newest first, or by name or status; filter by status, name and creation or modification time',
    tag: 'processing-jobs',
    query: JobListQuery,
    response: pageOf(ProcessingJobSummary),
  }),
  describeProcessingJob: defineRoute({
    method: 'GET',
    path: '/api/v1/processing-jobs/:name',
    access: 'read',
    summary: 'Describe a processing job: status, secondary status transitions, failure, outputs',
    tag: 'processing-jobs',
    params: ByName,
    response: ProcessingJob,
  }),
  stopProcessingJob: defineRoute({
    method: 'POST',
    path: '/api/v1/processing-jobs/:name/stop',
    access: 'write',
    summary: 'Stop a processing job: SIGTERM, then SIGKILL after the grace period; ends Stopped',
    tag: 'processing-jobs',
    params: ByName,
    response: ProcessingJob,
  }),
  deleteProcessingJob: defineRoute({
    method: 'DELETE',
    path: '/api/v1/processing-jobs/:name',
    access: 'write',
    summary: 'Delete a finished processing job and its log (outputs stay); refused while it runs',
    tag: 'processing-jobs',
    params: ByName,
    response: z.object({ ok: z.literal(true) }),
  }),
  getProcessingJobLogs: defineRoute({
    method: 'GET',
    path: '/api/v1/processing-jobs/:name/logs',
    access: 'read',
    summary: 'Read a processing job log from a cursor; poll with nextCursor to follow it',
    tag: 'processing-jobs',
    params: ByName,
    query: JobLogQuery,
    response: JobLogPage,
  }),
};
