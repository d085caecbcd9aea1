import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlobStore } from '@trainyard/adapters/blob/open-blob-store';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { extractModelArchive } from '@trainyard/runtime/endpoints/model-archive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('model archives', () => {
  let root: string;
  let blobs: BlobStore;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-archive-'));
    blobs = await openBlobStore(`file:${join(root, 'blobs')}`);
    await blobs.createBucket('models');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Packs `files` (name -> content, or a `{ link }` target) with the system tar and stores it. */
  async function store(name: string, files: Record<string, string | { link: string }>): Promise<string> {
    const src = join(root, `src-${name}`);
    mkdirSync(src);
    for (const [file, content] of Object.entries(files)) {
      if (typeof content === 'string') writeFileSync(join(src, file), content);
      else symlinkSync(content.link, join(src, file));
    }
    const archive = join(root, `${name}.tar.gz`);
    execFileSync('tar', ['-czf', archive, '-C', src, '.']);
    await blobs.put({ bucket: 'models', key: `${name}/model.tar.gz` }, readFileSync(archive));
    return `s3://models/${name}/model.tar.gz`;
  }

  it('extracts files and folders once', async () => {
    const uri = await store('plain', { 'model.json': '{"ok":true}' });
    const dir = await extractModelArchive(blobs, uri, join(root, 'cache'), 'plain');
    expect(readFileSync(join(dir, 'model.json'), 'utf8')).toBe('{"ok":true}');
  });

  it('refuses an archive holding a symbolic link, naming it, and leaves nothing behind', async () => {
    const secret = join(root, 'master.key');
    writeFileSync(secret, 'the-master-key');
    const uri = await store('linked', { 'model.json': { link: secret } });
    await expect(extractModelArchive(blobs, uri, join(root, 'cache'), 'linked')).rejects.toThrow(
      /holds a symbolic link \(model\.json\)/,
    );
    expect(() => readFileSync(join(root, 'cache', 'linked', 'model.json'))).toThrow();
  });
});
