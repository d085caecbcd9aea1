import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointMetricSqlStore } from '@trainyard/adapters/sql/endpoint-metric-sql-store';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { endpointMetricStoreConformance } from './endpoint-metric-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-endpoint-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

endpointMetricStoreConformance('sqlite', async () => {
  const file = join(dir, `meta-${n++}.db`);
  const connect = async () => {
    const metadata = await openSqliteMetadataStore(file);
    await metadata.migrate();
    return { store: new EndpointMetricSqlStore(metadata.db), close: () => metadata.close() };
  };
  return { connect, destroy: async () => rmSync(file, { force: true }) };
});
