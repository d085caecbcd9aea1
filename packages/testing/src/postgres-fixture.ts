import { randomBytes } from 'node:crypto';

/** The PostgreSQL the integration tests use; CI starts it (see .ci/run). */
export const testPostgresUrl =
  process.env.TRAINYARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A URL whose tables live in a new, empty schema, and a function that drops it. */
export async function freshPostgresSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `ty_test_${randomBytes(6).toString('hex')}`;
  const url = `${testPostgresUrl}${testPostgresUrl.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    url,
    drop: async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: testPostgresUrl });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
