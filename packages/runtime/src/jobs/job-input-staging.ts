import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DatasetDelivery } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';
import { parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { JobDatasetCatalog } from '@trainyard/core/jobs/job-dataset-catalog';
import type { BlobStore } from '@trainyard/core/ports/blob-store';

/** Where a job input comes from: an s3:// prefix, or a dataset version (latest when absent). */
export type JobInputSource =
  | { type: 's3'; uri: string; field: string }
  | {
      type: 'dataset';
      datasetName: string;
      version?: number | undefined;
      /** The file format the job reads (Parquet as stored when absent). */
      delivery?: DatasetDelivery | undefined;
    };

export interface StagedInput {
  uri: string;
  objects: number;
  bytes: number;
  /** For a dataset input: the version read (for the lineage of what the job writes) and its target column. */
  dataset?: { datasetName: string; version: number; target?: string | undefined };
}

/**
 * Copies a job's inputs into its working folder, for every job kind: an S3Prefix keeps key paths
 * relative to the prefix's folder (`s3://b/raw/` → `raw/x.csv` lands as `x.csv`), a dataset
 * version is resolved to its files first.
 */
export class JobInputStager {
  constructor(
    private readonly blobs: BlobStore,
    private readonly datasets: JobDatasetCatalog | undefined,
  ) {}

  /** @throws FAILED_PRECONDITION for a dataset input on a worker without datasets */
  async stage(source: JobInputSource, target: string, signal: AbortSignal): Promise<StagedInput> {
    if (source.type === 's3')
      return { uri: source.uri, ...(await this.#download(source.uri, source.field, target, signal)) };
    if (!this.datasets) {
      throw new TrainyardError('FAILED_PRECONDITION', 'datasets are not available on this worker');
    }
    if (source.delivery && source.delivery.format !== 'parquet') {
      const delivered = await this.datasets.deliverVersion(
        source.datasetName,
        source.version,
        source.delivery,
        target,
      );
      return {
        uri: delivered.uri,
        objects: 1,
        bytes: delivered.bytes,
        dataset: { datasetName: source.datasetName, version: delivered.version, target: delivered.target },
      };
    }
    const resolved = await this.datasets.resolveVersion(source.datasetName, source.version);
    const copied = await this.#download(resolved.uri, 'DatasetInput', target, signal);
    return {
      uri: resolved.uri,
      ...copied,
      dataset: { datasetName: source.datasetName, version: resolved.version, target: resolved.target },
    };
  }

  async #download(
    uri: string,
    field: string,
    target: string,
    signal: AbortSignal,
  ): Promise<{ objects: number; bytes: number }> {
    const address = parseBlobUri(uri, field);
    const folder = address.key.slice(0, address.key.lastIndexOf('/') + 1);
    await mkdir(target, { recursive: true });
    let objects = 0;
    let bytes = 0;
    let pageToken: string | undefined;
    do {
      const page = await this.blobs.list(address.bucket, {
        prefix: address.key,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const info of page.items) {
        if (info.key.endsWith('/')) continue;
        const dest = join(target, ...info.key.slice(folder.length).split('/'));
        if (relative(target, dest).startsWith('..')) continue;
        await mkdir(dirname(dest), { recursive: true });
        const { body } = await this.blobs.get({ bucket: address.bucket, key: info.key });
        await pipeline(body, createWriteStream(dest), { signal });
        objects++;
        bytes += info.size;
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return { objects, bytes };
  }
}
