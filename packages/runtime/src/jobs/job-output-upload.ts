import { constants } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { formatBlobUri, parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { BlobStore } from '@trainyard/core/ports/blob-store';

/**
 * Regular files under `dir`, depth first. Symlinks (to files or folders) are never followed: a
 * job could point one at the master key or /etc/shadow, and this upload runs as the server.
 */
async function* filesUnder(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

export interface UploadedOutput {
  /** The prefix written, with its trailing slash. */
  uri: string;
  objects: number;
  bytes: number;
}

/**
 * Uploads every file under `source` to the s3:// prefix `uri` keeping relative paths: a job's
 * output folder at the end of the job (SageMaker's EndOfJob upload), for every job kind.
 */
export async function uploadJobOutput(
  blobs: BlobStore,
  source: string,
  uri: string,
  field: string,
  signal: AbortSignal,
): Promise<UploadedOutput> {
  const address = parseBlobUri(uri, field);
  const prefix = address.key === '' || address.key.endsWith('/') ? address.key : `${address.key}/`;
  let objects = 0;
  let bytes = 0;
  for await (const file of filesUnder(source)) {
    signal.throwIfAborted();
    const key = prefix + relative(source, file).split(sep).join('/');
    // O_NOFOLLOW: a file swapped for a symlink after the listing (by a process the job left behind)
    // fails to open instead of being read through the link.
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') continue;
      throw error;
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      continue;
    }
    const size = info.size;
    await blobs.put({ bucket: address.bucket, key }, handle.createReadStream());
    objects++;
    bytes += size;
  }
  return { uri: formatBlobUri({ bucket: address.bucket, key: prefix }), objects, bytes };
}
