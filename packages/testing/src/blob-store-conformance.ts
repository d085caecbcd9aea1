import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { BlobStore } from '@trainyard/core/ports/blob-store';
import { beforeEach, describe, expect, it } from 'vitest';

/** Opens a fresh, empty store for each test. */
export type BlobStoreFactory = () => Promise<BlobStore>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => TrainyardError.is(e, code));
}

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

/**
 * The behaviour every BlobStore adapter must show:
 * `blobStoreConformance('fs', async () => new FsBlobStore(tmp).init())`.
 */
export function blobStoreConformance(name: string, open: BlobStoreFactory): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    const at = (key: string) => ({ bucket: 'data', key });
    beforeEach(async () => {
      store = await open();
      await store.createBucket('data');
    });

    it('puts and gets an object with its S3 ETag, size, content type and metadata', async () => {
      const info = await store.put(at('train/a.csv'), 'x,y\n1,2\n', {
        contentType: 'text/csv',
        metadata: { source: 'test' },
      });
      expect(info).toMatchObject({ size: 8, etag: md5('x,y\n1,2\n'), contentType: 'text/csv' });
      const head = await store.head(at('train/a.csv'));
      expect(head).toMatchObject({ size: 8, etag: info.etag, metadata: { source: 'test' } });
      const { body } = await store.get(at('train/a.csv'));
      expect(await text(body)).toBe('x,y\n1,2\n');
    });

    it('streams a large body without holding it and reads byte ranges', async () => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      const chunks = 64; // 4 MiB
      const hash = createHash('md5');
      for (let i = 0; i < chunks; i++) hash.update(chunk);
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) yield chunk;
        })(),
      );
      const info = await store.put(at('big.bin'), source);
      expect(info.size).toBe(chunk.length * chunks);
      expect(info.etag).toBe(hash.digest('hex'));
      await store.put(at('digits'), '0123456789');
      const { body } = await store.get(at('digits'), { start: 2, end: 5 });
      expect(await text(body)).toBe('2345');
      const tail = await store.get(at('digits'), { start: 8, end: 100 });
      expect(await text(tail.body)).toBe('89');
      await expectCode(store.get(at('digits'), { start: 10, end: 12 }), 'INVALID_ARGUMENT');
    });

    it('answers NOT_FOUND for missing objects and buckets; deleting a missing key succeeds', async () => {
      await expectCode(store.head(at('nope')), 'NOT_FOUND');
      await expectCode(store.get(at('nope')), 'NOT_FOUND');
      await expectCode(store.copy(at('nope'), at('x')), 'NOT_FOUND');
      await expectCode(store.headBucket('missing-bucket'), 'NOT_FOUND');
      await expectCode(store.list('missing-bucket'), 'NOT_FOUND');
      await store.delete(at('nope'));
    });

    it('refuses keys that escape the store with INVALID_ARGUMENT', async () => {
      for (const key of ['../outside', 'a/../../b', '/etc/passwd', 'a\0b', 'a/./b', '', 'x'.repeat(1025)]) {
        await expectCode(store.put(at(key), 'x'), 'INVALID_ARGUMENT');
        await expectCode(store.get(at(key)), 'INVALID_ARGUMENT');
      }
      await expectCode(store.put({ bucket: '../data', key: 'k' }, 'x'), 'INVALID_ARGUMENT');
      await expectCode(store.createBucket('Bad_Bucket'), 'INVALID_ARGUMENT');
    });

    it('lists by prefix in byte order, pages stably, and groups by delimiter', async () => {
      const keys = ['a/1', 'a/2', 'a/b/3', 'a-x', 'b/1', 'c', 'é/1'];
      for (const key of keys) await store.put(at(key), key);
      const all: string[] = [];
      let token: string | undefined;
      do {
        const page = await store.list('data', { limit: 2, pageToken: token });
        all.push(...page.items.map((i) => i.key));
        token = page.nextPageToken;
      } while (token);
      expect(all).toEqual(['a-x', 'a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'é/1']);
      const underA = await store.list('data', { prefix: 'a/' });
      expect(underA.items.map((i) => i.key)).toEqual(['a/1', 'a/2', 'a/b/3']);
      const grouped = await store.list('data', { delimiter: '/' });
      expect(grouped.items.map((i) => i.key)).toEqual(['a-x', 'c']);
      expect(grouped.commonPrefixes).toEqual(['a/', 'b/', 'é/']);
      const groupedPage = await store.list('data', { delimiter: '/', limit: 2 });
      expect([...groupedPage.commonPrefixes, ...groupedPage.items.map((i) => i.key)]).toEqual(['a/', 'a-x']);
      const rest = await store.list('data', { delimiter: '/', pageToken: groupedPage.nextPageToken });
      expect(rest.commonPrefixes).toEqual(['b/', 'é/']);
      expect(rest.items.map((i) => i.key)).toEqual(['c']);
      expect((await store.list('data', { startAfter: 'b/1' })).items.map((i) => i.key)).toEqual(['c', 'é/1']);
    });

    it('deletes and copies; an emptied bucket can be deleted, a full one cannot', async () => {
      await store.put(at('x/y/z'), 'z', { contentType: 'text/plain' });
      const copied = await store.copy(at('x/y/z'), { bucket: 'data', key: 'copy' });
      expect(copied).toMatchObject({ size: 1, etag: md5('z'), contentType: 'text/plain' });
      await expectCode(store.deleteBucket('data'), 'FAILED_PRECONDITION');
      await store.delete(at('x/y/z'));
      await store.delete(at('copy'));
      expect((await store.list('data')).items).toEqual([]);
      await store.deleteBucket('data');
      expect((await store.listBuckets()).map((b) => b.name)).not.toContain('data');
    });

    it('never shows a partial write: a failing upload leaves the previous object whole', async () => {
      await store.put(at('model.bin'), 'version-1');
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024, 1));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put(at('model.bin'), failing)).rejects.toThrow('client went away');
      expect(await text((await store.get(at('model.bin'))).body)).toBe('version-1');
      await expect(store.put(at('fresh.bin'), failing)).rejects.toThrow();
      await expectCode(store.head(at('fresh.bin')), 'NOT_FOUND');
      expect((await store.list('data')).items.map((i) => i.key)).toEqual(['model.bin']);
    });

    it('stages multipart parts out of sight and composes them in order, streaming, with the given ETag', async () => {
      const first = Buffer.alloc(3 * 1024 * 1024, 1);
      const staged = await store.putPart(
        'upload-1',
        'p1',
        Readable.from([first.subarray(0, 1024), first.subarray(1024)]),
      );
      expect(staged).toEqual({ size: first.length, etag: md5(first) });
      await store.putPart('upload-1', 'p2', 'stale');
      expect(await store.putPart('upload-1', 'p2', 'tail')).toEqual({ size: 4, etag: md5('tail') });
      await store.putPart('upload-1', 'p3', 'unused');
      expect((await store.list('data')).items).toEqual([]);
      const info = await store.composeParts(at('joined.bin'), 'upload-1', ['p2', 'p1'], {
        etag: 'abc-2',
        contentType: 'application/x-test',
      });
      expect(info).toMatchObject({
        size: first.length + 4,
        etag: 'abc-2',
        contentType: 'application/x-test',
      });
      const { body } = await store.get(at('joined.bin'), { start: 0, end: 5 });
      expect(await text(body)).toBe('tail\x01\x01');
      expect((await store.head(at('joined.bin'))).etag).toBe('abc-2');
      await expectCode(store.composeParts(at('other'), 'upload-1', ['p1', 'missing']), 'NOT_FOUND');
      await expectCode(store.head(at('other')), 'NOT_FOUND');
      await store.discardParts('upload-1', ['p3']);
      await expectCode(store.composeParts(at('other'), 'upload-1', ['p3']), 'NOT_FOUND');
      await store.discardParts('upload-1');
      await expectCode(store.composeParts(at('other'), 'upload-1', ['p1']), 'NOT_FOUND');
      await store.discardParts('never-started');
      await expectCode(store.putPart('../escape', 'p1', 'x'), 'INVALID_ARGUMENT');
      await expectCode(store.putPart('u', 'a/b', 'x'), 'INVALID_ARGUMENT');
    });

    it('stores a local file: copied and kept by default, moved with move, the given ETag kept', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'blob-putfile-'));
      try {
        const file = join(dir, 'data.bin');
        const bytes = Buffer.concat([Buffer.alloc(600 * 1024, 3), Buffer.from('tail')]);
        await writeFile(file, bytes);
        const copied = await store.putFile(at('copied.bin'), file, { contentType: 'application/x-test' });
        expect(copied).toMatchObject({
          size: bytes.length,
          etag: md5(bytes),
          contentType: 'application/x-test',
        });
        expect(await readFile(file)).toEqual(bytes);
        const moved = await store.putFile(at('v1/moved.bin'), file, { move: true, etag: md5(bytes) });
        expect(moved).toMatchObject({ size: bytes.length, etag: md5(bytes) });
        expect(existsSync(file)).toBe(false);
        const { body } = await store.get(at('v1/moved.bin'), {
          start: bytes.length - 4,
          end: bytes.length - 1,
        });
        expect(await text(body)).toBe('tail');
        expect((await store.head(at('v1/moved.bin'))).etag).toBe(md5(bytes));
        await expectCode(store.putFile(at('missing.bin'), join(dir, 'nope')), 'NOT_FOUND');
        await writeFile(file, 'kept');
        await expectCode(store.putFile(at('../escape'), file, { move: true }), 'INVALID_ARGUMENT');
        expect(await readFile(file, 'utf8')).toBe('kept');
        expect((await store.list('data')).items.map((i) => i.key)).toEqual(['copied.bin', 'v1/moved.bin']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('keeps concurrent overwrites whole: every read sees one complete version', async () => {
      const versions = ['A', 'B', 'C', 'D'].map((c) => c.repeat(256 * 1024));
      const reads: string[] = [];
      await store.put(at('hot'), versions[0]!);
      await Promise.all([
        ...versions.map((v) => store.put(at('hot'), v)),
        ...Array.from({ length: 8 }, async () => reads.push(await text((await store.get(at('hot'))).body))),
      ]);
      for (const read of reads) expect(versions).toContain(read);
      const final = await store.head(at('hot'));
      expect(versions.map((v) => md5(v))).toContain(final.etag);
    });
  });
}
