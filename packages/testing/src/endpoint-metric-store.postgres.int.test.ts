import { EndpointMetricSqlStore } from '@trainyard/adapters/sql/endpoint-metric-sql-store';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { endpointMetricStoreConformance } from './endpoint-metric-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

endpointMetricStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const connect = async () => {
    const metadata = await openPostgresMetadataStore(url);
    await metadata.migrate();
    return { store: new EndpointMetricSqlStore(metadata.db), close: () => metadata.close() };
  };
  return { connect, destroy: drop };
});
