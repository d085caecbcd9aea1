import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointMetricSqlStore } from '@trainyard/adapters/sql/endpoint-metric-sql-store';
import { EndpointSqlStore } from '@trainyard/adapters/sql/endpoint-sql-store';
import { openMetadataStore } from '@trainyard/adapters/sql/open-metadata-store';
import { EndpointMetricSeries } from '@trainyard/core/endpoints/endpoint-metric-series';
import { EndpointService } from '@trainyard/core/endpoints/endpoint-service';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { EndpointMetricsStore } from './endpoint-metrics-store.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-endpoint-series-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** One database file with endpoint "e", and a way to open an "API process" on it. */
async function database() {
  const file = join(dir, `meta-${n++}.db`);
  const opened: { close(): Promise<void> }[] = [];
  const process = async () => {
    const metadata = await openMetadataStore(`sqlite:${file}`);
    await metadata.migrate();
    opened.push(metadata);
    const endpoints = new EndpointService(new EndpointSqlStore(metadata.db), metadata.instanceTypes);
    const endpointMetrics = new EndpointMetricSeries(new EndpointMetricSqlStore(metadata.db));
    return {
      metadata,
      recorder: new EndpointMetricsStore({ endpoints, endpointMetrics, log: pino({ level: 'silent' }) }),
    };
  };
  const first = await process();
  const now = new Date();
  await new EndpointSqlStore(first.metadata.db).createEndpoint({
    name: 'e',
    configName: 'c',
    pendingConfigName: undefined,
    status: 'InService',
    failureReason: undefined,
    variants: [],
    createdAt: now,
    updatedAt: now,
    version: 0,
  });
  return { first, process, close: async () => Promise.all(opened.map((m) => m.close())) };
}

describe('the stored endpoint traffic series (API process side)', () => {
  it('sums what two API processes record, per variant and instance, and keeps it across a restart', async () => {
    const db = await database();
    const a = db.first.recorder;
    const b = (await db.process()).recorder;
    const now = Date.now();
    for (let i = 0; i < 30; i++) {
      a.record(
        { endpoint: 'e', variant: 'v', instance: 'i-1', status: 200, modelMs: 10, overheadMs: 1 },
        now,
      );
      b.record(
        { endpoint: 'e', variant: 'v', instance: 'i-2', status: 200, modelMs: 30, overheadMs: 1 },
        now,
      );
    }
    b.record({ endpoint: 'e', variant: 'v', instance: 'i-2', status: 424, modelMs: 5, overheadMs: 1 }, now);
    a.record({ endpoint: 'e', variant: '', instance: '', status: 415 }, now);
    b.record({ endpoint: 'e', variant: '', instance: '', status: 503 }, now);
    await Promise.all([a.flush(), b.flush()]);
    const m = await a.series('e', { minutes: 5, perInstance: 'true' });
    expect(m).toMatchObject({ EndpointName: 'e', intervalSeconds: 10, windowSeconds: 300, scope: 'stored' });
    const sum = (variant: string, key: 'invocations' | 'errors4xx' | 'errors5xx') =>
      m.variants.find((v) => v.VariantName === variant)?.samples.reduce((s, x) => s + x[key], 0);
    expect(sum('v', 'invocations')).toBe(61);
    expect(sum('v', 'errors4xx')).toBe(1);
    expect(sum('', 'errors4xx')).toBe(1);
    expect(sum('', 'errors5xx')).toBe(1);
    const busy = m.variants.find((v) => v.VariantName === 'v')?.samples.find((s) => s.invocations > 0);
    // 30 calls at 10 ms, 30 at 30 ms, one at 5 ms: the median is in the 7.5-10 ms bucket, p99 in 20-30.
    expect(busy?.modelLatencyP50Ms).toBeGreaterThan(7.5);
    expect(busy?.modelLatencyP50Ms).toBeLessThanOrEqual(10);
    expect(busy?.modelLatencyP99Ms).toBeGreaterThan(20);
    expect(busy?.modelLatencyP99Ms).toBeLessThanOrEqual(30);
    const instances = m.variants.find((v) => v.VariantName === 'v')?.instances ?? [];
    expect(instances.map((i) => [i.InstanceId, i.samples.reduce((s, x) => s + x.invocations, 0)])).toEqual([
      ['i-1', 30],
      ['i-2', 31],
    ]);
    // B's answer is the same: the series is the store's, not a process's.
    expect((await b.series('e', { minutes: 5 })).variants.map((v) => v.samples)).toEqual(
      m.variants.map((v) => v.samples),
    );
    // A restart (a new process on the same file) reads the same history; close flushes what is pending.
    a.record({ endpoint: 'e', variant: 'v', instance: 'i-1', status: 200, modelMs: 1, overheadMs: 1 }, now);
    await a.close();
    await db.close();
    const restarted = (await db.process()).recorder;
    const again = await restarted.series('e', { minutes: 5 });
    expect(
      again.variants.find((v) => v.VariantName === 'v')?.samples.reduce((s, x) => s + x.invocations, 0),
    ).toBe(62);
    await db.close();
  });

  it('stores nothing for made-up endpoint names, caps the names waiting for a flush and answers NOT_FOUND for them', async () => {
    const db = await database();
    const recorder = db.first.recorder;
    for (let i = 0; i < 5000; i++)
      recorder.record({ endpoint: `made-up-${i}`, variant: '', instance: '', status: 403 });
    expect(recorder.pendingEndpoints).toBe(1000);
    await recorder.flush();
    expect(recorder.pendingEndpoints).toBe(0);
    const rows = await db.first.metadata.db
      .selectFrom('endpoint_metrics' as never)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number((rows as { n: unknown }).n)).toBe(0);
    await expect(recorder.series('made-up-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The cap is on names waiting, not on calls: a real endpoint still counts after the flood.
    recorder.record({ endpoint: 'e', variant: 'v', instance: 'i-1', status: 200, modelMs: 1, overheadMs: 1 });
    const m = await recorder.series('e');
    expect(m.windowSeconds).toBe(1800);
    expect(m.variants.map((v) => v.VariantName)).toEqual(['v']);
    await db.close();
  });
});
