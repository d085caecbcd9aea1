import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from './fs-blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'trainyard-fsblob-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('FsBlobStore on disk', () => {
  it('keeps objects as plain files at buckets/<bucket>/<key>', async () => {
    const store = await new FsBlobStore(root).init();
    await store.put({ bucket: 'data', key: 'train/part-0.csv' }, 'a,b\n');
    expect(readdirSync(join(root, 'buckets', 'data', 'train'))).toEqual(['part-0.csv']);
  });

  it('rebuilds a stale sidecar after a crash between the data rename and the sidecar write', async () => {
    const store = await new FsBlobStore(root).init();
    const at = { bucket: 'data', key: 'model.bin' };
    await store.put(at, 'old contents');
    // What a crash leaves: new data in place, the sidecar still describing the old object.
    writeFileSync(join(root, 'buckets', 'data', 'model.bin'), 'new contents, longer');
    const head = await store.head(at);
    expect(head.size).toBe(20);
    expect(head.etag).toBe(createHash('md5').update('new contents, longer').digest('hex'));
  });

  it('clears temp files a crash left behind when it starts', async () => {
    await new FsBlobStore(root).init();
    writeFileSync(join(root, 'tmp', 'half-written'), 'partial');
    await new FsBlobStore(root).init();
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('refuses a key that is also a folder of other keys', async () => {
    const store = await new FsBlobStore(root).init();
    await store.put({ bucket: 'data', key: 'a/b' }, 'x');
    await expect(store.put({ bucket: 'data', key: 'a' }, 'y')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    await expect(store.put({ bucket: 'data', key: 'a/b/c' }, 'y')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    expect((await store.head({ bucket: 'data', key: 'a/b' })).size).toBe(1);
  });

  it('joins parts of uneven sizes byte for byte, with the MD5 when no ETag is given', async () => {
    const store = await new FsBlobStore(root).init();
    // Sizes around the 4 MiB join buffer: a part ending mid-buffer, one exactly a buffer, tiny ones.
    const sizes = [4 * 1024 * 1024 + 3, 1, 4 * 1024 * 1024, 5 * 1024 * 1024 + 17, 2, 3 * 1024 * 1024];
    const parts = sizes.map((size, i) => {
      const part = Buffer.alloc(size);
      for (let at = 0; at < size; at++) part[at] = (at * 31 + i * 7) & 0xff;
      return part;
    });
    for (const [i, part] of parts.entries()) await store.putPart('join-test', `p${i}`, part);
    const at = { bucket: 'data', key: 'joined.bin' };
    const info = await store.composeParts(
      at,
      'join-test',
      parts.map((_, i) => `p${i}`),
    );
    const whole = Buffer.concat(parts);
    const stored = readFileSync(join(root, 'buckets', 'data', 'joined.bin'));
    expect(stored.length).toBe(whole.length);
    expect(stored.equals(whole)).toBe(true);
    expect(info).toMatchObject({ size: whole.length, etag: createHash('md5').update(whole).digest('hex') });
    await expect(store.composeParts(at, 'join-test', ['p0', 'missing'])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('keeps staged multipart parts across a restart', async () => {
    const before = await new FsBlobStore(root).init();
    await before.putPart('restart-upload', '1', 'hello ');
    await before.putPart('restart-upload', '2', 'world');
    const after = await new FsBlobStore(root).init();
    const info = await after.composeParts({ bucket: 'data', key: 'joined' }, 'restart-upload', ['1', '2']);
    expect(info.size).toBe(11);
    expect(readFileSync(join(root, 'buckets', 'data', 'joined'), 'utf8')).toBe('hello world');
  });
});
