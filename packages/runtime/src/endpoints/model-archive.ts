import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { BlobStore } from '@trainyard/core/ports/blob-store';

/**
 * Extracts a model.tar.gz from the blob store into `<cacheDir>/<key>/` once; later calls reuse it.
 * Extraction goes to a temporary folder renamed into place, so a crash never leaves half a model.
 */
export async function extractModelArchive(
  blobs: BlobStore,
  uri: string,
  cacheDir: string,
  key: string,
  /** The field the URI came from, for errors. Default `ModelDataUrl`. */
  field = 'ModelDataUrl',
): Promise<string> {
  const dir = join(cacheDir, key);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const { body } = await blobs.get(parseBlobUri(uri, field));
    const tar = spawn('tar', ['-xzf', '-', '-C', tmp, '--no-same-owner'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
    await pipeline(body, tar.stdin).catch(() => undefined);
    const code = await exited;
    if (code !== 0)
      throw new Error(`${uri} is not a readable .tar.gz: ${stderr.trim() || `tar exited ${code}`}`);
    await refuseLinks(tmp, uri);
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another instance extracted the same model first.
      if (!existsSync(dir)) throw error;
      await rm(tmp, { recursive: true, force: true });
    });
    return dir;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The model server runs as the platform's own user: a symbolic link in a model archive
 * (`model.json -> <data>/master.key`) would have it read, and quote in its errors, any file it can.
 * Archives hold files and folders only.
 */
async function refuseLinks(root: string, uri: string): Promise<void> {
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) {
      const inside = join(entry.parentPath ?? entry.path, entry.name).slice(root.length + 1);
      throw new Error(
        `${uri} holds a symbolic link (${inside}); a model archive may hold only files and folders`,
      );
    }
  }
}
