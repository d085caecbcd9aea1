import { z } from 'zod';
import { roles } from './route.js';

export const KeyName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');

export const AccessKey = z.object({
  /** Public identifier, also the AWS access key id for the SageMaker and S3 doors. */
  id: z.string(),
  name: z.string(),
  role: z.enum(roles),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type AccessKey = z.infer<typeof AccessKey>;

export const CreateKeyBody = z.object({ name: KeyName, role: z.enum(roles) }).strict();

/** Returned once, at creation: `secret` is the bearer token and the AWS secret access key. */
export const CreatedKey = AccessKey.extend({ secret: z.string() });
export type CreatedKey = z.infer<typeof CreatedKey>;

export const WhoAmI = z.object({ keyId: z.string(), name: z.string(), role: z.enum(roles) });
