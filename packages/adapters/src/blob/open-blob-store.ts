import { invalidArgument } from '@trainyard/contracts/errors';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { FsBlobStore } from './fs-blob-store.js';

/** Opens the blob store a URI names. Known: `file:<folder>`. */
export async function openBlobStore(uri: string): Promise<BlobStore> {
  if (uri.startsWith('file:')) {
    const path = uri.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalidArgument('blobs', 'file: needs a folder, e.g. file:./trainyard-data/blobs');
    return new FsBlobStore(path).init();
  }
  throw invalidArgument('blobs', `"${uri}" has an unknown scheme; known: file:`);
}
