import { TrainyardError } from '@trainyard/contracts/errors';
import type { Actor, ModelPackage, ModelPackageGroup } from '@trainyard/contracts/model-packages';
import type { DoorServices } from '../door-services.js';
import { SageMakerError } from './sagemaker-error.js';
import type { SageMakerOperation } from './sagemaker-operations.js';

type Json = Record<string, unknown>;

function epochSeconds(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Date.parse(iso) / 1000;
}

function defined(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function notSupported(member: string, why: string): SageMakerError {
  return new SageMakerError('ValidationException', 400, `${member} is not supported by Trainyard: ${why}`);
}

/** SageMaker answers a name it does not know with a ValidationException "Could not find …". */
async function orCouldNotFind<T>(what: string, name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (TrainyardError.is(error, 'NOT_FOUND'))
      throw new SageMakerError('ValidationException', 400, `Could not find ${what} with name ${name}`);
    throw error;
  }
}

/** A group's name from its name or ARN (`…:model-package-group/<name>`). */
function groupName(nameOrArn: string): string {
  const at = nameOrArn.lastIndexOf('/');
  return nameOrArn.startsWith('arn:') && at >= 0 ? nameOrArn.slice(at + 1) : nameOrArn;
}

/** `<group>/<version>` of a versioned package name or ARN; undefined for an unversioned name. */
function versionedRef(nameOrArn: string): { group: string; version: number } | undefined {
  const match = /(?:^|\/)([a-zA-Z0-9-]{1,63})\/([0-9]{1,9})$/.exec(nameOrArn);
  if (!match) return undefined;
  if (nameOrArn.startsWith('arn:') && !/:model-package\/[^/]+\/[0-9]+$/.test(nameOrArn)) return undefined;
  return { group: match[1] as string, version: Number(match[2]) };
}

/** A Trainyard key as SageMaker's UserContext (there are no Studio user profiles here). */
function userContext(actor: Actor): Json {
  return { UserProfileName: actor.KeyName };
}

function describedGroup(group: ModelPackageGroup): Json {
  return defined({
    ModelPackageGroupName: group.ModelPackageGroupName,
    ModelPackageGroupArn: group.ModelPackageGroupArn,
    ModelPackageGroupDescription: group.ModelPackageGroupDescription,
    CreationTime: epochSeconds(group.CreationTime),
    CreatedBy: userContext(group.CreatedBy),
    ModelPackageGroupStatus: group.ModelPackageGroupStatus,
  });
}

function describedPackage(pkg: ModelPackage): Json {
  const spec = pkg.InferenceSpecification;
  return defined({
    ModelPackageName: pkg.ModelPackageName,
    ModelPackageGroupName: pkg.ModelPackageGroupName,
    ModelPackageVersion: pkg.ModelPackageVersion,
    ModelPackageArn: pkg.ModelPackageArn,
    ModelPackageDescription: pkg.ModelPackageDescription,
    CreationTime: epochSeconds(pkg.CreationTime),
    InferenceSpecification: defined({
      Containers: spec.Containers.map((c) =>
        defined({ Image: c.Image, ModelDataUrl: c.ModelDataUrl, Environment: c.Environment }),
      ),
      SupportedContentTypes: spec.SupportedContentTypes ?? [],
      SupportedResponseMIMETypes: spec.SupportedResponseMIMETypes ?? [],
      SupportedRealtimeInferenceInstanceTypes: spec.SupportedRealtimeInferenceInstanceTypes,
    }),
    ModelPackageStatus: pkg.ModelPackageStatus,
    ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
    CertifyForMarketplace: false,
    ModelApprovalStatus: pkg.ModelApprovalStatus,
    CreatedBy: userContext(pkg.CreatedBy),
    ModelMetrics: pkg.ModelMetrics,
    LastModifiedTime: epochSeconds(pkg.LastModifiedTime),
    LastModifiedBy: userContext(pkg.LastModifiedBy),
    ApprovalDescription: pkg.ApprovalDescription,
    CustomerMetadataProperties: pkg.CustomerMetadataProperties,
    Domain: pkg.Domain,
    Task: pkg.Task,
  });
}

/** Only the default order and the one the native list can also give. */
function sortOf(input: Json): { descending: boolean } {
  for (const member of ['CreationTimeAfter', 'CreationTimeBefore']) {
    if (input[member] !== undefined) throw notSupported(member, 'filter by name, or page through the list');
  }
  return { descending: input.SortOrder === 'Descending' };
}

/**
 * The model registry's SageMaker operations, mapped onto ModelPackageService (the REST API's
 * service). Packages are versioned only: an unversioned `ModelPackageName` is refused.
 */
export function sageMakerRegistryOperations({
  modelPackages,
}: Pick<DoorServices, 'modelPackages'>): Record<string, SageMakerOperation> {
  const describeGroup = (nameOrArn: string) => {
    const name = groupName(nameOrArn);
    return orCouldNotFind('model package group', name, () => modelPackages.describeGroup(name));
  };
  const describePackage = (nameOrArn: string) => {
    const ref = versionedRef(nameOrArn);
    if (!ref)
      throw new SageMakerError(
        'ValidationException',
        400,
        `Could not find model package with name ${nameOrArn}`,
      );
    return orCouldNotFind('model package', nameOrArn, () =>
      modelPackages.describePackage(ref.group, ref.version),
    );
  };
  return {
    CreateModelPackageGroup: {
      access: 'write',
      summary: 'model package group create (`Tags` kept); ResourceInUse on a taken name',
      async handle(input, caller) {
        const group = await modelPackages.createGroup(
          defined({
            ModelPackageGroupName: input.ModelPackageGroupName,
            ModelPackageGroupDescription: input.ModelPackageGroupDescription,
            Tags: input.Tags,
          }),
          caller.principal,
        );
        return { ModelPackageGroupArn: group.ModelPackageGroupArn };
      },
    },
    DescribeModelPackageGroup: {
      access: 'read',
      summary:
        'model package group describe by name or ARN; a missing group is ValidationException "Could not find …"',
      async handle(input) {
        return describedGroup(await describeGroup(input.ModelPackageGroupName as string));
      },
    },
    ListModelPackageGroups: {
      access: 'read',
      summary:
        'model package group list: `NameContains`, `SortBy` Name | CreationTime, `SortOrder`, `MaxResults`/`NextToken` (creation-time bounds refused)',
      async handle(input) {
        const page = await modelPackages.listGroups({
          limit: (input.MaxResults as number | undefined) ?? 10,
          pageToken: input.NextToken as string | undefined,
          nameContains: input.NameContains as string | undefined,
          sortBy: input.SortBy === 'Name' ? 'Name' : 'CreationTime',
          ...sortOf(input),
        });
        return defined({
          ModelPackageGroupSummaryList: page.items.map((g) =>
            defined({
              ModelPackageGroupName: g.ModelPackageGroupName,
              ModelPackageGroupArn: g.ModelPackageGroupArn,
              ModelPackageGroupDescription: g.ModelPackageGroupDescription,
              CreationTime: epochSeconds(g.CreationTime),
              ModelPackageGroupStatus: g.ModelPackageGroupStatus,
            }),
          ),
          NextToken: page.nextPageToken,
        });
      },
    },
    DeleteModelPackageGroup: {
      access: 'write',
      summary: 'model package group delete; refused (ValidationException) while it holds packages',
      async handle(input) {
        const name = groupName(input.ModelPackageGroupName as string);
        await orCouldNotFind('model package group', name, () => modelPackages.deleteGroup(name));
        return {};
      },
    },
    CreateModelPackage: {
      access: 'write',
      summary:
        'model package create: the next version of `ModelPackageGroupName` with `InferenceSpecification` (the first container is what CreateModel serves), `ModelApprovalStatus`, `ModelMetrics`, `CustomerMetadataProperties`; `ClientToken` makes retries return the same version; unversioned packages, `SourceAlgorithmSpecification`, `ValidationSpecification`, `AdditionalInferenceSpecifications`, `DriftCheckBaselines` refused',
      async handle(input, caller) {
        if (input.ModelPackageName !== undefined)
          throw notSupported('ModelPackageName', 'only versioned packages: give ModelPackageGroupName');
        if (input.ModelPackageGroupName === undefined)
          throw new SageMakerError(
            'ValidationException',
            400,
            "Value null at 'modelPackageGroupName' failed to satisfy constraint: Member must not be null",
          );
        for (const member of [
          'SourceAlgorithmSpecification',
          'ValidationSpecification',
          'AdditionalInferenceSpecifications',
          'DriftCheckBaselines',
        ]) {
          if (input[member] !== undefined)
            throw notSupported(member, 'there are no algorithm resources or drift checks here');
        }
        if (input.CertifyForMarketplace === true)
          throw notSupported('CertifyForMarketplace', 'there is no marketplace');
        const spec = input.InferenceSpecification as Json | undefined;
        const pkg = await modelPackages.createPackage(
          defined({
            ModelPackageGroupName: groupName(input.ModelPackageGroupName as string),
            ModelPackageDescription: input.ModelPackageDescription,
            InferenceSpecification: spec
              ? defined({
                  Containers: (spec.Containers as Json[]).map((c) =>
                    defined({ Image: c.Image, ModelDataUrl: c.ModelDataUrl, Environment: c.Environment }),
                  ),
                  SupportedContentTypes: spec.SupportedContentTypes,
                  SupportedResponseMIMETypes: spec.SupportedResponseMIMETypes,
                  SupportedRealtimeInferenceInstanceTypes: spec.SupportedRealtimeInferenceInstanceTypes,
                })
              : undefined,
            ModelApprovalStatus: input.ModelApprovalStatus,
            ModelMetrics: input.ModelMetrics,
            CustomerMetadataProperties: input.CustomerMetadataProperties,
            Domain: input.Domain,
            Task: input.Task,
            Tags: input.Tags,
            ClientToken: input.ClientToken,
          }),
          caller.principal,
        );
        return { ModelPackageArn: pkg.ModelPackageArn };
      },
    },
    DescribeModelPackage: {
      access: 'read',
      summary:
        'model package describe by ARN or `<group>/<version>`; a missing package is ValidationException "Could not find …"',
      async handle(input) {
        return describedPackage(await describePackage(input.ModelPackageName as string));
      },
    },
    ListModelPackages: {
      access: 'read',
      summary:
        'model package list: versions of `ModelPackageGroupName` (or every group with `ModelPackageType` Versioned | Both; none are Unversioned), `ModelApprovalStatus`, `SortOrder`, `MaxResults`/`NextToken` (creation-time bounds, `NameContains` without a group refused)',
      async handle(input) {
        const group = input.ModelPackageGroupName as string | undefined;
        const type = (input.ModelPackageType as string | undefined) ?? (group ? 'Versioned' : 'Unversioned');
        if (input.NameContains !== undefined && group === undefined)
          throw notSupported(
            'NameContains',
            'versioned packages are named by their group: give ModelPackageGroupName',
          );
        const { descending } = sortOf(input);
        // Trainyard holds only versioned packages: the default (Unversioned) list is empty.
        if (type === 'Unversioned') return { ModelPackageSummaryList: [] };
        const page = await modelPackages.listPackages({
          limit: (input.MaxResults as number | undefined) ?? 10,
          pageToken: input.NextToken as string | undefined,
          group: group === undefined ? undefined : groupName(group),
          approvalStatus: input.ModelApprovalStatus as ModelPackage['ModelApprovalStatus'] | undefined,
          descending,
        });
        return defined({
          ModelPackageSummaryList: page.items.map((p) =>
            defined({
              ModelPackageName: p.ModelPackageName,
              ModelPackageGroupName: p.ModelPackageGroupName,
              ModelPackageVersion: p.ModelPackageVersion,
              ModelPackageArn: p.ModelPackageArn,
              ModelPackageDescription: p.ModelPackageDescription,
              CreationTime: epochSeconds(p.CreationTime),
              ModelPackageStatus: p.ModelPackageStatus,
              ModelApprovalStatus: p.ModelApprovalStatus,
            }),
          ),
          NextToken: page.nextPageToken,
        });
      },
    },
    UpdateModelPackage: {
      access: 'write',
      summary:
        'model package update: `ModelApprovalStatus` with `ApprovalDescription` (who and when are recorded), `CustomerMetadataProperties`, `CustomerMetadataPropertiesToRemove`',
      async handle(input, caller) {
        if (input.AdditionalInferenceSpecificationsToAdd !== undefined)
          throw notSupported(
            'AdditionalInferenceSpecificationsToAdd',
            'a package has one inference specification',
          );
        const arn = input.ModelPackageArn as string;
        const pkg = await describePackage(arn);
        const updated = await modelPackages.updatePackage(
          pkg.ModelPackageGroupName,
          pkg.ModelPackageVersion,
          defined({
            ModelApprovalStatus: input.ModelApprovalStatus,
            ApprovalDescription: input.ApprovalDescription,
            CustomerMetadataProperties: input.CustomerMetadataProperties,
            CustomerMetadataPropertiesToRemove: input.CustomerMetadataPropertiesToRemove,
          }),
          caller.principal,
        );
        return { ModelPackageArn: updated.ModelPackageArn };
      },
    },
    DeleteModelPackage: {
      access: 'write',
      summary: 'model package delete by ARN or `<group>/<version>`; models made from it keep their copy',
      async handle(input) {
        const name = input.ModelPackageName as string;
        const pkg = await describePackage(name);
        await modelPackages.deletePackage(pkg.ModelPackageGroupName, pkg.ModelPackageVersion);
        return {};
      },
    },
  };
}
