import type { EndpointInstance } from '@trainyard/contracts/endpoints';
import { TrainyardError } from '@trainyard/contracts/errors';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DoorServices } from './door-services.js';
import { EndpointMetricsStore } from './endpoint-metrics-store.js';

function storeWith(instances: Partial<EndpointInstance>[], { intervalMs = 1000, windowMs = 3000 } = {}) {
  const endpoints = {
    allInstances: async () => instances as EndpointInstance[],
    describeEndpoint: async (name: string) => {
      if (name !== 'e') throw new TrainyardError('NOT_FOUND', `endpoint "${name}" does not exist`);
      return {} as never;
    },
  } as unknown as DoorServices['endpoints'];
  return new EndpointMetricsStore({ endpoints, log: pino({ level: 'silent' }) }, { intervalMs, windowMs });
}

describe('the in-memory endpoint traffic ring', () => {
  it('turns the calls between ticks into one sample per variant: counts, 4xx/5xx, mean latencies, instance load', async () => {
    const store = storeWith([
      { EndpointName: 'e', VariantName: 'a', CpuPercent: 20, MemoryBytes: 100 },
      { EndpointName: 'e', VariantName: 'a', CpuPercent: 40, MemoryBytes: 50 },
    ]);
    store.record('e', 'a', 200, 10, 1);
    store.record('e', 'a', 200, 30, 3);
    store.record('e', 'a', 424, 5, 1);
    store.record('e', 'a', 503);
    store.record('e', '', 403);
    await store.tick(new Date('2026-01-01T00:00:00Z'));
    const m = await store.series('e');
    expect(m).toMatchObject({ EndpointName: 'e', intervalSeconds: 1, windowSeconds: 3, scope: 'process' });
    const a = m.variants.find((v) => v.VariantName === 'a')!.samples;
    expect(a).toEqual([
      {
        time: '2026-01-01T00:00:00.000Z',
        invocations: 4,
        errors4xx: 1,
        errors5xx: 1,
        modelLatencyMs: 15,
        overheadLatencyMs: 5 / 3,
        instances: 2,
        cpuPercent: 30,
        memoryBytes: 150,
      },
    ]);
    expect(m.variants.find((v) => v.VariantName === '')!.samples[0]).toMatchObject({
      invocations: 1,
      errors4xx: 1,
      modelLatencyMs: null,
      instances: 0,
      cpuPercent: null,
    });
    // The next tick starts from zero, and the ring keeps only its window.
    for (let i = 1; i <= 4; i++) await store.tick(new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    const later = (await store.series('e')).variants.find((v) => v.VariantName === 'a')!.samples;
    expect(later.map((s) => s.time)).toEqual([
      '2026-01-01T00:00:02.000Z',
      '2026-01-01T00:00:03.000Z',
      '2026-01-01T00:00:04.000Z',
    ]);
    expect(later.every((s) => s.invocations === 0 && s.instances === 2)).toBe(true);
  });

  it('answers an unknown endpoint with NOT_FOUND and keeps nothing for endpoints without traffic or instances', async () => {
    const store = storeWith([]);
    await expect(store.series('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await store.tick();
    expect((await store.series('e')).variants).toEqual([]);
    // Calls to names that do not exist (refused before routing) leave no ring behind.
    for (let i = 0; i < 5000; i++) store.record(`made-up-${i}`, '', 403);
    await store.tick();
    expect(store.trackedEndpoints).toBe(0);
    store.record('e', 'a', 200, 1, 1);
    await store.tick();
    expect(store.trackedEndpoints).toBe(1);
  });

  it('forgets an endpoint once a whole window passed without calls or instances', async () => {
    const store = storeWith([]);
    store.record('e', 'a', 200, 1, 1);
    for (let i = 0; i < 3; i++) await store.tick();
    expect((await store.series('e')).variants).toHaveLength(1);
    await store.tick();
    expect((await store.series('e')).variants).toEqual([]);
    // Calls to names that do not exist (refused before routing) leave no ring behind.
    for (let i = 0; i < 5000; i++) store.record(`made-up-${i}`, '', 403);
    await store.tick();
    expect(store.trackedEndpoints).toBe(0);
    store.record('e', 'a', 200, 1, 1);
    await store.tick();
    expect(store.trackedEndpoints).toBe(1);
  });
});
