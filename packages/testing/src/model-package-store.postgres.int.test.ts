import { ModelPackageSqlStore } from '@trainyard/adapters/sql/model-package-sql-store';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { modelPackageStoreConformance } from './model-package-store-conformance.js';
import { freshPostgresSchema } from './postgres-fixture.js';

modelPackageStoreConformance('postgres', async () => {
  const { url, drop } = await freshPostgresSchema();
  const metadata = await openPostgresMetadataStore(url);
  await metadata.migrate();
  return {
    store: new ModelPackageSqlStore(metadata.db),
    close: async () => {
      await metadata.close();
      await drop();
    },
  };
});
