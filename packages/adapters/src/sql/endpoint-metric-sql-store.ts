import { mergeByKey } from '@trainyard/core/endpoints/endpoint-metric-series';
import { latencyBucketCount } from '@trainyard/core/endpoints/latency-histogram';
import type { EndpointMetricRow, EndpointMetricStore } from '@trainyard/core/ports/endpoint-metric-store';
import { type Kysely, sql } from 'kysely';
import type { Database } from './database.js';
import { endpointMetricBucketColumns } from './migrations/0016-endpoint-metrics.js';
import { sqlCall } from './sql-errors.js';

if (latencyBucketCount !== endpointMetricBucketColumns)
  throw new Error(
    `latency-histogram.ts has ${latencyBucketCount} buckets, migration 0016 stores ${endpointMetricBucketColumns}: add a migration`,
  );

const modelColumns = Array.from({ length: endpointMetricBucketColumns }, (_, i) => `m${i}`);
const overheadColumns = Array.from({ length: endpointMetricBucketColumns }, (_, i) => `o${i}`);
const summed = [
  'invocations',
  'errors_4xx',
  'errors_5xx',
  'model_count',
  'model_sum_ms',
  'overhead_sum_ms',
  'cpu_sum',
  'memory_sum',
  'resource_samples',
  ...modelColumns,
  ...overheadColumns,
];
/** Rows per INSERT: ~70 parameters each keeps a statement well under SQLite's parameter limit. */
const batch = 200;

type Row = Record<string, string | number>;
type Db = Kysely<{ endpoint_metrics: Row }>;

function rowOf(r: EndpointMetricRow): Row {
  const row: Row = {
    endpoint_name: r.endpoint,
    variant_name: r.variant,
    instance_id: r.instance,
    start_at: r.start,
    invocations: r.invocations,
    errors_4xx: r.errors4xx,
    errors_5xx: r.errors5xx,
    model_count: r.modelCount,
    model_sum_ms: r.modelSumMs,
    overhead_sum_ms: r.overheadSumMs,
    cpu_sum: r.cpuSum,
    memory_sum: r.memorySum,
    resource_samples: r.resourceSamples,
  };
  for (let i = 0; i < endpointMetricBucketColumns; i++) {
    row[`m${i}`] = r.modelBuckets[i] ?? 0;
    row[`o${i}`] = r.overheadBuckets[i] ?? 0;
  }
  return row;
}

function metricOf(row: Row): EndpointMetricRow {
  const n = (key: string) => Number(row[key] ?? 0);
  return {
    endpoint: String(row.endpoint_name),
    variant: String(row.variant_name),
    instance: String(row.instance_id),
    start: n('start_at'),
    invocations: n('invocations'),
    errors4xx: n('errors_4xx'),
    errors5xx: n('errors_5xx'),
    modelCount: n('model_count'),
    modelSumMs: n('model_sum_ms'),
    overheadSumMs: n('overhead_sum_ms'),
    cpuSum: n('cpu_sum'),
    memorySum: n('memory_sum'),
    resourceSamples: n('resource_samples'),
    modelBuckets: modelColumns.map(n),
    overheadBuckets: overheadColumns.map(n),
  };
}

/**
 * EndpointMetricStore over Kysely (SQLite and PostgreSQL): `add` is one `INSERT … ON CONFLICT DO
 * UPDATE SET c = endpoint_metrics.c + excluded.c` per batch, so concurrent API processes add to
 * the same interval without reading it first and without losing a count.
 */
export class EndpointMetricSqlStore implements EndpointMetricStore {
  private readonly db: Db;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as Db;
  }

  async add(given: readonly EndpointMetricRow[]): Promise<void> {
    // PostgreSQL refuses an upsert that touches one row twice: same keys are summed first.
    const rows = mergeByKey(given);
    for (let i = 0; i < rows.length; i += batch) {
      const values = rows.slice(i, i + batch).map(rowOf);
      await sqlCall('endpoint metrics', () =>
        this.db
          .insertInto('endpoint_metrics')
          .values(values)
          .onConflict((oc) =>
            oc
              .columns(['endpoint_name', 'start_at', 'variant_name', 'instance_id'])
              .doUpdateSet(
                Object.fromEntries(
                  summed.map((c) => [
                    c,
                    sql`${sql.ref(`endpoint_metrics.${c}`)} + ${sql.ref(`excluded.${c}`)}`,
                  ]),
                ),
              ),
          )
          .execute(),
      );
    }
  }

  async read(endpoint: string, from: number, to: number): Promise<EndpointMetricRow[]> {
    const rows = await sqlCall('endpoint metrics', () =>
      this.db
        .selectFrom('endpoint_metrics')
        .selectAll()
        .where('endpoint_name', '=', endpoint)
        .where('start_at', '>=', from)
        .where('start_at', '<', to)
        .orderBy('start_at')
        .execute(),
    );
    return rows.map(metricOf);
  }

  async deleteBefore(before: number): Promise<number> {
    const result = await sqlCall('endpoint metrics', () =>
      this.db.deleteFrom('endpoint_metrics').where('start_at', '<', before).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
