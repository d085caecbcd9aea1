/**
 * Fixed latency buckets for the stored endpoint series: each interval keeps a count per bucket, so
 * the intervals of several API processes (or of several 10 s intervals, for a coarser step) merge
 * exactly by adding counts, and p50/p90/p99 come from the merged counts.
 */

/** Upper bounds (ms, inclusive) of the buckets; one more bucket holds everything above the last. */
export const latencyBucketBoundsMs: readonly number[] = [
  0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 200, 500, 1000, 2500,
  5000, 10_000, 30_000, 60_000,
];

/** How many counts a histogram holds: one per bound and the overflow bucket. */
export const latencyBucketCount = latencyBucketBoundsMs.length + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(latencyBucketCount).fill(0);
}

/** The bucket a latency falls in (binary search over the bounds). */
export function latencyBucketOf(ms: number): number {
  let lo = 0;
  let hi = latencyBucketBoundsMs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= (latencyBucketBoundsMs[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Adds `from` into `into` bucket by bucket. */
export function addHistogram(into: number[], from: readonly number[]): void {
  for (let i = 0; i < latencyBucketCount; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, null when it is empty: the bucket holding the rank
 * `q × count`, interpolated linearly between its bounds (as Prometheus' histogram_quantile does).
 * The answer is within the bucket that holds the true quantile; the overflow bucket answers its
 * lower bound (60 s, the model timeout).
 */
export function latencyQuantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < latencyBucketCount; i++) {
    const n = histogram[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      const lower = i === 0 ? 0 : (latencyBucketBoundsMs[i - 1] as number);
      const upper = latencyBucketBoundsMs[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return latencyBucketBoundsMs.at(-1) as number;
}
