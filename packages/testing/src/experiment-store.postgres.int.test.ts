import { ExperimentSqlStore } from '@trainyard/adapters/sql/experiment-sql-store';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { experimentStoreConformance } from './experiment-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

experimentStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const metadata = await openPostgresMetadataStore(url);
  await metadata.migrate();
  return {
    store: new ExperimentSqlStore(metadata.db),
    close: async () => {
      await metadata.close();
      await drop();
    },
  };
});
