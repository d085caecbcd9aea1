import { invalidArgument } from '@trainyard/contracts/errors';
import { validateBucketName } from '@trainyard/core/blob/blob-address';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { FsBlobStore } from './fs-blob-store.js';

const s3Options = new Set(['endpoint', 'region', 'pathStyle']);

/**
 * Opens the blob store a URI names:
 * - `file:<folder>`: objects as files under the folder (one machine);
 * - `s3://<bucket>[/<prefix>/][?endpoint=<url>&region=<r>&pathStyle=true|false]`: one bucket of an
 *   S3-compatible service (AWS S3, MinIO, Ceph, another Trainyard), for several machines.
 *   Credentials come from the AWS SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles);
 *   the endpoint also from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
 */
export async function openBlobStore(uri: string): Promise<BlobStore> {
  if (uri.startsWith('file:')) {
    const path = uri.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalidArgument('blobs', 'file: needs a folder, e.g. file:./trainyard-data/blobs');
    return new FsBlobStore(path).init();
  }
  if (uri.startsWith('s3://')) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw invalidArgument('blobs', `"${uri}" is not a valid s3://bucket/prefix/ address`);
    }
    validateBucketName(url.hostname, 'blobs');
    for (const name of url.searchParams.keys())
      if (!s3Options.has(name))
        throw invalidArgument(
          'blobs',
          `unknown option "${name}" in "${uri}"; known: ${[...s3Options].join(', ')}`,
        );
    let prefix = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    const endpoint =
      url.searchParams.get('endpoint') ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
      throw invalidArgument('blobs', `endpoint "${endpoint}" must be http(s)://host[:port]`);
    const pathStyle = url.searchParams.get('pathStyle');
    if (pathStyle !== null && pathStyle !== 'true' && pathStyle !== 'false')
      throw invalidArgument('blobs', `pathStyle must be true or false, not "${pathStyle}"`);
    // Loaded on demand: a filesystem store never loads the AWS SDK.
    const { S3BlobStore } = await import('./s3-blob-store.js');
    return new S3BlobStore({
      bucket: url.hostname,
      prefix,
      ...(endpoint ? { endpoint } : {}),
      ...(url.searchParams.get('region') ? { region: url.searchParams.get('region') as string } : {}),
      ...(pathStyle !== null ? { forcePathStyle: pathStyle === 'true' } : {}),
    }).init();
  }
  throw invalidArgument('blobs', `"${uri}" has an unknown scheme; known: file:, s3://`);
}
