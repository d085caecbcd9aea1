import {
  countCall,
  EndpointMetricSeries,
  emptyMetricRow,
} from '@trainyard/core/endpoints/endpoint-metric-series';
import { latencyBucketCount } from '@trainyard/core/endpoints/latency-histogram';
import type { EndpointMetricRow, EndpointMetricStore } from '@trainyard/core/ports/endpoint-metric-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * One database and how to open connections to it: each `connect` is what one API process opens
 * (its own pool or SQLite handle), so two of them stand for two API processes on one store.
 */
export type EndpointMetricStoreFactory = () => Promise<{
  connect(): Promise<{ store: EndpointMetricStore; close(): Promise<void> }>;
  destroy(): Promise<void>;
}>;

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function calls(start: number, instance: string, latencies: number[], status = 200): EndpointMetricRow {
  const row = emptyMetricRow('e', 'a', instance, start);
  for (const ms of latencies) countCall(row, status, ms, ms / 10);
  return row;
}

export function endpointMetricStoreConformance(kind: string, factory: EndpointMetricStoreFactory): void {
  describe(`EndpointMetricStore (${kind})`, () => {
    let db: Awaited<ReturnType<EndpointMetricStoreFactory>>;
    const open: { close(): Promise<void> }[] = [];
    const connect = async () => {
      const c = await db.connect();
      open.push(c);
      return c;
    };

    beforeEach(async () => {
      db = await factory();
    });
    afterEach(async () => {
      for (const c of open.splice(0)) await c.close();
      await db.destroy();
    });

    it('adds, never replaces: two API processes add to the same interval at once and either reads the exact sum', async () => {
      const [a, b] = [await connect(), await connect()];
      // 40 flushes from each process, interleaved, all into the same key.
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).store.add([calls(t0, 'i-1', [1, 2], i % 4 ? 200 : 503)]),
        ),
      );
      const [row] = await a.store.read('e', t0, t0 + 10_000);
      expect(row).toMatchObject({
        endpoint: 'e',
        variant: 'a',
        instance: 'i-1',
        start: t0,
        invocations: 80,
        errors4xx: 0,
        errors5xx: 20,
        modelCount: 80,
        modelSumMs: 120,
      });
      expect(row?.overheadSumMs).toBeCloseTo(12, 9);
      expect(row?.modelBuckets).toHaveLength(latencyBucketCount);
      expect(row?.modelBuckets.reduce((s, n) => s + n, 0)).toBe(80);
      expect(await b.store.read('e', t0, t0 + 10_000)).toEqual(await a.store.read('e', t0, t0 + 10_000));
      // Other keys stay apart; reads are per endpoint and by interval start.
      await b.store.add([
        calls(t0, 'i-2', [5]),
        calls(t0 + 10_000, 'i-1', [5]),
        { ...calls(t0, 'i-1', [5]), endpoint: 'other' },
      ]);
      expect(
        (await a.store.read('e', t0, t0 + 20_000)).map((r) => [r.instance, r.start, r.invocations]),
      ).toEqual(
        expect.arrayContaining([
          ['i-1', t0, 80],
          ['i-2', t0, 1],
          ['i-1', t0 + 10_000, 1],
        ]),
      );
      expect(await a.store.read('e', t0, t0 + 20_000)).toHaveLength(3);
      expect(await a.store.read('e', t0 + 10_000, t0 + 20_000)).toHaveLength(1);
      // A batch larger than one INSERT's share of parameters still lands whole.
      await a.store.add(
        Array.from({ length: 450 }, (_, i) => calls(t0 + 3_600_000 + i * 10_000, 'i-1', [1])),
      );
      expect(await b.store.read('e', t0 + 3_600_000, t0 + 3_600_000 + 450 * 10_000)).toHaveLength(450);
    });

    it('keeps history across a restart and drops intervals past the retention', async () => {
      const first = await connect();
      const series = new EndpointMetricSeries(first.store, { retentionMs: 3_600_000 });
      await series.add([calls(t0, 'i-1', [3]), calls(t0 + 2 * 3_600_000, 'i-1', [4])]);
      await first.close();
      open.splice(open.indexOf(first), 1);
      const again = new EndpointMetricSeries((await connect()).store, { retentionMs: 3_600_000 });
      expect((await again.store.read('e', 0, Number.MAX_SAFE_INTEGER)).map((r) => r.start)).toEqual([
        t0,
        t0 + 2 * 3_600_000,
      ]);
      expect(await again.prune(t0 + 2 * 3_600_000 + 1)).toBe(1);
      expect((await again.store.read('e', 0, Number.MAX_SAFE_INTEGER)).map((r) => r.start)).toEqual([
        t0 + 2 * 3_600_000,
      ]);
      expect(await again.prune(t0 + 2 * 3_600_000 + 1)).toBe(0);
    });

    it('answers a window: p50/p90/p99 from the buckets, CPU and memory per variant and instance, coarser steps for long windows', async () => {
      const { store } = await connect();
      const series = new EndpointMetricSeries(store);
      // 1..100 ms over two instances and two processes' rows: p50 50, p90 90, p99 99 exactly (the
      // bucket bounds 30/50, 75/100 hold them and interpolation lands on the rank).
      const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
      await series.add([
        calls(
          t0,
          'i-1',
          latencies.filter((x) => x % 2),
        ),
        calls(
          t0,
          'i-2',
          latencies.filter((x) => x % 2 === 0),
        ),
        { ...emptyMetricRow('e', 'a', 'i-1', t0), cpuSum: 60, memorySum: 2000, resourceSamples: 2 },
        { ...emptyMetricRow('e', 'a', 'i-2', t0), cpuSum: 10, memorySum: 500, resourceSamples: 1 },
        { ...emptyMetricRow('e', '', '', t0 + 10_000), invocations: 2, errors4xx: 2 },
      ]);
      const m = await series.query('e', { from: t0, to: t0 + 30_000, perInstance: true });
      expect(m).toMatchObject({ EndpointName: 'e', intervalSeconds: 10, windowSeconds: 30, scope: 'stored' });
      expect(m.variants.map((v) => v.VariantName)).toEqual(['', 'a']);
      const a = m.variants.find((v) => v.VariantName === 'a');
      expect(a?.samples.map((s) => s.time)).toEqual([
        '2026-01-01T12:00:00.000Z',
        '2026-01-01T12:00:10.000Z',
        '2026-01-01T12:00:20.000Z',
      ]);
      expect(a?.samples[0]).toEqual({
        time: '2026-01-01T12:00:00.000Z',
        invocations: 100,
        errors4xx: 0,
        errors5xx: 0,
        modelLatencyMs: 50.5,
        overheadLatencyMs: 5.05,
        modelLatencyP50Ms: 50,
        modelLatencyP90Ms: 90,
        modelLatencyP99Ms: 99,
        overheadLatencyP50Ms: 5,
        overheadLatencyP90Ms: expect.any(Number),
        overheadLatencyP99Ms: expect.any(Number),
        instances: 2,
        // Mean over instances of each one's mean (30 and 10); memory the sum of their means.
        cpuPercent: 20,
        memoryBytes: 1500,
      });
      expect(a?.samples[1]).toMatchObject({
        invocations: 0,
        modelLatencyP50Ms: null,
        instances: 0,
        cpuPercent: null,
      });
      expect(
        a?.instances?.map((i) => [i.InstanceId, i.samples[0]?.invocations, i.samples[0]?.cpuPercent]),
      ).toEqual([
        ['i-1', 50, 30],
        ['i-2', 50, 10],
      ]);
      expect(m.variants[0]?.samples[1]).toMatchObject({ invocations: 2, errors4xx: 2 });
      expect((await series.query('e', { from: t0, to: t0 + 30_000 })).variants[1]).not.toHaveProperty(
        'instances',
      );

      // A day in 240 s steps (360 samples): the intervals of one step merge, quantiles included.
      await series.add([calls(t0 + 60_000, 'i-1', [1, 1, 1]), calls(t0 + 200_000, 'i-2', [100])]);
      const day = await series.query('e', { from: t0, to: t0 + 86_400_000 });
      expect(day.intervalSeconds).toBe(240);
      const first = day.variants.find((v) => v.VariantName === 'a')?.samples;
      expect(first).toHaveLength(360);
      expect(first?.[0]).toMatchObject({ invocations: 104, modelLatencyP99Ms: 99 });
    });
  });
}
