import { TrainyardError } from '@trainyard/contracts/errors';
import type { DatasetStore } from '@trainyard/core/ports/dataset-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** A fresh, migrated store and how to close it. */
export type DatasetStoreFactory = () => Promise<{ store: DatasetStore; close(): Promise<void> }>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrainyardError);
  expect((error as TrainyardError).code).toBe(code);
}

const done = (rowCount: number) => ({
  uri: `s3://trainyard/datasets/d/v/data.parquet`,
  schema: [{ name: 'x', type: 'numeric' as const, storageType: 'DOUBLE' }],
  rowCount,
  sizeBytes: 10,
  contentHash: 'sha256:00',
  lineage: { source: 'upload:x.csv' },
  skippedRows: 0,
});

/** The behaviour every DatasetStore adapter must show. */
export function datasetStoreConformance(name: string, open: DatasetStoreFactory): void {
  describe(`DatasetStore conformance: ${name}`, () => {
    let store: DatasetStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(() => close());

    it('numbers versions 1, 2, … per dataset, without duplicates under concurrent writers', async () => {
      const numbers = await Promise.all(
        Array.from({ length: 6 }, () => store.reserveVersion('churn', {}).then((v) => v.version)),
      );
      expect(numbers.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      expect((await store.reserveVersion('other', {})).version).toBe(1);
      expect((await store.list()).items.map((d) => d.name)).toEqual(['churn', 'other']);
    });

    it('completes a version once, moves latest forward, and keeps failed versions out of latest', async () => {
      const v1 = await store.reserveVersion('churn', { jobName: 'prep-1' });
      expect(v1.status).toBe('creating');
      const ready = await store.completeVersion('churn', v1.version, done(5));
      expect(ready).toMatchObject({ status: 'ready', rowCount: 5, dataset: 'churn', version: 1 });
      await expectCode(store.completeVersion('churn', 1, done(6)), 'FAILED_PRECONDITION');
      const v2 = await store.reserveVersion('churn', {});
      await store.failVersion('churn', v2.version, { code: 'INVALID_ARGUMENT', message: 'bad file' });
      expect(await store.getVersion('churn', 2)).toMatchObject({
        status: 'failed',
        failure: { message: 'bad file' },
      });
      expect((await store.getVersion('churn', 'latest')).version).toBe(1);
      expect((await store.get('churn')).latestVersion).toBe(1);
    });

    it('lists versions newest first, page by page, and says NOT_FOUND for unknown ones', async () => {
      for (let i = 0; i < 5; i++) await store.reserveVersion('pages', {});
      const first = await store.listVersions('pages', { limit: 2 });
      expect(first.items.map((v) => v.version)).toEqual([5, 4]);
      const second = await store.listVersions('pages', { limit: 2, pageToken: first.nextPageToken });
      expect(second.items.map((v) => v.version)).toEqual([3, 2]);
      await expectCode(store.getVersion('pages', 9), 'NOT_FOUND');
      await expectCode(store.getVersion('pages', 'latest'), 'NOT_FOUND');
      await expectCode(store.getVersion('nope', 1), 'NOT_FOUND');
      await expectCode(store.get('nope'), 'NOT_FOUND');
      expect((await store.ensure('pages', 'five versions')).description).toBe('five versions');
    });
  });
}
