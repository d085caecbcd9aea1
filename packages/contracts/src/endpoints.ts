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

/** The built-in model server; any other Image is refused until script and server containers land. */
export const builtInModelImage = 'trainyard/model-server';
/** SageMaker's XGBoost image names end in this; its `xgboost-model` artifacts serve on the built-in server. */
const xgboostImage = /(^|\/)sagemaker-xgboost(:.*)?$/;

export const ContainerDefinition = z.object({
  /** `trainyard/model-server` (@trainyard/ml `model.json`, XGBoost `xgboost-model`) or a SageMaker XGBoost image URI. */
  Image: z
    .string()
    .min(1)
    .max(255)
    .refine((image) => image === builtInModelImage || xgboostImage.test(image), {
      message: `must be "${builtInModelImage}" or a sagemaker-xgboost image; script and custom server containers are not supported yet`,
    }),
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

export const CreateModelBody = z.object({
  ModelName: ResourceName,
  PrimaryContainer: ContainerDefinition,
  /** Accepted for SageMaker compatibility and ignored: there are no IAM roles here. */
  ExecutionRoleArn: z.string().max(2048).optional(),
});
export type CreateModelInput = z.input<typeof CreateModelBody>;
export type CreateModelBody = z.output<typeof CreateModelBody>;

export const Model = z.object({
  ModelName: ResourceName,
  ModelArn: z.string(),
  PrimaryContainer: ContainerDefinition,
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

/** Invocation limits, as SageMaker's real-time endpoints have them. */
export const invocationLimits = {
  maxPayloadBytes: 6 * 1024 * 1024,
  modelTimeoutMs: 60_000,
  contentTypes: ['text/csv', 'application/json', 'application/jsonlines'],
} as const;
