/** Tables of datasets (migration 0003-datasets). Times epoch ms, documents JSON text. */
export interface DatasetsTable {
  name: string;
  description: string;
  /** Highest ready version, 0 before the first. */
  latest_version: number;
  created_at: number;
  updated_at: number;
}

export interface DatasetVersionsTable {
  dataset: string;
  version: number;
  status: string;
  document: string;
  created_at: number;
  completed_at: number | null;
}

export type DatasetTables = {
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
};
