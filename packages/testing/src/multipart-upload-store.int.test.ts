import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import type { SqlMetadataStore } from '@trainyard/adapters/sql/sql-metadata-store';
import { TrainyardError } from '@trainyard/contracts/errors';
import type { MultipartUpload } from '@trainyard/core/ports/multipart-upload-store';
import { afterAll, describe, expect, it } from 'vitest';
import { freshPostgresSchema } from './postgres-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-mpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const upload = (uploadId: string, key: string): MultipartUpload => ({
  uploadId,
  bucket: 'data',
  key,
  contentType: 'text/csv',
  metadata: { team: 'ml' },
  initiatedBy: 'key-1',
  initiatedAt: new Date(1_700_000_000_000),
});

const backends: [string, () => Promise<{ store: SqlMetadataStore; close: () => Promise<void> }>][] = [
  [
    'sqlite',
    async () => {
      const store = await openMetadataStore(`sqlite:${join(dir, `${Math.random()}.db`)}`);
      await store.migrate();
      return { store, close: () => store.close() };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = await freshPostgresSchema();
      const store = await openMetadataStore(schema.url);
      await store.migrate();
      return {
        store,
        close: async () => {
          await store.close();
          await schema.drop();
        },
      };
    },
  ],
];

describe.each(backends)('multipart upload records on %s', (_name, open) => {
  it('keeps uploads and parts (5 GiB sizes too), replaces a re-sent part, and removes both on delete', async () => {
    const { store, close } = await open();
    try {
      const uploads = store.multipartUploads;
      await uploads.create(upload('u1', 'train/100%_a.csv'));
      await uploads.create(upload('u2', 'train/other.csv'));
      await uploads.create(upload('u3', 'eval/x.csv'));
      await expect(uploads.create(upload('u1', 'dup'))).rejects.toSatisfy((e) =>
        TrainyardError.is(e, 'ALREADY_EXISTS'),
      );
      expect(await uploads.get('u1')).toEqual(upload('u1', 'train/100%_a.csv'));
      expect((await uploads.list('data', { prefix: 'train/100%' })).map((u) => u.uploadId)).toEqual(['u1']);
      expect((await uploads.list('data')).map((u) => u.key)).toEqual([
        'eval/x.csv',
        'train/100%_a.csv',
        'train/other.csv',
      ]);

      const at = new Date(1_700_000_001_000);
      const big = 5 * 1024 ** 3;
      await uploads.putPart('u1', { partNumber: 2, partId: '2-a', etag: 'e2', size: big, lastModified: at });
      await uploads.putPart('u1', { partNumber: 1, partId: '1-a', etag: 'old', size: 1, lastModified: at });
      await uploads.putPart('u1', { partNumber: 1, partId: '1-b', etag: 'new', size: 7, lastModified: at });
      expect(await uploads.listParts('u1')).toEqual([
        { partNumber: 1, partId: '1-b', etag: 'new', size: 7, lastModified: at },
        { partNumber: 2, partId: '2-a', etag: 'e2', size: big, lastModified: at },
      ]);
      expect((await uploads.listParts('u1', { afterPartNumber: 1 })).map((p) => p.partNumber)).toEqual([2]);
      expect((await uploads.listParts('u1', { limit: 1 })).map((p) => p.partNumber)).toEqual([1]);

      await uploads.delete('u1');
      await expect(uploads.get('u1')).rejects.toSatisfy((e) => TrainyardError.is(e, 'NOT_FOUND'));
      expect(await uploads.listParts('u1')).toEqual([]);
      await expect(
        uploads.putPart('u1', { partNumber: 3, partId: '3-a', etag: 'e', size: 1, lastModified: at }),
      ).rejects.toSatisfy((e) => TrainyardError.is(e, 'NOT_FOUND'));
      await uploads.delete('never-existed');
    } finally {
      await close();
    }
  });
});
