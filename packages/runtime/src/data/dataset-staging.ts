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
    // One folder per process: a process starting on the same data folder can tell its own
    // leftovers (a dead process's folder) from another live process's work ({@link sweepScratch}).
    this.#workDir = join(resolve(workDir), String(process.pid));
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes scratch left by processes that ended without cleaning up (a crash, a kill, a shutdown
 * that cut an upload off): every per-process folder under `workDir` whose process is gone, and
 * anything else there. Run at start, before this process stages anything. Returns how many
 * entries were removed.
 */
export async function sweepScratch(workDir: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(workDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    const pid = /^\d+$/.test(entry) ? Number(entry) : undefined;
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) continue;
    await rm(join(workDir, entry), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
