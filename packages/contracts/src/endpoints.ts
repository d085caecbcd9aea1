import { z } from 'zod';

/** SageMaker resource names: letters, digits and "-", up to 63, not starting or ending with "-". */
export const ResourceName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, 'use letters, digits and "-" (not at either end)');

const ModelDataUrl = z
  .string()
  .max(1024)
  .regex(/^s3:\/\/[^/]+\/.+\.tar\.gz$/, 'must be an s3://bucket/key address of a .tar.gz file');

/** The built-in model server (@trainyard/ml `model.json`, XGBoost `xgboost-model`, `*.onnx`). */
export const builtInModelImage = 'trainyard/model-server';

export const ContainerDefinition = z.object({
  /**
   * Names what serves the model (there is no container runtime): `trainyard/model-server` or a
   * sagemaker-xgboost image (the built-in server), a framework image (scikit-learn, pytorch, python,
   * …) running the SAGEMAKER_PROGRAM script handler, or a label when ContainerEntrypoint is given.
   * Checked by the endpoint service, which names the field when it refuses one.
   */
  Image: z.string().min(1).max(255),
  /**
   * Trainyard extension (as in CreateTrainingJob / CreateProcessingJob): the command of a server
   * answering `GET /ping` and `POST /invocations` on `SAGEMAKER_BIND_TO_PORT`, e.g.
   * `["python3", "/opt/ml/model/code/app.py"]`; `/opt/ml/model` means the extracted model archive.
   */
  ContainerEntrypoint: z.array(z.string().min(1).max(1024)).min(1).max(100).optional(),
  ModelDataUrl,
  Environment: z
    .record(
      z
        .string()
        .max(1024)
        .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'environment names are letters, digits and "_"'),
      z.string().max(1024),
    )
    .refine((env) => Object.keys(env).length <= 100, 'at most 100 variables')
    .default({}),
});
export type ContainerDefinition = z.output<typeof ContainerDefinition>;

export const CreateModelBody = z
  .object({
    ModelName: ResourceName,
    /** The container to run; or give `modelPackageName` and it is copied from the package. */
    PrimaryContainer: ContainerDefinition.optional(),
    /**
     * A registered model package (`<group>/<version>` or its ARN) whose first container the model
     * copies. The package must be Approved, unless `allowUnapprovedModelPackage` is set (then
     * PendingManualApproval is accepted too); a Rejected package is never deployed.
     */
    modelPackageName: z
      .string()
      .min(1)
      .max(2048)
      .regex(
        /^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model-package\/)?[a-zA-Z0-9](-*[a-zA-Z0-9])*\/[0-9]{1,9}$/,
        'use "<group>/<version>" or the package ARN',
      )
      .optional(),
    /** Deploy a package still PendingManualApproval (never a Rejected one). Native API only. */
    allowUnapprovedModelPackage: z.boolean().optional(),
    /** Accepted for SageMaker compatibility and ignored: there are no IAM roles here. */
    ExecutionRoleArn: z.string().max(2048).optional(),
  })
  .refine((b) => (b.PrimaryContainer === undefined) !== (b.modelPackageName === undefined), {
    message: 'give exactly one of PrimaryContainer and modelPackageName',
    path: ['PrimaryContainer'],
  });
export type CreateModelInput = z.input<typeof CreateModelBody>;
export type CreateModelBody = z.output<typeof CreateModelBody>;

export const Model = z.object({
  ModelName: ResourceName,
  ModelArn: z.string(),
  PrimaryContainer: ContainerDefinition,
  /** The ARN of the model package the container was copied from, when it was. */
  ModelPackageName: z.string().optional(),
  CreationTime: z.string(),
});
export type Model = z.infer<typeof Model>;

export const ProductionVariant = z.object({
  VariantName: ResourceName,
  ModelName: ResourceName,
  InstanceType: z.string().min(1).max(64),
  InitialInstanceCount: z.number().int().min(1).max(16),
  /** Relative weight; the share of traffic is weight / sum of weights. */
  InitialVariantWeight: z.number().min(0).max(1000).default(1),
  /**
   * Seconds a new instance has to answer `GET /ping` with 200 before it fails (an update then rolls
   * back); default: the server's `endpointHealthTimeoutSeconds` (60). SageMaker accepts 60..3600;
   * Trainyard accepts from 1.
   */
  ContainerStartupHealthCheckTimeoutInSeconds: z.number().int().min(1).max(3600).optional(),
});
export type ProductionVariant = z.output<typeof ProductionVariant>;

export const CreateEndpointConfigBody = z.object({
  EndpointConfigName: ResourceName,
  ProductionVariants: z
    .array(ProductionVariant)
    .min(1)
    .max(10)
    .refine((vs) => new Set(vs.map((v) => v.VariantName)).size === vs.length, 'variant names must be unique')
    .refine(
      (vs) => vs.some((v) => v.InitialVariantWeight > 0),
      'at least one variant needs a weight above 0',
    ),
});
export type CreateEndpointConfigInput = z.input<typeof CreateEndpointConfigBody>;
export type CreateEndpointConfigBody = z.output<typeof CreateEndpointConfigBody>;

export const EndpointConfig = CreateEndpointConfigBody.extend({
  EndpointConfigArn: z.string(),
  CreationTime: z.string(),
});
export type EndpointConfig = z.infer<typeof EndpointConfig>;

export const endpointStatuses = [
  'Creating',
  'InService',
  'Updating',
  'RollingBack',
  'Failed',
  'Deleting',
] as const;
export const EndpointStatus = z.enum(endpointStatuses);
export type EndpointStatus = z.infer<typeof EndpointStatus>;

export const ProductionVariantSummary = z.object({
  VariantName: z.string(),
  ModelName: z.string(),
  InstanceType: z.string(),
  CurrentWeight: z.number(),
  DesiredWeight: z.number(),
  CurrentInstanceCount: z.number().int(),
  DesiredInstanceCount: z.number().int(),
});
export type ProductionVariantSummary = z.infer<typeof ProductionVariantSummary>;

export const Endpoint = z.object({
  EndpointName: ResourceName,
  EndpointArn: z.string(),
  EndpointConfigName: ResourceName,
  EndpointStatus,
  FailureReason: z.string().optional(),
  ProductionVariants: z.array(ProductionVariantSummary),
  /** Trainyard extension: the config an Updating endpoint moves to. */
  PendingEndpointConfigName: ResourceName.optional(),
  CreationTime: z.string(),
  LastModifiedTime: z.string(),
});
export type Endpoint = z.infer<typeof Endpoint>;

export const EndpointSummary = Endpoint.pick({
  EndpointName: true,
  EndpointArn: true,
  EndpointStatus: true,
  CreationTime: true,
  LastModifiedTime: true,
});

export const CreateEndpointBody = z.object({
  EndpointName: ResourceName,
  EndpointConfigName: ResourceName,
});
export type CreateEndpointBody = z.output<typeof CreateEndpointBody>;

export const UpdateEndpointBody = z.object({ EndpointConfigName: ResourceName });
export type UpdateEndpointBody = z.output<typeof UpdateEndpointBody>;

export const UpdateEndpointWeightsAndCapacitiesBody = z.object({
  DesiredWeightsAndCapacities: z
    .array(
      z
        .object({
          VariantName: ResourceName,
          DesiredWeight: z.number().min(0).max(1000).optional(),
          DesiredInstanceCount: z.number().int().min(1).max(16).optional(),
        })
        .refine((d) => d.DesiredWeight !== undefined || d.DesiredInstanceCount !== undefined, {
          message: 'give DesiredWeight, DesiredInstanceCount or both',
        }),
    )
    .min(1)
    .max(10),
});
export type UpdateEndpointWeightsAndCapacitiesBody = z.output<typeof UpdateEndpointWeightsAndCapacitiesBody>;

export const instanceStatuses = ['Pending', 'InService', 'Restarting', 'Failed'] as const;
export const EndpointInstanceStatus = z.enum(instanceStatuses);

/** Trainyard extension: one running model server of an endpoint. */
export const EndpointInstance = z.object({
  InstanceId: z.string(),
  EndpointName: z.string(),
  EndpointConfigName: z.string(),
  VariantName: z.string(),
  Status: EndpointInstanceStatus,
  /** Where the router sends requests, e.g. `http://127.0.0.1:41234`. */
  Url: z.string().optional(),
  /**
   * Where the built-in model server also takes the router's framed lane, e.g.
   * `tcp://127.0.0.1:41235`; absent for script handlers and user servers (HTTP on Url only).
   */
  LaneUrl: z.string().optional(),
  Pid: z.number().int().optional(),
  Restarts: z.number().int(),
  LastError: z.string().optional(),
  StartTime: z.string(),
  /** CPU the instance's processes used over the last sample interval: 100 = one core busy. */
  CpuPercent: z.number().optional(),
  /** Resident memory of the instance's processes at the last sample. */
  MemoryBytes: z.number().int().optional(),
  /** Resident memory as a percentage of its instance type's memory. */
  MemoryPercent: z.number().optional(),
  /** When CpuPercent and MemoryBytes were sampled (ISO 8601). */
  SampledAt: z.string().optional(),
});
export type EndpointInstance = z.infer<typeof EndpointInstance>;

/**
 * One sample of an endpoint variant's (or instance's) traffic over one step (`intervalSeconds`).
 * `modelLatencyMs`/`overheadLatencyMs` are means over the invocations an instance answered (null
 * when none did); the P50/P90/P99 fields are quantiles estimated from fixed latency buckets (within
 * the bucket holding the true value). CPU is the mean over the variant's instances and memory their
 * sum, from the reconciler's samples in the step (null when none); `instances` counts the instances
 * sampled in the step.
 */
export const EndpointMetricSample = z.object({
  time: z.string(),
  invocations: z.number().int(),
  errors4xx: z.number().int(),
  errors5xx: z.number().int(),
  modelLatencyMs: z.number().nullable(),
  overheadLatencyMs: z.number().nullable(),
  modelLatencyP50Ms: z.number().nullable(),
  modelLatencyP90Ms: z.number().nullable(),
  modelLatencyP99Ms: z.number().nullable(),
  overheadLatencyP50Ms: z.number().nullable(),
  overheadLatencyP90Ms: z.number().nullable(),
  overheadLatencyP99Ms: z.number().nullable(),
  instances: z.number().int(),
  cpuPercent: z.number().nullable(),
  memoryBytes: z.number().nullable(),
});
export type EndpointMetricSample = z.infer<typeof EndpointMetricSample>;

/** How the endpoint metric series are stored: 10 s intervals, kept 24 hours, then dropped. */
export const endpointMetricLimits = {
  intervalSeconds: 10,
  retentionHours: 24,
  /** Samples per series at most: a longer window is answered in coarser steps. */
  maxSamples: 360,
  defaultMinutes: 30,
} as const;

const maxWindowMinutes = endpointMetricLimits.retentionHours * 60;
const Timestamp = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 timestamp, e.g. 2026-01-01T00:00:00Z',
});

/**
 * Query of `GET /api/v1/endpoints/:name/metrics`: the window is `minutes` back from now (default
 * 30), or `from` to `to` (ISO 8601; `to` defaults to now), at most 24 hours (the retention);
 * `perInstance=true` adds each instance's series under its variant.
 */
export const EndpointMetricsQuery = z
  .object({
    from: Timestamp.optional(),
    to: Timestamp.optional(),
    minutes: z.coerce
      .number({ error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(1, 'must be at least 1')
      .max(
        maxWindowMinutes,
        `must be at most ${maxWindowMinutes} (the ${endpointMetricLimits.retentionHours} h retention)`,
      )
      .optional(),
    perInstance: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.minutes !== undefined && (q.from !== undefined || q.to !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['minutes'],
        message: 'give either minutes or from/to, not both',
      });
    if (q.to !== undefined && q.from === undefined)
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'is required with to' });
    if (q.from !== undefined) {
      const from = Date.parse(q.from);
      const to = q.to === undefined ? Date.now() : Date.parse(q.to);
      if (from >= to)
        ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to (or before now)' });
      else if (to - from > maxWindowMinutes * 60_000)
        ctx.addIssue({
          code: 'custom',
          path: ['from'],
          message: `from..to spans more than ${endpointMetricLimits.retentionHours} hours (the retention)`,
        });
    }
  });
export type EndpointMetricsQuery = z.infer<typeof EndpointMetricsQuery>;

const MetricSeries = z.array(EndpointMetricSample);

/**
 * `GET /api/v1/endpoints/:name/metrics`: samples per variant (and per instance with
 * `perInstance=true`) over the window, from the metadata store (`scope: "stored"`): every API
 * process adds its own traffic, so any process answers for the whole endpoint, and a restart keeps
 * it. Variant "" counts invocations refused before a variant was picked.
 */
export const EndpointMetrics = z.object({
  EndpointName: z.string(),
  /** Seconds per sample: the stored 10 s, or a multiple of it for long windows. */
  intervalSeconds: z.number(),
  windowSeconds: z.number(),
  from: z.string(),
  to: z.string(),
  scope: z.literal('stored'),
  variants: z.array(
    z.object({
      VariantName: z.string(),
      samples: MetricSeries,
      instances: z.array(z.object({ InstanceId: z.string(), samples: MetricSeries })).optional(),
    }),
  ),
});
export type EndpointMetrics = z.infer<typeof EndpointMetrics>;

/** Invocation limits, as SageMaker's real-time endpoints have them. */
export const invocationLimits = {
  maxPayloadBytes: 6 * 1024 * 1024,
  modelTimeoutMs: 60_000,
  contentTypes: ['text/csv', 'application/json', 'application/jsonlines', 'application/x-npy'],
} as const;
