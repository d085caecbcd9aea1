import type {
  ModelApprovalStatus,
  ModelPackage,
  ModelPackageGroup,
} from '@trainyard/contracts/model-packages';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/** Filters of a package listing; groups and approval statuses match exactly (groups ignoring case). */
export interface ModelPackageFilter extends PageRequest {
  group?: string | undefined;
  approvalStatus?: ModelApprovalStatus | undefined;
  /** By group then version, newest version first when descending. */
  descending?: boolean | undefined;
}

/** A group listing: by name (default) or creation time, ascending unless said. */
export interface ModelPackageGroupFilter extends PageRequest {
  nameContains?: string | undefined;
  sortBy?: 'Name' | 'CreationTime' | undefined;
  descending?: boolean | undefined;
}

/**
 * Model package groups and their numbered package versions. Group names are unique ignoring
 * case (their ARNs are lowercased); a version number is never handed out twice in a group.
 */
export interface ModelPackageStore {
  /** @throws ALREADY_EXISTS */
  createGroup(group: ModelPackageGroup): Promise<ModelPackageGroup>;
  /** @throws NOT_FOUND */
  getGroup(name: string): Promise<ModelPackageGroup>;
  listGroups(filter?: ModelPackageGroupFilter): Promise<Page<ModelPackageGroup>>;
  /** @throws NOT_FOUND, FAILED_PRECONDITION (the group still holds packages) */
  deleteGroup(name: string): Promise<void>;

  /**
   * Takes the group's next version atomically (two concurrent calls never get the same one) and
   * stores `make(version, groupName)` as that version.
   * @throws NOT_FOUND (no such group)
   */
  createPackage(
    group: string,
    make: (version: number, groupName: string) => ModelPackage,
  ): Promise<ModelPackage>;
  /** @throws NOT_FOUND */
  getPackage(group: string, version: number): Promise<ModelPackage>;
  /** By group name then version. */
  listPackages(filter?: ModelPackageFilter): Promise<Page<ModelPackage>>;
  /**
   * Replaces a package when it is still as `expected` was read (its LastModifiedTime).
   * @throws NOT_FOUND, CONFLICT (changed meanwhile)
   */
  replacePackage(expected: ModelPackage, next: ModelPackage): Promise<ModelPackage>;
  /** @throws NOT_FOUND */
  deletePackage(group: string, version: number): Promise<void>;
}
