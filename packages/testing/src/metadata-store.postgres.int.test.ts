import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { metadataStoreConformance } from './metadata-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

metadataStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const store = await openPostgresMetadataStore(url);
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await drop();
  };
  return store;
});
