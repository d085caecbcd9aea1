import {
  type EndpointMetrics,
  type EndpointMetricsQuery,
  endpointMetricLimits,
} from '@trainyard/contracts/endpoints';
import { countCall, emptyMetricRow } from '@trainyard/core/endpoints/endpoint-metric-series';
import type { EndpointMetricRow } from '@trainyard/core/ports/endpoint-metric-store';
import type { DoorServices } from './door-services.js';

/** One invocation's outcome, as the invocation door (or a faster invoke path) reports it. */
export interface RecordedCall {
  endpoint: string;
  /** The variant picked; "" when the call was refused before one was. */
  variant: string;
  /** The instance that answered; "" when none did. */
  instance: string;
  status: number;
  /** Time the instance took, and the router's time beyond it (ms); absent when no instance answered. */
  modelMs?: number | undefined;
  overheadMs?: number | undefined;
}

/** Endpoints with calls not yet flushed that this process tracks at most. */
const maxPendingEndpoints = 1000;
/** Names checked to exist (or not) are remembered this long. */
const nameCacheMs = 60_000;

/**
 * This API process's side of the stored endpoint metrics: `record` adds each call to an interval
 * row in memory (keyed by endpoint, variant, instance and 10 s interval), and every `flushMs` the
 * rows go to the metadata store with one additive upsert, so the stored series holds the sum of
 * every API process and survives restarts. Calls to names that do not exist are dropped at the
 * flush (and at most `maxPendingEndpoints` names wait for it), so made-up names grow nothing.
 * `series` answers `GET /api/v1/endpoints/:name/metrics` from the store.
 */
export class EndpointMetricsStore {
  readonly flushMs: number;
  readonly #pending = new Map<string, EndpointMetricRow>();
  readonly #pendingNames = new Set<string>();
  readonly #known = new Map<string, { exists: boolean; at: number }>();
  readonly #services: Pick<DoorServices, 'endpoints' | 'endpointMetrics' | 'log'>;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    services: Pick<DoorServices, 'endpoints' | 'endpointMetrics' | 'log'>,
    { flushMs = 5_000 }: { flushMs?: number } = {},
  ) {
    this.#services = services;
    this.flushMs = flushMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.flushMs);
    this.#timer.unref();
  }

  /** Stops the timer and writes what is pending (a clean shutdown loses no count). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** Adds one invocation's outcome to this process's pending interval totals. */
  record(call: RecordedCall, now = Date.now()): void {
    if (!this.#pendingNames.has(call.endpoint)) {
      // Names are checked at the flush; until then a flood of made-up names is capped here.
      if (this.#pendingNames.size >= maxPendingEndpoints) return;
      this.#pendingNames.add(call.endpoint);
    }
    const start = this.#services.endpointMetrics.intervalOf(now);
    const key = `${call.endpoint}\0${call.variant}\0${call.instance}\0${start}`;
    let row = this.#pending.get(key);
    if (!row) {
      row = emptyMetricRow(call.endpoint, call.variant, call.instance, start);
      this.#pending.set(key, row);
    }
    countCall(row, call.status, call.modelMs, call.overheadMs);
  }

  /** Endpoint names with counts waiting for the next flush (memory bound checks). */
  get pendingEndpoints(): number {
    return this.#pendingNames.size;
  }

  /** Writes the pending rows of endpoints that exist; flushes run one after another. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushOnce());
    return this.#flushing;
  }

  async #exists(name: string, now: number): Promise<boolean> {
    const cached = this.#known.get(name);
    if (cached && now - cached.at < nameCacheMs) return cached.exists;
    const exists = await this.#services.endpoints.describeEndpoint(name).then(
      () => true,
      () => false,
    );
    if (this.#known.size >= maxPendingEndpoints) this.#known.clear();
    this.#known.set(name, { exists, at: now });
    return exists;
  }

  async #flushOnce(): Promise<void> {
    if (this.#pending.size === 0) return;
    const rows = [...this.#pending.values()];
    const names = [...this.#pendingNames];
    this.#pending.clear();
    this.#pendingNames.clear();
    const now = Date.now();
    const existing = new Set<string>();
    for (const name of names) if (await this.#exists(name, now)) existing.add(name);
    const kept = rows.filter((r) => existing.has(r.endpoint));
    try {
      await this.#services.endpointMetrics.add(kept);
    } catch (err) {
      this.#services.log.warn({ err, rows: kept.length }, 'could not store endpoint metrics; dropped them');
    }
  }

  /** The stored samples of an endpoint (which must exist) over the query's window. */
  async series(name: string, query: EndpointMetricsQuery = {}, now = Date.now()): Promise<EndpointMetrics> {
    await this.#services.endpoints.describeEndpoint(name);
    // This process's own calls show at once; other processes' within their flush interval.
    await this.flush();
    const to = query.to === undefined ? now : Date.parse(query.to);
    const from =
      query.from === undefined
        ? to - (query.minutes ?? endpointMetricLimits.defaultMinutes) * 60_000
        : Date.parse(query.from);
    return this.#services.endpointMetrics.query(name, {
      from,
      to,
      perInstance: query.perInstance === 'true',
    });
  }
}
