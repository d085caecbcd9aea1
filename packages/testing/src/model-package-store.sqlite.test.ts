import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelPackageSqlStore } from '@trainyard/adapters/sql/model-package-sql-store';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { modelPackageStoreConformance } from './model-package-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

modelPackageStoreConformance('sqlite', async () => {
  const metadata = await openSqliteMetadataStore(join(dir, `meta-${n++}.db`));
  await metadata.migrate();
  return { store: new ModelPackageSqlStore(metadata.db), close: () => metadata.close() };
});
