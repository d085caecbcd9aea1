import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { formatBlobUri } from '@trainyard/core/blob/blob-address';
import type { BlobAddress, BlobStore } from '@trainyard/core/ports/blob-store';

/** Moves a file within the scratch folder's filesystem, copying when it lives elsewhere. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

export const safeName = (name: string) => basename(name).replace(/[^\w.-]/g, '_') || 'file';

/**
 * Local files for dataset work: scratch folders (one per operation, removed after it), sources on
 * the server's disk, and blobs staged to disk (in place on the filesystem BlobStore).
 */
export class DatasetStaging {
  readonly #blobs: BlobStore;
  readonly #workDir: string;

  constructor(blobs: BlobStore, workDir: string) {
    this.#blobs = blobs;
    this.#workDir = resolve(workDir);
  }

  /** A local copy of one blob, or the blob itself in place; call release() when done. */
  async stageFile(address: BlobAddress): Promise<{ path: string; release(): Promise<void> }> {
    if (this.#blobs.localPath) return { path: await this.#blobs.localPath(address), release: async () => {} };
    const dir = join(this.#workDir, randomUUID());
    await mkdir(dir, { recursive: true });
    const path = join(dir, basename(address.key) || 'data');
    const { body } = await this.#blobs.get(address);
    await pipeline(body, createWriteStream(path));
    return { path, release: () => rm(dir, { recursive: true, force: true }) };
  }

  async scratch<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = join(this.#workDir, randomUUID());
    await mkdir(dir, { recursive: true });
    try {
      return await work(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async localFiles(path: string): Promise<string[]> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new TrainyardError('NOT_FOUND', `source: file ${path} does not exist`, { field: 'source' });
    }
    if (info.isFile()) return [path];
    const files = (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => join(path, e.name))
      .sort();
    if (files.length === 0) throw invalidArgument('source', `folder ${path} holds no files`);
    return files;
  }

  /** Local paths of the objects at an address (one object, or every object under a prefix). */
  async stageObjects(address: BlobAddress, dir: string): Promise<string[]> {
    const keys: string[] = [];
    if (address.key === '' || address.key.endsWith('/')) {
      let pageToken: string | undefined;
      do {
        const page = await this.#blobs.list(address.bucket, { prefix: address.key, pageToken, limit: 1000 });
        for (const item of page.items) if (!item.key.endsWith('/') && item.size > 0) keys.push(item.key);
        pageToken = page.nextPageToken;
      } while (pageToken);
      if (keys.length === 0) {
        throw new TrainyardError('NOT_FOUND', `source: no objects under ${formatBlobUri(address)}`, {
          field: 'source',
        });
      }
    } else keys.push(address.key);
    const paths: string[] = [];
    for (const [i, key] of keys.entries()) {
      const object = { bucket: address.bucket, key };
      if (this.#blobs.localPath) paths.push(await this.#blobs.localPath(object));
      else {
        const path = join(dir, `${i}-${safeName(key)}`);
        const { body } = await this.#blobs.get(object);
        await pipeline(body, createWriteStream(path));
        paths.push(path);
      }
    }
    return paths;
  }
}
