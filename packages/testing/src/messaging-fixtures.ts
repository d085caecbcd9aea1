import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresMetadataStore } from '@trainyard/adapters/sql/postgres-metadata-store';
import type { SqlMetadataStore } from '@trainyard/adapters/sql/sql-metadata-store';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { freshPostgresSchema } from './postgres-fixture.js';

/** The Redis and NATS the integration tests use; CI starts them. */
export const testRedisUrl = process.env.TRAINYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const testNatsUrl = process.env.TRAINYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Two connections to one fresh metadata database (a temp SQLite file or a throwaway PostgreSQL schema), migrated. */
export async function twoMetadataConnections(
  dialect: 'sqlite' | 'postgres',
): Promise<{ stores: [SqlMetadataStore, SqlMetadataStore]; close(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-mq-'));
    const file = join(dir, 'meta.db');
    const a = await openSqliteMetadataStore(file);
    await a.migrate();
    const b = await openSqliteMetadataStore(file);
    return {
      stores: [a, b],
      close: async () => {
        await a.close();
        await b.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const { url, drop } = await freshPostgresSchema();
  const a = await openPostgresMetadataStore(url);
  await a.migrate();
  const b = await openPostgresMetadataStore(url);
  return {
    stores: [a, b],
    close: async () => {
      await a.close();
      await b.close();
      await drop();
    },
  };
}
