/** Tables of migration 0013-registry. Times epoch ms, documents JSON text. */
export interface ModelPackageGroupsTable {
  /** The lowercased name: groups are unique ignoring case. */
  name_key: string;
  name: string;
  latest_version: number;
  document: string;
  created_at: number;
}

export interface ModelPackagesTable {
  group_key: string;
  version: number;
  approval_status: string;
  document: string;
  created_at: number;
  updated_at: number;
}

export type RegistryTables = {
  model_package_groups: ModelPackageGroupsTable;
  model_packages: ModelPackagesTable;
};
