import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentSqlStore } from '@trainyard/adapters/sql/experiment-sql-store';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { experimentStoreConformance } from './experiment-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-experiments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

experimentStoreConformance('sqlite', async () => {
  const metadata = await openSqliteMetadataStore(join(dir, `meta-${n++}.db`));
  await metadata.migrate();
  return { store: new ExperimentSqlStore(metadata.db), close: () => metadata.close() };
});
