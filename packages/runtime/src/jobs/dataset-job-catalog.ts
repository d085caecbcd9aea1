import type { DatasetDelivery } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import type { DatasetService } from '../data/dataset-service.js';

/**
 * Datasets as processing jobs see them: a version's Parquet file as an input, and a job's output
 * files imported as the next version, with the job and the input version in its lineage. The
 * service is asked for on first use, so a worker whose jobs use no dataset never opens DuckDB.
 */
export class DatasetJobCatalog implements JobDatasetCatalog {
  constructor(private readonly datasets: () => Promise<DatasetService>) {}

  async resolveVersion(
    datasetName: string,
    version?: number,
  ): Promise<{ version: number; uri: string; target?: string | undefined }> {
    const found = await (await this.datasets()).getVersion(datasetName, version ?? 'latest');
    if (found.status !== 'ready') {
      throw new TrainyardError(
        'FAILED_PRECONDITION',
        `ClientError: version ${found.version} of dataset "${datasetName}" is ${found.status}, not ready`,
        { name: datasetName, version: found.version },
      );
    }
    return { version: found.version, uri: found.uri, target: found.target };
  }

  async deliverVersion(
    datasetName: string,
    version: number | undefined,
    delivery: DatasetDelivery,
    folder: string,
  ): Promise<{ version: number; uri: string; bytes: number; target?: string | undefined }> {
    const resolved = await this.resolveVersion(datasetName, version);
    const delivered = await (await this.datasets()).deliverVersion(
      datasetName,
      resolved.version,
      delivery,
      folder,
    );
    return { version: resolved.version, uri: resolved.uri, bytes: delivered.bytes, target: resolved.target };
  }

  async registerOutput(input: {
    datasetName: string;
    uri: string;
    jobName: string;
    jobArn: string;
    parents: { datasetName: string; version: number }[];
  }): Promise<{ version: number }> {
    // The dataset lineage records one parent: a job reading several versions names the first.
    const parent = input.parents[0];
    const created = await (await this.datasets()).createVersionFromUri(input.datasetName, input.uri, {
      lineage: {
        jobName: input.jobName,
        ...(parent ? { parentDataset: parent.datasetName, parentVersion: parent.version } : {}),
      },
    });
    return { version: created.version };
  }
}
