/**
 * One stored interval of one endpoint instance (or of calls refused before an instance answered:
 * `instance` "", and `variant` "" when no variant was picked either). Every field is a sum, so two
 * rows of the same key (two API processes, or two flushes of one) merge by adding.
 */
export interface EndpointMetricRow {
  endpoint: string;
  variant: string;
  instance: string;
  /** Start of the interval (epoch ms, a multiple of the interval). */
  start: number;
  invocations: number;
  errors4xx: number;
  errors5xx: number;
  /** Calls an instance answered, and the sums of their model and overhead latencies (ms). */
  modelCount: number;
  modelSumMs: number;
  overheadSumMs: number;
  /** Counts per latency bucket (latency-histogram.ts), model and overhead. */
  modelBuckets: number[];
  overheadBuckets: number[];
  /** CPU (100 = one core) and resident memory samples of the instance, summed, and how many. */
  cpuSum: number;
  memorySum: number;
  resourceSamples: number;
}

/** Stored endpoint metric intervals: `add` adds to what is stored, never replaces. */
export interface EndpointMetricStore {
  /** Adds each row's counts to the stored row of its key (endpoint, variant, instance, start), creating it when absent. */
  add(rows: readonly EndpointMetricRow[]): Promise<void>;
  /** The rows of an endpoint with `from ≤ start < to`, ordered by start. */
  read(endpoint: string, from: number, to: number): Promise<EndpointMetricRow[]>;
  /** Deletes rows with `start < before`; returns how many. */
  deleteBefore(before: number): Promise<number>;
}
