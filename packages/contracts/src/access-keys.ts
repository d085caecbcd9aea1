import { z } from 'zod';
import { PageQuery } from './pagination.js';
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
  /** Last successful use, to the minute (written at most once a minute per key). */
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** After this time the key is refused; null: it does not expire. */
  expiresAt: z.string().nullable(),
  /** Until this time the secret replaced by the last rotation still works; null: no grace running. */
  previousSecretExpiresAt: z.string().nullable(),
});
export type AccessKey = z.infer<typeof AccessKey>;

const Instant = z.iso.datetime({ offset: true });

export const CreateKeyBody = z
  .object({
    name: KeyName,
    role: z.enum(roles),
    /** ISO 8601 time after which the key is refused; absent: it does not expire. */
    expiresAt: Instant.optional(),
  })
  .strict();

/**
 * Rotation: a new secret now; the old one keeps working for `graceSeconds` (default one day,
 * 0 ends it at once, at most 30 days) so clients can be moved over without an outage.
 */
export const RotateKeyBody = z
  .object({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(86_400),
  })
  .strict();

/** Returned once, at creation: `secret` is the bearer token and the AWS secret access key. */
export const CreatedKey = AccessKey.extend({ secret: z.string() });
export type CreatedKey = z.infer<typeof CreatedKey>;

export const WhoAmI = z.object({ keyId: z.string(), name: z.string(), role: z.enum(roles) });

/** One mutating call, as the audit log keeps it. */
export const AuditEntry = z.object({
  id: z.string(),
  /** ISO 8601 time the answer was sent. */
  at: z.string(),
  keyId: z.string(),
  keyName: z.string(),
  role: z.enum(roles),
  /** `rest` (the /api/v1 routes) or `s3`. */
  door: z.string(),
  /** REST: the route name (`createKey`); S3: the HTTP method and operation kind (`PUT object`). */
  action: z.string(),
  /** The path called, without the query string. */
  target: z.string(),
  /** HTTP status of the answer: refused calls are kept too. */
  status: z.number().int(),
  sourceIp: z.string(),
  requestId: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = PageQuery.extend({
  keyId: z.string().min(1).max(32).optional(),
  /** Entries at or after this ISO 8601 time. */
  since: Instant.optional(),
}).strict();
