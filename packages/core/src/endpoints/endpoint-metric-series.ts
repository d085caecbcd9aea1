import {
  type EndpointMetricSample,
  type EndpointMetrics,
  endpointMetricLimits,
} from '@trainyard/contracts/endpoints';
import type { EndpointMetricRow, EndpointMetricStore } from '../ports/endpoint-metric-store.js';
import { addHistogram, emptyHistogram, latencyBucketOf, latencyQuantile } from './latency-histogram.js';

/** An empty interval row of one key. */
export function emptyMetricRow(
  endpoint: string,
  variant: string,
  instance: string,
  start: number,
): EndpointMetricRow {
  return {
    endpoint,
    variant,
    instance,
    start,
    invocations: 0,
    errors4xx: 0,
    errors5xx: 0,
    modelCount: 0,
    modelSumMs: 0,
    overheadSumMs: 0,
    modelBuckets: emptyHistogram(),
    overheadBuckets: emptyHistogram(),
    cpuSum: 0,
    memorySum: 0,
    resourceSamples: 0,
  };
}

/** Adds one invocation's outcome to a row; `modelMs`/`overheadMs` when an instance answered. */
export function countCall(
  row: EndpointMetricRow,
  status: number,
  modelMs?: number,
  overheadMs?: number,
): void {
  row.invocations += 1;
  if (status >= 400 && status < 500) row.errors4xx += 1;
  if (status >= 500) row.errors5xx += 1;
  if (modelMs !== undefined) {
    const overhead = overheadMs ?? 0;
    row.modelCount += 1;
    row.modelSumMs += modelMs;
    row.overheadSumMs += overhead;
    (row.modelBuckets[latencyBucketOf(modelMs)] as number) += 1;
    (row.overheadBuckets[latencyBucketOf(overhead)] as number) += 1;
  }
}

/** Adds all of `from`'s counts to `into` (same key or not: the caller decides what merges). */
export function mergeRow(into: EndpointMetricRow, from: EndpointMetricRow): void {
  into.invocations += from.invocations;
  into.errors4xx += from.errors4xx;
  into.errors5xx += from.errors5xx;
  into.modelCount += from.modelCount;
  into.modelSumMs += from.modelSumMs;
  into.overheadSumMs += from.overheadSumMs;
  addHistogram(into.modelBuckets, from.modelBuckets);
  addHistogram(into.overheadBuckets, from.overheadBuckets);
  into.cpuSum += from.cpuSum;
  into.memorySum += from.memorySum;
  into.resourceSamples += from.resourceSamples;
}

/** Rows of the same key summed into one (an upsert may touch each stored row once per statement). */
export function mergeByKey(rows: readonly EndpointMetricRow[]): EndpointMetricRow[] {
  const byKey = new Map<string, EndpointMetricRow>();
  for (const row of rows) {
    const key = `${row.endpoint}\0${row.variant}\0${row.instance}\0${row.start}`;
    const into = byKey.get(key);
    if (!into)
      byKey.set(key, {
        ...row,
        modelBuckets: [...row.modelBuckets],
        overheadBuckets: [...row.overheadBuckets],
      });
    else mergeRow(into, row);
  }
  return [...byKey.values()];
}

export interface MetricWindow {
  /** Epoch ms. */
  from: number;
  to: number;
  perInstance?: boolean;
}

const round = (n: number | null) => (n === null ? null : Math.round(n * 1000) / 1000);

/** A step of one variant: its calls summed, and each instance's row of the step. */
function sampleOf(
  time: number,
  calls: EndpointMetricRow | undefined,
  instances: EndpointMetricRow[],
): EndpointMetricSample {
  const r = calls ?? emptyMetricRow('', '', '', time);
  const sampled = instances.filter((i) => i.resourceSamples > 0);
  const mean = (sum: number) => (r.modelCount ? sum / r.modelCount : null);
  return {
    time: new Date(time).toISOString(),
    invocations: r.invocations,
    errors4xx: r.errors4xx,
    errors5xx: r.errors5xx,
    modelLatencyMs: round(mean(r.modelSumMs)),
    overheadLatencyMs: round(mean(r.overheadSumMs)),
    modelLatencyP50Ms: round(latencyQuantile(r.modelBuckets, 0.5)),
    modelLatencyP90Ms: round(latencyQuantile(r.modelBuckets, 0.9)),
    modelLatencyP99Ms: round(latencyQuantile(r.modelBuckets, 0.99)),
    overheadLatencyP50Ms: round(latencyQuantile(r.overheadBuckets, 0.5)),
    overheadLatencyP90Ms: round(latencyQuantile(r.overheadBuckets, 0.9)),
    overheadLatencyP99Ms: round(latencyQuantile(r.overheadBuckets, 0.99)),
    instances: sampled.length,
    cpuPercent: sampled.length
      ? round(sampled.reduce((s, i) => s + i.cpuSum / i.resourceSamples, 0) / sampled.length)
      : null,
    memoryBytes: sampled.length
      ? Math.round(sampled.reduce((s, i) => s + i.memorySum / i.resourceSamples, 0))
      : null,
  };
}

/**
 * The stored endpoint metric series (SageMaker keeps these in CloudWatch): API processes add their
 * interval totals, the reconciler's leader adds instance CPU and memory and prunes what is older
 * than the retention, and any process answers a window for the whole endpoint, in steps of the
 * stored interval or, for a long window, of a multiple of it (histograms merge by adding, so
 * quantiles of a coarse step are as exact as those of a fine one).
 */
export class EndpointMetricSeries {
  readonly intervalMs: number;
  readonly retentionMs: number;

  constructor(
    readonly store: EndpointMetricStore,
    options: { intervalMs?: number; retentionMs?: number } = {},
  ) {
    this.intervalMs = options.intervalMs ?? endpointMetricLimits.intervalSeconds * 1000;
    this.retentionMs = options.retentionMs ?? endpointMetricLimits.retentionHours * 3_600_000;
  }

  /** The start of the interval holding `at` (epoch ms). */
  intervalOf(at: number): number {
    return Math.floor(at / this.intervalMs) * this.intervalMs;
  }

  add(rows: readonly EndpointMetricRow[]): Promise<void> {
    return rows.length ? this.store.add(mergeByKey(rows)) : Promise.resolve();
  }

  /** Deletes intervals older than the retention; returns how many rows went. */
  prune(now = Date.now()): Promise<number> {
    return this.store.deleteBefore(now - this.retentionMs);
  }

  /** The samples of an endpoint over `window` (the caller checks the endpoint exists). */
  async query(endpoint: string, window: MetricWindow): Promise<EndpointMetrics> {
    const span = Math.max(1, window.to - window.from);
    const step =
      Math.max(1, Math.ceil(span / endpointMetricLimits.maxSamples / this.intervalMs)) * this.intervalMs;
    const first = Math.floor(window.from / step) * step;
    const rows = await this.store.read(endpoint, first, window.to);
    // variant → step → calls of the step (all instances), and variant → instance → step → row.
    const calls = new Map<string, Map<number, EndpointMetricRow>>();
    const instances = new Map<string, Map<string, Map<number, EndpointMetricRow>>>();
    for (const row of rows) {
      const at = Math.floor(row.start / step) * step;
      let byStep = calls.get(row.variant);
      if (!byStep) calls.set(row.variant, (byStep = new Map()));
      let sum = byStep.get(at);
      if (!sum) byStep.set(at, (sum = emptyMetricRow(endpoint, row.variant, '', at)));
      mergeRow(sum, row);
      if (row.instance === '') continue;
      let byInstance = instances.get(row.variant);
      if (!byInstance) instances.set(row.variant, (byInstance = new Map()));
      let mine = byInstance.get(row.instance);
      if (!mine) byInstance.set(row.instance, (mine = new Map()));
      let cell = mine.get(at);
      if (!cell) mine.set(at, (cell = emptyMetricRow(endpoint, row.variant, row.instance, at)));
      mergeRow(cell, row);
    }
    const times: number[] = [];
    for (let at = first; at < window.to; at += step) times.push(at);
    const variants = [...calls.keys()].sort().map((variant) => {
      const byInstance = instances.get(variant) ?? new Map<string, Map<number, EndpointMetricRow>>();
      const cells = (at: number) =>
        [...byInstance.values()].flatMap((m) => {
          const cell = m.get(at);
          return cell ? [cell] : [];
        });
      const samples = times.map((at) => sampleOf(at, calls.get(variant)?.get(at), cells(at)));
      if (!window.perInstance) return { VariantName: variant, samples };
      return {
        VariantName: variant,
        samples,
        instances: [...byInstance.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([id, m]) => ({
            InstanceId: id,
            samples: times.map((at) => {
              const cell = m.get(at);
              return sampleOf(at, cell, cell ? [cell] : []);
            }),
          })),
      };
    });
    return {
      EndpointName: endpoint,
      intervalSeconds: step / 1000,
      windowSeconds: Math.round((window.to - window.from) / 1000),
      from: new Date(window.from).toISOString(),
      to: new Date(window.to).toISOString(),
      scope: 'stored',
      variants,
    };
  }
}
