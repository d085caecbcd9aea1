import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { jobStoreConformance } from './job-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

jobStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const store = await openPostgresMetadataStore(url);
  const close = store.close.bind(store);
  // Dropped at once: Kysely's migrator looks for its tables in every schema on the search path.
  store.close = async () => {
    await close();
    await drop();
  };
  return store;
});
