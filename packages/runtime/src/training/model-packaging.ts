import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { formatBlobUri, parseBlobUri } from '@trainyard/core/blob/blob-address';
import type { BlobStore } from '@trainyard/core/ports/blob-store';

const run = promisify(execFile);

/**
 * Packs the files of `dir` into a gzipped tar at `outFile` with names relative to `dir` (no `./`),
 * as SageMaker packs /opt/ml/model into model.tar.gz. An empty folder gives an empty archive.
 */
export async function packDirectory(dir: string, outFile: string): Promise<void> {
  const entries = (await readdir(dir).catch(() => [] as string[])).sort();
  await mkdir(dirname(outFile), { recursive: true });
  // GNU tar refuses to create an empty archive from an empty list; an empty file list is fine.
  const files = entries.length > 0 ? ['--', ...entries] : ['-T', '/dev/null'];
  await run('tar', ['-czf', outFile, '-C', dir, ...files], { maxBuffer: 1 << 20 });
}

/**
 * Packs the folders of every instance of a job into one archive, as SageMaker aggregates
 * /opt/ml/model (and /opt/ml/output/data) of all hosts. Scripts are told to avoid name clashes;
 * on one the file of the lower-numbered host is kept. `mergeDir` is a scratch folder.
 * @returns the relative paths that clashed (later hosts' copies were left out)
 */
export async function packHostDirectories(
  dirs: string[],
  outFile: string,
  mergeDir: string,
): Promise<string[]> {
  if (dirs.length === 1) {
    await packDirectory(dirs[0]!, outFile);
    return [];
  }
  const kept = new Set<string>();
  const clashes: string[] = [];
  for (const dir of dirs) {
    for await (const file of filesUnder(dir)) {
      const path = relative(dir, file);
      if (kept.has(path)) {
        clashes.push(path);
        continue;
      }
      kept.add(path);
      await mkdir(dirname(join(mergeDir, path)), { recursive: true });
      await copyFile(file, join(mergeDir, path));
    }
  }
  await packDirectory(mergeDir, outFile);
  return clashes;
}

/** Unpacks a .tar.gz into `dir`; GNU tar drops absolute paths and `..` members. */
export async function unpackArchive(file: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', file, '-C', dir, '--no-same-owner', '--no-same-permissions'], {
    maxBuffer: 1 << 20,
  });
}

/** True when `dir` holds at least one file (at any depth). */
export async function hasFiles(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.isFile()) return true;
    if (e.isDirectory() && (await hasFiles(join(dir, e.name)))) return true;
  }
  return false;
}

export async function* filesUnder(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

/** Uploads one file to an `s3://bucket/key`. */
export async function uploadFile(
  blobs: BlobStore,
  file: string,
  uri: string,
  field: string,
): Promise<number> {
  const address = parseBlobUri(uri, field);
  const size = (await stat(file)).size;
  await blobs.put(address, createReadStream(file));
  return size;
}

/**
 * Mirrors a local folder to an `s3://` prefix: files new or changed since the last call (by size
 * and mtime) are uploaded. Used for CheckpointConfig while a job runs and once at its end.
 */
export class FolderSync {
  readonly #seen = new Map<string, string>();
  constructor(
    private readonly blobs: BlobStore,
    private readonly dir: string,
    private readonly uri: string,
  ) {}

  async sync(): Promise<number> {
    const address = parseBlobUri(this.uri, 'CheckpointConfig.S3Uri');
    const prefix = address.key === '' || address.key.endsWith('/') ? address.key : `${address.key}/`;
    let uploaded = 0;
    for await (const file of filesUnder(this.dir)) {
      const rel = relative(this.dir, file).split(sep).join('/');
      if (rel.split('/').some((part) => part.startsWith('.tmp'))) continue;
      const info = await stat(file).catch(() => undefined);
      if (!info) continue;
      const mark = `${info.size}:${info.mtimeMs}`;
      if (this.#seen.get(rel) === mark) continue;
      await this.blobs.put({ bucket: address.bucket, key: prefix + rel }, createReadStream(file));
      this.#seen.set(rel, mark);
      uploaded++;
    }
    return uploaded;
  }

  get target(): string {
    const address = parseBlobUri(this.uri, 'CheckpointConfig.S3Uri');
    return formatBlobUri(address);
  }
}
