import type { DatasetDelivery } from '@trainyard/contracts/datasets';

/**
 * What the job runner needs from datasets: where a version's files are, and registering a job's
 * output as a new version with lineage. The composition root adapts the dataset service to it.
 */
export interface JobDatasetCatalog {
  /** @throws NOT_FOUND for an unknown dataset or version */
  resolveVersion(
    datasetName: string,
    version?: number,
  ): Promise<{ version: number; uri: string; target?: string | undefined }>;
  /**
   * Writes a version into `folder` as the delivery asks (data.parquet, data.csv, data.jsonl).
   * @throws NOT_FOUND, FAILED_PRECONDITION (not ready; label-first without a target)
   */
  deliverVersion(
    datasetName: string,
    version: number | undefined,
    delivery: DatasetDelivery,
    folder: string,
  ): Promise<{ version: number; uri: string; bytes: number; target?: string | undefined }>;
  /** Imports the files under `uri` (an s3:// prefix) as the dataset's next version. */
  registerOutput(input: {
    datasetName: string;
    uri: string;
    jobName: string;
    jobArn: string;
    /** The dataset versions the job read, for lineage. */
    parents: { datasetName: string; version: number }[];
  }): Promise<{ version: number }>;
}
