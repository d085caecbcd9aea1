import { z } from 'zod';
import { defineRoute } from './route.js';

/** The steps of the sample project, in order. */
export const quickstartStepNames = [
  'ingest',
  'profile',
  'prepare',
  'train',
  'register',
  'model',
  'deploy',
  'invoke',
] as const;
export type QuickstartStepName = (typeof quickstartStepNames)[number];

export const QuickstartStepStatus = z.enum(['pending', 'running', 'done', 'failed']);

/** The resources a step made, so a console links to them and a CLI prints them. */
export const QuickstartLinks = z.object({
  dataset: z.object({ name: z.string(), version: z.number().int() }).optional(),
  /** Recipe outputs: the train and validation splits. */
  datasets: z.array(z.object({ name: z.string(), version: z.number().int() })).optional(),
  processingJob: z.string().optional(),
  trainingJob: z.string().optional(),
  model: z.string().optional(),
  modelPackage: z.string().optional(),
  endpointConfig: z.string().optional(),
  endpoint: z.string().optional(),
});
export type QuickstartLinks = z.infer<typeof QuickstartLinks>;

export const QuickstartStep = z.object({
  name: z.enum(quickstartStepNames),
  title: z.string(),
  status: QuickstartStepStatus,
  /** What happened (or is happening), in a sentence; the failure's message when failed. */
  message: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  links: QuickstartLinks,
});
export type QuickstartStep = z.infer<typeof QuickstartStep>;

export const Quickstart = z.object({
  id: z.string(),
  /** `running` until every step is done (`done`) or one failed (`failed`). */
  status: z.enum(['running', 'done', 'failed']),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Name of the access key that started it. */
  startedBy: z.string(),
  steps: z.array(QuickstartStep),
  /** The invoke step's answer: the row sent, the predicted species and each class's probability. */
  prediction: z
    .object({
      row: z.record(z.string(), z.unknown()),
      expected: z.string().optional(),
      predicted: z.string(),
      probabilities: z.record(z.string(), z.number()),
    })
    .optional(),
});
export type Quickstart = z.infer<typeof Quickstart>;

const ById = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9-]+$/, 'a quickstart id such as qs-k3x9a2'),
});

/** The sample project: Palmer penguins from ingest to an invoked endpoint, every step visible. */
export const quickstartRoutes = {
  startQuickstart: defineRoute({
    method: 'POST',
    path: '/api/v1/quickstart',
    access: 'write',
    summary:
      'Start the sample project (Palmer penguins: ingest, profile, prepare, train and evaluate XGBoost, model, deploy, invoke); progress also goes out as quickstart.progress events',
    tag: 'quickstart',
    response: Quickstart,
    status: 201,
  }),
  listQuickstarts: defineRoute({
    method: 'GET',
    path: '/api/v1/quickstart',
    access: 'read',
    summary: 'Sample project runs, newest first (at most 20)',
    tag: 'quickstart',
    response: z.object({ runs: z.array(Quickstart) }),
  }),
  getQuickstart: defineRoute({
    method: 'GET',
    path: '/api/v1/quickstart/:id',
    access: 'read',
    summary: 'One sample project run: each step with its status, message and the resources it made',
    tag: 'quickstart',
    params: ById,
    response: Quickstart,
  }),
};
