import { describe, expect, it } from 'vitest';
import { DoubleSet, hashDouble, interpolatedQuantile, NumericStats, RowSample } from './numeric-profile.js';

/** Feeds `values` (null = missing) in chunks of `chunk`, with a validity bitmask when any is missing. */
function feed(stats: NumericStats, values: (number | null)[], chunk = 2048): void {
  for (let start = 0; start < values.length; start += chunk) {
    const part = values.slice(start, start + chunk);
    const data = Float64Array.from(part, (v) => v ?? 0);
    let valid: Uint8Array | null = null;
    if (part.includes(null)) {
      valid = new Uint8Array(Math.ceil(part.length / 64) * 8);
      part.forEach((v, i) => {
        if (v !== null) valid[i >> 3] = (valid?.[i >> 3] ?? 0) | (1 << (i & 7));
      });
    }
    stats.add(data, new Uint32Array(data.buffer), valid, part.length);
  }
}

const all = (values: (number | null)[]) => Float64Array.from(values, (v) => v ?? Number.NaN);

describe('NumericStats', () => {
  it('matches two-pass statistics, numpy quantiles and floor bins on values with gaps', () => {
    const values = Array.from({ length: 5000 }, (_, i) =>
      i % 13 === 0 ? null : ((i * 7919) % 1000) / 7 - 40,
    );
    const present = values.filter((v): v is number => v !== null);
    const min = Math.min(...present);
    const max = Math.max(...present);
    const stats = new NumericStats({
      min,
      max,
      distinct: true,
      exactDistinct: true,
    });
    feed(stats, values, 300);
    const summary = stats.finish(all(values));

    const mean = present.reduce((a, b) => a + b, 0) / present.length;
    const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / (present.length - 1));
    expect(summary.count).toBe(present.length);
    expect((summary.sum ?? 0) / summary.count).toBeCloseTo(mean, 10);
    expect(summary.std).toBeCloseTo(std, 10);
    expect(summary.distinct).toBe(new Set(present).size);
    expect(summary.distinctApprox).toBe(false);
    const sorted = Float64Array.from(present).sort();
    expect(summary.percentiles).toHaveLength(101);
    expect(summary.percentiles[37]).toBeCloseTo(interpolatedQuantile(sorted, 0.37), 12);
    // numpy: quantile([1, 2, 3, 4], 0.5) = 2.5, 0.1 -> 1.3
    expect(interpolatedQuantile(Float64Array.of(1, 2, 3, 4), 0.5)).toBe(2.5);
    expect(interpolatedQuantile(Float64Array.of(1, 2, 3, 4), 0.1)).toBeCloseTo(1.3, 12);
    const width = (max - min) / 10;
    const bins = new Array(10).fill(0);
    for (const v of present) bins[Math.min(9, Math.floor((v - min) / width))]++;
    expect(summary.histogram).toEqual(bins);
  });

  it('keeps its precision on large offsets, and gives null std for fewer than two values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1e12 + (i % 10));
    const stats = new NumericStats({ min: 1e12, max: 1e12 + 9, distinct: false, exactDistinct: false });
    feed(stats, values);
    const summary = stats.finish(all(values));
    expect(summary.std).toBeCloseTo(Math.sqrt((1000 * 8.25) / 999), 9);
    expect(summary.distinct).toBe(0);
    const one = new NumericStats({ min: 5, max: 5, distinct: true, exactDistinct: true });
    feed(one, [5, null]);
    expect(one.finish(all([5, null]))).toMatchObject({
      count: 1,
      std: null,
      distinct: 1,
      histogram: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
  });

  it('estimates a distinct count from its hash sample within 3% when not counting exactly, and says so', () => {
    const n = 400_000;
    const values = Array.from({ length: n }, (_, i) => Math.round(Math.sin(i) * 1e6) / 10);
    const exact = new Set(values).size;
    const stats = new NumericStats({ min: null, max: null, distinct: true, exactDistinct: false });
    feed(stats, values);
    const summary = stats.finish(new Float64Array(0));
    expect(summary.distinctApprox).toBe(true);
    expect(Math.abs(summary.distinct / exact - 1)).toBeLessThan(0.03);
    expect(summary.histogram).toEqual([]);
    expect(summary.percentiles).toEqual([]);
  });

  it('counts -0 and 0 once and NaN once, and leaves NaN out of bins and percentiles', () => {
    const set = new DoubleSet(2);
    for (const v of [0, -0, Number.NaN, Number.NaN, 1.5, 1.5]) set.add(v, hashDouble(v));
    expect(set.size).toBe(3);
    expect(hashDouble(-0)).toBe(hashDouble(0));
    const stats = new NumericStats({ min: 0, max: 1, distinct: true, exactDistinct: true });
    const values = [0, 1, Number.NaN, 0.5];
    feed(stats, values);
    const summary = stats.finish(all(values));
    expect(summary.histogram.reduce((a, b) => a + b, 0)).toBe(3);
    expect(summary.percentiles[100]).toBe(1);
  });
});

describe('RowSample', () => {
  it('keeps every row of a small input, and a repeatable uniform ~fraction of a large one', () => {
    const small = new RowSample(1, 100, 1000);
    const picked = small.pick(0, 100);
    expect(picked).toHaveLength(100);

    const pickAll = () => {
      const sample = new RowSample(2, 1_000_000, 10_000);
      for (let offset = 0; offset < 1_000_000; offset += 2048) {
        const rows = Math.min(2048, 1_000_000 - offset);
        const values = Float64Array.from({ length: rows }, (_, i) => offset + i);
        const chosen = sample.pick(offset, rows);
        sample.take(0, chosen, values, null);
        sample.take(1, chosen, values, null);
        sample.advance(chosen.length);
      }
      return sample;
    };
    const sample = pickAll();
    const [rows] = sample.columns();
    expect(Math.abs((rows?.length ?? 0) / 10_000 - 1)).toBeLessThan(0.05);
    // Uniform: as many sampled rows in each half of the input.
    const firstHalf = Array.from(rows ?? []).filter((r) => r < 500_000).length;
    expect(Math.abs(firstHalf / (rows?.length ?? 1) - 0.5)).toBeLessThan(0.03);
    expect(pickAll().columns()[0]).toEqual(rows);
    // A sub-sample is a part of the sample.
    const [part] = sample.subsample(2000);
    expect(Math.abs((part?.length ?? 0) / 2000 - 1)).toBeLessThan(0.1);
    const members = new Set(rows);
    expect(Array.from(part ?? []).every((r) => members.has(r))).toBe(true);
  });
});
