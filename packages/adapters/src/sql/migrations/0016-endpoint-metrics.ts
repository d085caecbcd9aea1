import type { Kysely, Migration } from 'kysely';

/**
 * Stored endpoint metrics (issue 14, item 7): one row per endpoint, variant, instance and 10 s
 * interval, every column a sum so that API processes add their own counts with one upsert. The
 * latency histograms are one integer column per bucket (`m0`…`m27` model, `o0`…`o27` overhead;
 * the 27 bounds of latency-histogram.ts and an overflow bucket), frozen here: new bounds need a
 * new migration.
 */
export const endpointMetricBucketColumns = 28;

export const endpointMetricsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    let table = db.schema
      .createTable('endpoint_metrics')
      .addColumn('endpoint_name', 'varchar(63)', (c) => c.notNull())
      .addColumn('variant_name', 'varchar(63)', (c) => c.notNull())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('start_at', 'bigint', (c) => c.notNull())
      .addColumn('invocations', 'bigint', (c) => c.notNull())
      .addColumn('errors_4xx', 'bigint', (c) => c.notNull())
      .addColumn('errors_5xx', 'bigint', (c) => c.notNull())
      .addColumn('model_count', 'bigint', (c) => c.notNull())
      .addColumn('model_sum_ms', 'double precision', (c) => c.notNull())
      .addColumn('overhead_sum_ms', 'double precision', (c) => c.notNull())
      .addColumn('cpu_sum', 'double precision', (c) => c.notNull())
      .addColumn('memory_sum', 'double precision', (c) => c.notNull())
      .addColumn('resource_samples', 'bigint', (c) => c.notNull());
    for (const prefix of ['m', 'o'])
      for (let i = 0; i < endpointMetricBucketColumns; i++)
        table = table.addColumn(`${prefix}${i}`, 'bigint', (c) => c.notNull().defaultTo(0));
    await table
      .addPrimaryKeyConstraint('endpoint_metrics_pk', [
        'endpoint_name',
        'start_at',
        'variant_name',
        'instance_id',
      ])
      .execute();
    // Retention deletes by time over every endpoint.
    await db.schema.createIndex('endpoint_metrics_start').on('endpoint_metrics').column('start_at').execute();
  },
};
