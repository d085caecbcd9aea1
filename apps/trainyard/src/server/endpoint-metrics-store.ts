import type { EndpointMetricSample, EndpointMetrics } from '@trainyard/contracts/endpoints';
import type { DoorServices } from './door-services.js';

interface Totals {
  invocations: number;
  errors4xx: number;
  errors5xx: number;
  modelMs: number;
  modelCount: number;
  overheadMs: number;
}

/** Endpoints with calls between two ticks that this process tracks at most. */
const maxPendingEndpoints = 1000;

const zero = (): Totals => ({
  invocations: 0,
  errors4xx: 0,
  errors5xx: 0,
  modelMs: 0,
  modelCount: 0,
  overheadMs: 0,
});

/**
 * The traffic of each endpoint variant over the last half hour, kept by this API process in
 * memory: the invocation door adds each outcome to running totals, and every `intervalMs` the
 * totals since the last tick become one sample in a ring per endpoint/variant (with the
 * instances' CPU and memory of that moment). Another API process keeps its own ring, and a restart
 * starts empty: SageMaker keeps such series in CloudWatch, a stored series, which this is not.
 */
export class EndpointMetricsStore {
  readonly intervalMs: number;
  readonly capacity: number;
  readonly #pending = new Map<string, Map<string, Totals>>();
  readonly #rings = new Map<string, Map<string, EndpointMetricSample[]>>();
  readonly #endpoints: Pick<DoorServices['endpoints'], 'allInstances' | 'describeEndpoint'>;
  readonly #log: DoorServices['log'];
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(
    services: Pick<DoorServices, 'endpoints' | 'log'>,
    { intervalMs = 5_000, windowMs = 30 * 60_000 }: { intervalMs?: number; windowMs?: number } = {},
  ) {
    this.#endpoints = services.endpoints;
    this.#log = services.log;
    this.intervalMs = intervalMs;
    this.capacity = Math.max(1, Math.ceil(windowMs / intervalMs));
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One invocation's outcome; `modelMs`/`overheadMs` when an instance answered. */
  record(endpoint: string, variant: string, status: number, modelMs?: number, overheadMs?: number): void {
    let variants = this.#pending.get(endpoint);
    if (!variants) {
      // Names are checked at the next tick; until then a flood of made-up names is capped here.
      if (this.#pending.size >= maxPendingEndpoints) return;
      variants = new Map();
      this.#pending.set(endpoint, variants);
    }
    let t = variants.get(variant);
    if (!t) {
      t = zero();
      variants.set(variant, t);
    }
    t.invocations += 1;
    if (status >= 400 && status < 500) t.errors4xx += 1;
    if (status >= 500) t.errors5xx += 1;
    if (modelMs !== undefined) {
      t.modelMs += modelMs;
      t.modelCount += 1;
      t.overheadMs += overheadMs ?? 0;
    }
  }

  /** Turns the totals since the last tick into one sample per endpoint/variant with a ring, traffic or instances. */
  async tick(now = new Date()): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const pending = new Map(this.#pending);
      this.#pending.clear();
      const instances = await this.#endpoints.allInstances().catch((err: unknown) => {
        this.#log.warn({ err }, 'could not read endpoint instances for the metrics ring');
        return [];
      });
      const names = new Set([...this.#rings.keys(), ...instances.map((i) => i.EndpointName)]);
      // A name seen only in calls (a caller may invoke any name it likes and be refused before
      // routing) gets a ring only when the endpoint exists.
      for (const name of pending.keys()) {
        if (names.has(name)) continue;
        const exists = await this.#endpoints.describeEndpoint(name).then(
          () => true,
          () => false,
        );
        if (exists) names.add(name);
      }
      const at = now.toISOString();
      for (const name of names) {
        const variants = new Set([
          ...(pending.get(name)?.keys() ?? []),
          ...(this.#rings.get(name)?.keys() ?? []),
        ]);
        for (const i of instances) if (i.EndpointName === name) variants.add(i.VariantName);
        let rings = this.#rings.get(name);
        if (!rings) {
          rings = new Map();
          this.#rings.set(name, rings);
        }
        for (const variant of variants) {
          const t = pending.get(name)?.get(variant) ?? zero();
          const mine = instances.filter((i) => i.EndpointName === name && i.VariantName === variant);
          const cpu = mine.filter((i) => i.CpuPercent !== undefined);
          const memory = mine.filter((i) => i.MemoryBytes !== undefined);
          const sample: EndpointMetricSample = {
            time: at,
            invocations: t.invocations,
            errors4xx: t.errors4xx,
            errors5xx: t.errors5xx,
            modelLatencyMs: t.modelCount ? t.modelMs / t.modelCount : null,
            overheadLatencyMs: t.modelCount ? t.overheadMs / t.modelCount : null,
            instances: mine.length,
            cpuPercent: cpu.length ? cpu.reduce((s, i) => s + (i.CpuPercent ?? 0), 0) / cpu.length : null,
            memoryBytes: memory.length ? memory.reduce((s, i) => s + (i.MemoryBytes ?? 0), 0) : null,
          };
          let ring = rings.get(variant);
          if (!ring) {
            ring = [];
            rings.set(variant, ring);
          }
          ring.push(sample);
          if (ring.length > this.capacity) ring.splice(0, ring.length - this.capacity);
        }
        // An endpoint quiet and without instances for a whole window falls out.
        const idle = [...rings.values()].every(
          (r) => r.length >= this.capacity && r.every((x) => x.invocations === 0 && x.instances === 0),
        );
        if (idle) this.#rings.delete(name);
      }
    } finally {
      this.#ticking = false;
    }
  }

  /** How many endpoints have a ring (memory bound checks). */
  get trackedEndpoints(): number {
    return this.#rings.size;
  }

  /** The samples of an endpoint (which must exist), oldest first, per variant. */
  async series(name: string): Promise<EndpointMetrics> {
    await this.#endpoints.describeEndpoint(name);
    const rings = this.#rings.get(name);
    return {
      EndpointName: name,
      intervalSeconds: this.intervalMs / 1000,
      windowSeconds: (this.capacity * this.intervalMs) / 1000,
      scope: 'process',
      variants: [...(rings?.entries() ?? [])].map(([variant, samples]) => ({
        VariantName: variant,
        samples: [...samples],
      })),
    };
  }
}
