import type { Dataset, DatasetVersion } from '@trainyard/contracts/datasets';
import type { Page } from '@trainyard/contracts/pagination';
import type { PageRequest } from './metadata-store.js';

/** Fields a finished version gets; the number, dataset and creation time are fixed at reservation. */
export type CompletedVersion = Omit<
  DatasetVersion,
  'dataset' | 'version' | 'status' | 'createdAt' | 'failure'
>;

/**
 * Datasets and their immutable, numbered versions in the metadata database. A version is
 * reserved first (status `creating`, next free number), then completed (`ready`) or failed;
 * only the reservation's writer may complete it, and a ready version never changes.
 */
export interface DatasetStore {
  /** Creates the dataset when missing; returns it either way. */
  ensure(name: string, description?: string): Promise<Dataset>;
  /** @throws NOT_FOUND */
  get(name: string): Promise<Dataset>;
  list(page?: PageRequest): Promise<Page<Dataset>>;
  /** Takes the next version number (1, 2, …) of `name`, creating the dataset when needed. */
  reserveVersion(name: string, lineage: DatasetVersion['lineage']): Promise<DatasetVersion>;
  /** @throws FAILED_PRECONDITION when the version is not `creating` */
  completeVersion(name: string, version: number, fields: CompletedVersion): Promise<DatasetVersion>;
  failVersion(name: string, version: number, failure: { code: string; message: string }): Promise<void>;
  /** @throws NOT_FOUND; `latest` is the highest ready version. */
  getVersion(name: string, version: number | 'latest'): Promise<DatasetVersion>;
  /** Newest first; deleted versions are left out. */
  listVersions(name: string, page?: PageRequest): Promise<Page<DatasetVersion>>;
  /** Versions (of any dataset) whose lineage names `name` (version `version`, or any) as parent. */
  versionsDerivedFrom(name: string, version?: number): Promise<{ dataset: string; version: number }[]>;
  /** The newest ready version of `name` created from this source (`sourceHash`), if any. */
  findBySource(name: string, sourceHash: string): Promise<DatasetVersion | undefined>;
  /** Marks a version deleted (its number is not reused); `latestVersion` falls back to the highest ready one. */
  deleteVersion(name: string, version: number): Promise<void>;
  /** Removes a dataset and all its versions. */
  deleteDataset(name: string): Promise<void>;
}
