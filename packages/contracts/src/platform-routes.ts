import { z } from 'zod';
import {
  AccessKey,
  AuditEntry,
  AuditQuery,
  CreatedKey,
  CreateKeyBody,
  RotateKeyBody,
  WhoAmI,
} from './access-keys.js';
import { InstanceType, InstanceTypeRecord, UpdateInstanceTypeBody } from './instance-types.js';
import { PageQuery, pageOf } from './pagination.js';
import { defineRoute } from './route.js';

const ByName = z.object({ name: z.string().min(1).max(256) });
const ById = z.object({ id: z.string().min(1).max(128) });
const Ok = z.object({ ok: z.literal(true) });

/** Routes of the platform core: access keys and the hardware catalog. */
export const platformRoutes = {
  whoami: defineRoute({
    method: 'GET',
    path: '/api/v1/whoami',
    // Every key may learn its own id and role (viewers need the id for the S3 door).
    access: 'any',
    summary: 'The access key making the call',
    tag: 'keys',
    response: WhoAmI,
  }),
  listKeys: defineRoute({
    method: 'GET',
    path: '/api/v1/keys',
    access: 'admin',
    summary: 'List access keys (secrets are never returned)',
    tag: 'keys',
    query: PageQuery,
    response: pageOf(AccessKey),
  }),
  createKey: defineRoute({
    method: 'POST',
    path: '/api/v1/keys',
    access: 'admin',
    summary: 'Create an access key; its secret is shown only in this response',
    tag: 'keys',
    body: CreateKeyBody,
    response: CreatedKey,
    status: 201,
  }),
  revokeKey: defineRoute({
    method: 'DELETE',
    path: '/api/v1/keys/:id',
    access: 'admin',
    summary: 'Revoke an access key; calls made with it fail from now on',
    tag: 'keys',
    params: ById,
    response: AccessKey,
  }),
  rotateKey: defineRoute({
    method: 'POST',
    path: '/api/v1/keys/:id/rotate',
    access: 'admin',
    summary: 'Give a key a new secret (shown only in this response); the old one works for graceSeconds more',
    tag: 'keys',
    params: ById,
    body: RotateKeyBody,
    response: CreatedKey,
  }),
  listAuditLog: defineRoute({
    method: 'GET',
    path: '/api/v1/audit-log',
    access: 'admin',
    summary: 'Mutating calls of every door, newest first: who, what, when, from where, and the answer',
    tag: 'keys',
    query: AuditQuery,
    response: pageOf(AuditEntry),
  }),
  listInstanceTypes: defineRoute({
    method: 'GET',
    path: '/api/v1/instance-types',
    access: 'read',
    summary: 'List the hardware catalog',
    tag: 'instance-types',
    query: PageQuery,
    response: pageOf(InstanceTypeRecord),
  }),
  getInstanceType: defineRoute({
    method: 'GET',
    path: '/api/v1/instance-types/:name',
    access: 'read',
    summary: 'Describe one instance type',
    tag: 'instance-types',
    params: ByName,
    response: InstanceTypeRecord,
  }),
  createInstanceType: defineRoute({
    method: 'POST',
    path: '/api/v1/instance-types',
    access: 'admin',
    summary: 'Add an instance type to the catalog',
    tag: 'instance-types',
    body: InstanceType.strict(),
    response: InstanceTypeRecord,
    status: 201,
  }),
  updateInstanceType: defineRoute({
    method: 'PATCH',
    path: '/api/v1/instance-types/:name',
    access: 'admin',
    summary: 'Change an instance type; with expectedVersion, refuses to overwrite a newer change',
    tag: 'instance-types',
    params: ByName,
    body: UpdateInstanceTypeBody,
    response: InstanceTypeRecord,
  }),
  deleteInstanceType: defineRoute({
    method: 'DELETE',
    path: '/api/v1/instance-types/:name',
    access: 'admin',
    summary: 'Remove an instance type from the catalog',
    tag: 'instance-types',
    params: ByName,
    response: Ok,
  }),
};
