import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from './fs-blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'trainyard-fsblob-'));
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
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

  it("takes the caller's MD5 of a body it hashed itself, and stores nothing when it has none", async () => {
    const store = await new FsBlobStore(root).init();
    const at = { bucket: 'data', key: 'hashed-by-caller.bin' };
    // The store does not hash the body again: whatever the caller says is the ETag (the S3 door
    // gives the MD5 it computed, and checked against Content-MD5, off the request thread).
    const stand = 'f'.repeat(32);
    expect((await store.put(at, 'body bytes', { bodyMd5: () => stand })).etag).toBe(stand);
    expect((await store.put(at, 'body bytes', { bodyMd5: () => md5('body bytes') })).etag).toBe(
      md5('body bytes'),
    );
    await expect(store.put(at, 'other bytes', { bodyMd5: () => undefined })).rejects.toThrow(/no MD5/);
    expect(await text((await store.get(at)).body)).toBe('body bytes');
    expect(await store.putPart('caller-md5', 'p1', 'part', { bodyMd5: () => md5('part') })).toEqual({
      size: 4,
      etag: md5('part'),
    });
    await expect(store.putPart('caller-md5', 'p2', 'part', { bodyMd5: () => 'not hex' })).rejects.toThrow(
      /no MD5/,
    );
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'parts', 'caller-md5'))).toEqual(['p1']);
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

  it('composes parts of uneven sizes on read, byte for byte, with the MD5 when no ETag is given', async () => {
    const store = await new FsBlobStore(root).init();
    // Sizes around the 512 KiB read buffer: a part ending mid-buffer, an empty one, tiny ones.
    const sizes = [512 * 1024 + 3, 1, 0, 512 * 1024, 1024 * 1024 + 17, 2, 300 * 1024];
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
    expect(info).toMatchObject({ size: whole.length, etag: md5(whole) });
    // No second write of the bytes: the data path holds a small reference, the parts are links.
    expect(statSync(join(root, 'buckets', 'data', 'joined.bin')).size).toBeLessThan(200);
    await store.discardParts('join-test');
    expect((await buffer((await store.get(at)).body)).equals(whole)).toBe(true);
    expect(await store.head(at)).toMatchObject({ size: whole.length, etag: md5(whole) });
    // Ranges inside one part, across part boundaries (and the empty part), to the end, past the end.
    const boundary = sizes[0] as number;
    for (const [start, end] of [
      [0, 0],
      [boundary - 2, boundary + 1],
      [boundary - 1, boundary + 600 * 1024],
      [10, whole.length - 10],
      [whole.length - 5, whole.length + 100],
    ] as const) {
      const got = await buffer((await store.get(at, { start, end })).body);
      expect(got.equals(whole.subarray(start, end + 1)), `bytes ${start}-${end}`).toBe(true);
    }
    await expect(store.get(at, { start: whole.length, end: whole.length + 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    // Readers that need a file get the parts joined once, inside the object's folder.
    const local = await store.localPath(at);
    expect(readFileSync(local).equals(whole)).toBe(true);
    expect(await store.localPath(at)).toBe(local);
    expect((await store.list('data', { prefix: 'joined' })).items).toMatchObject([
      { key: 'joined.bin', size: whole.length, etag: md5(whole) },
    ]);
    await expect(store.composeParts(at, 'join-test', ['p0', 'missing'])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('copies a composed object into a plain one, and delete or overwrite removes the parts', async () => {
    const root2 = mkdtempSync(join(tmpdir(), 'trainyard-fsblob-composed-'));
    try {
      const store = await new FsBlobStore(root2).init();
      const composed = async (key: string, texts: string[]) => {
        const upload = `u-${key.replace(/\W/g, '_')}`;
        for (const [i, t] of texts.entries()) await store.putPart(upload, String(i), t);
        const info = await store.composeParts(
          { bucket: 'data', key },
          upload,
          texts.map((_, i) => String(i)),
          {
            etag: `etag-of-${key}-${texts.length}`,
            contentType: 'text/plain',
            metadata: { origin: 'multipart' },
          },
        );
        await store.discardParts(upload);
        return info;
      };
      const folders = () => readdirSync(join(root2, 'composed'));
      await composed('a.txt', ['hello ', 'composed ', 'world']);
      const copied = await store.copy({ bucket: 'data', key: 'a.txt' }, { bucket: 'data', key: 'copy.txt' });
      expect(copied).toMatchObject({
        size: 20,
        etag: md5('hello composed world'),
        contentType: 'text/plain',
      });
      expect(readFileSync(join(root2, 'buckets', 'data', 'copy.txt'), 'utf8')).toBe('hello composed world');
      expect(folders()).toHaveLength(1);
      // A reader that opened the object keeps it while it is deleted.
      const open = await store.get({ bucket: 'data', key: 'a.txt' });
      await store.delete({ bucket: 'data', key: 'a.txt' });
      expect(folders()).toEqual([]);
      expect(await text(open.body)).toBe('hello composed world');
      await expect(store.head({ bucket: 'data', key: 'a.txt' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Overwritten by a plain put, by another composition, and by a moved file.
      await composed('b.txt', ['one ', 'two']);
      const [first] = folders();
      await composed('b.txt', ['three ', 'four']);
      expect(folders()).not.toContain(first);
      expect(folders()).toHaveLength(1);
      expect(await text((await store.get({ bucket: 'data', key: 'b.txt' })).body)).toBe('three four');
      await store.put({ bucket: 'data', key: 'b.txt' }, 'plain now');
      expect(folders()).toEqual([]);
      await composed('c.txt', ['x', 'y']);
      const local = join(root2, 'moved.txt');
      writeFileSync(local, 'moved in');
      await store.putFile({ bucket: 'data', key: 'c.txt' }, local, { move: true });
      expect(folders()).toEqual([]);
      // A composition onto a key that is a folder of other keys is refused and leaves nothing.
      await store.put({ bucket: 'data', key: 'dir/inside' }, 'x');
      await expect(composed('dir', ['p'])).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(folders()).toEqual([]);
    } finally {
      rmSync(root2, { recursive: true, force: true });
    }
  });

  it('never takes an uploaded body for a reference to parts, even one naming a real composed object', async () => {
    const root2 = mkdtempSync(join(tmpdir(), 'trainyard-fsblob-forged-'));
    try {
      const store = await new FsBlobStore(root2).init();
      await store.putPart('u', '1', 'secret parts');
      await store.composeParts({ bucket: 'data', key: 'real' }, 'u', ['1']);
      const [id] = readdirSync(join(root2, 'composed'));
      const forged = `trainyard-composed-object:v1:${id}:${'0'.repeat(32)}\n`;
      const at = { bucket: 'data', key: 'forged' };
      await store.put(at, forged);
      expect(await text((await store.get(at)).body)).toBe(forged);
      // Also when its sidecar is gone and has to be rebuilt from the data file.
      rmSync(join(root2, 'meta', 'data', 'forged'));
      expect(await store.head(at)).toMatchObject({ size: forged.length, etag: md5(forged) });
      await store.delete(at);
      expect(await text((await store.get({ bucket: 'data', key: 'real' })).body)).toBe('secret parts');
    } finally {
      rmSync(root2, { recursive: true, force: true });
    }
  });

  it('after a crash during completion holds the whole object or none of it', async () => {
    const root2 = mkdtempSync(join(tmpdir(), 'trainyard-fsblob-crash-'));
    try {
      const store = await new FsBlobStore(root2).init();
      await store.putPart('u', '1', 'first part, ');
      await store.putPart('u', '2', 'second part');
      const at = { bucket: 'data', key: 'done.bin' };
      await store.composeParts(at, 'u', ['1', '2'], { etag: 'abc-2', contentType: 'text/plain' });
      const [id] = readdirSync(join(root2, 'composed'));
      // Crash after the reference was renamed into place, before the sidecar was written.
      rmSync(join(root2, 'meta', 'data', 'done.bin'));
      // Crash before the reference was placed: a folder with links and a manifest, unreferenced.
      cpSync(join(root2, 'composed', id as string), join(root2, 'composed', 'unreferenced'), {
        recursive: true,
      });
      mkdirSync(join(root2, 'composed', 'no-manifest-yet'));
      mkdirSync(join(root2, 'composed', 'half-written'));
      writeFileSync(join(root2, 'composed', 'half-written', 'manifest.json'), '{"id":"half-wr');
      mkdirSync(join(root2, 'composed', 'no-key'));
      writeFileSync(join(root2, 'composed', 'no-key', 'manifest.json'), '{"id":"no-key"}');
      const after = await new FsBlobStore(root2).init();
      expect(readdirSync(join(root2, 'composed'))).toEqual([id]);
      expect(await after.head(at)).toMatchObject({ size: 23, etag: 'abc-2', contentType: 'text/plain' });
      expect(await text((await after.get(at)).body)).toBe('first part, second part');
      // The parts were not discarded yet: the completion can run again, replacing the object whole.
      await after.composeParts(at, 'u', ['2'], { etag: 'def-1' });
      expect(await text((await after.get(at)).body)).toBe('second part');
      expect(readdirSync(join(root2, 'composed'))).toHaveLength(1);
      expect(readdirSync(join(root2, 'composed'))).not.toContain(id);
    } finally {
      rmSync(root2, { recursive: true, force: true });
    }
  });

  it('keeps staged multipart parts across a restart, and the composed object after another', async () => {
    const before = await new FsBlobStore(root).init();
    await before.putPart('restart-upload', '1', 'hello ');
    await before.putPart('restart-upload', '2', 'world');
    const after = await new FsBlobStore(root).init();
    const info = await after.composeParts({ bucket: 'data', key: 'joined' }, 'restart-upload', ['1', '2']);
    await after.discardParts('restart-upload');
    expect(info.size).toBe(11);
    const again = await new FsBlobStore(root).init();
    expect(await text((await again.get({ bucket: 'data', key: 'joined' })).body)).toBe('hello world');
  });
});
