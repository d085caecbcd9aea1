import { z } from 'zod';

/** Hardware a job or a model instance runs on: a local process gets these CPU and memory limits. */
export const InstanceType = z.object({
  name: z
    .string()
    .min(3)
    .max(64)
    .regex(/^[a-z0-9]+(\.[a-z0-9-]+)+$/, 'dotted lowercase, e.g. "ml.m5.large"'),
  vcpus: z.number().positive().max(1024),
  memoryMiB: z
    .number()
    .int()
    .min(64)
    .max(16 * 1024 * 1024),
  gpus: z.number().int().min(0).max(64).default(0),
  /** Price in USD per hour, used for cost estimates of jobs and endpoints. */
  pricePerHour: z.number().min(0).max(10_000),
  description: z.string().max(256).default(''),
});
export type InstanceTypeInput = z.input<typeof InstanceType>;

export const InstanceTypeRecord = InstanceType.extend({
  /** Increases by one on every update; pass it back to update to refuse lost updates. */
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type InstanceTypeRecord = z.infer<typeof InstanceTypeRecord>;

export const UpdateInstanceTypeBody = InstanceType.omit({ name: true })
  .partial()
  .extend({ expectedVersion: z.number().int().optional() })
  .strict();
export type UpdateInstanceTypeBody = z.infer<typeof UpdateInstanceTypeBody>;
