import { z } from 'zod';
import {
  CreateModelPackageBody,
  CreateModelPackageGroupBody,
  Lineage,
  LineageQuery,
  ModelApprovalStatus,
  ModelPackage,
  ModelPackageGroup,
  ModelPackageGroupName,
  ModelPackageSummary,
  UpdateModelPackageBody,
} from './model-packages.js';
import { PageQuery, pageOf } from './pagination.js';
import { defineRoute } from './route.js';

const ByGroup = z.object({ group: ModelPackageGroupName });
const ByVersion = z.object({
  group: ModelPackageGroupName,
  version: z.coerce.number().int().min(1).max(999_999_999),
});
const Deleted = z.object({ deleted: z.literal(true) });

/**
 * The model registry: groups, numbered package versions, approval and lineage. Approving and
 * rejecting is a write (admin, developer); every decision is kept with who, when and why.
 */
export const registryRoutes = {
  createModelPackageGroup: defineRoute({
    method: 'POST',
    path: '/api/v1/model-package-groups',
    access: 'write',
    summary: 'Create a model package group: the versions of one model',
    tag: 'registry',
    body: CreateModelPackageGroupBody,
    response: ModelPackageGroup,
    status: 201,
  }),
  listModelPackageGroups: defineRoute({
    method: 'GET',
    path: '/api/v1/model-package-groups',
    access: 'read',
    summary: 'List model package groups by name',
    tag: 'registry',
    query: PageQuery.extend({
      nameContains: z
        .string()
        .max(63)
        .regex(/^[a-zA-Z0-9-]+$/, 'use letters, digits and "-"')
        .optional(),
      sortBy: z.enum(['Name', 'CreationTime']).default('Name'),
      sortOrder: z.enum(['Ascending', 'Descending']).default('Ascending'),
    }),
    response: pageOf(ModelPackageGroup),
  }),
  describeModelPackageGroup: defineRoute({
    method: 'GET',
    path: '/api/v1/model-package-groups/:group',
    access: 'read',
    summary: 'Describe a model package group',
    tag: 'registry',
    params: ByGroup,
    response: ModelPackageGroup,
  }),
  deleteModelPackageGroup: defineRoute({
    method: 'DELETE',
    path: '/api/v1/model-package-groups/:group',
    access: 'write',
    summary: 'Delete a model package group that holds no package',
    tag: 'registry',
    params: ByGroup,
    response: Deleted,
  }),
  createModelPackage: defineRoute({
    method: 'POST',
    path: '/api/v1/model-packages',
    access: 'write',
    summary:
      'Register the next version of a group: containers given, or made from a training job (metrics, evaluation and lineage attached)',
    tag: 'registry',
    body: CreateModelPackageBody,
    response: ModelPackage,
    status: 201,
  }),
  listModelPackages: defineRoute({
    method: 'GET',
    path: '/api/v1/model-packages',
    access: 'read',
    summary: 'List package versions, by group then version; filter by group and approval status',
    tag: 'registry',
    query: PageQuery.extend({
      group: ModelPackageGroupName.optional(),
      approvalStatus: ModelApprovalStatus.optional(),
      sortOrder: z.enum(['Ascending', 'Descending']).default('Ascending'),
    }),
    response: pageOf(ModelPackageSummary),
  }),
  describeModelPackage: defineRoute({
    method: 'GET',
    path: '/api/v1/model-packages/:group/:version',
    access: 'read',
    summary: 'Describe one package version: containers, approval history, metrics, source job',
    tag: 'registry',
    params: ByVersion,
    response: ModelPackage,
  }),
  updateModelPackage: defineRoute({
    method: 'POST',
    path: '/api/v1/model-packages/:group/:version/update',
    access: 'write',
    summary: 'Approve or reject a package version (with a reason), or change its metadata',
    tag: 'registry',
    params: ByVersion,
    body: UpdateModelPackageBody,
    response: ModelPackage,
  }),
  deleteModelPackage: defineRoute({
    method: 'DELETE',
    path: '/api/v1/model-packages/:group/:version',
    access: 'write',
    summary: 'Delete a package version; models made from it keep their copied container',
    tag: 'registry',
    params: ByVersion,
    response: Deleted,
  }),
  lineage: defineRoute({
    method: 'GET',
    path: '/api/v1/lineage',
    access: 'read',
    summary:
      'Lineage both ways from a dataset, training job, model package, model or endpoint: dataset version -> job -> package -> model -> endpoint',
    tag: 'registry',
    query: LineageQuery,
    response: Lineage,
  }),
};
