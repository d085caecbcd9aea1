import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import { expect, it } from 'vitest';
import { freshPostgresSchema } from './postgres-fixture.js';

it('migrates a second installation in its own schema while another schema already holds the tables', async () => {
  const a = await freshPostgresSchema();
  const b = await freshPostgresSchema();
  const first = await openPostgresMetadataStore(a.url);
  const second = await openPostgresMetadataStore(b.url);
  try {
    expect(await first.migrate()).toContain('0001-platform');
    // Kysely's migrator once found schema a's migration tables and never created schema b's.
    expect(await second.migrate()).toContain('0001-platform');
    await second.instanceTypes.create({ name: 'ml.only.b', vcpus: 1, memoryMiB: 512, pricePerHour: 0 });
    await expect(first.instanceTypes.get('ml.only.b')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  } finally {
    await first.close();
    await second.close();
    await a.drop();
    await b.drop();
  }
});
