import { DatasetSqlStore } from '@trainyard/adapters/sql/dataset-sql-store';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { datasetStoreConformance } from './dataset-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

datasetStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const metadata = await openPostgresMetadataStore(url);
  await metadata.migrate();
  return {
    store: new DatasetSqlStore(metadata.db),
    close: async () => {
      await metadata.close();
      await drop();
    },
  };
});
