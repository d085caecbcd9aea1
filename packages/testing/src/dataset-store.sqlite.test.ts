import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetSqlStore } from '@trainyard/adapters/sql/dataset-sql-store';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { datasetStoreConformance } from './dataset-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-datasets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

datasetStoreConformance('sqlite', async () => {
  const metadata = await openSqliteMetadataStore(join(dir, `meta-${n++}.db`));
  await metadata.migrate();
  return { store: new DatasetSqlStore(metadata.db), close: () => metadata.close() };
});
