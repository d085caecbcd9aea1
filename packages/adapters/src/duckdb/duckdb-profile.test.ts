import { describe, expect, it } from 'vitest';
import { pearsonMatrix } from './duckdb-profile.js';

/** Textbook two-pass Pearson over the rows where both values are present. */
function pearson(x: (number | null)[], y: (number | null)[]): number {
  const pairs = x.flatMap((a, i) => (a !== null && y[i] != null ? [[a, y[i] as number] as const] : []));
  const mx = pairs.reduce((s, [a]) => s + a, 0) / pairs.length;
  const my = pairs.reduce((s, [, b]) => s + b, 0) / pairs.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [a, b] of pairs) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
    syy += (b - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const arrays = (...columns: (number | null)[][]) =>
  columns.map((c) => Float64Array.from(c, (v) => (v === null ? Number.NaN : v)));

describe('pearsonMatrix', () => {
  it('uses pairwise complete rows, as pandas does', () => {
    const a = [1, 2, null, 4, 5, 7, 11];
    const b = [2.5, null, 3, 9, 10, 12, 30];
    const c = [null, 1, 0, 1, 0, 1, 0];
    const m = pearsonMatrix(arrays(a, b, c), [0, 0, 0]);
    expect(m[0]?.[1]).toBeCloseTo(pearson(a, b), 12);
    expect(m[1]?.[0]).toBe(m[0]?.[1]);
    expect(m[0]?.[2]).toBeCloseTo(pearson(a, c), 12);
    expect(m[1]?.[2]).toBeCloseTo(pearson(b, c), 12);
    expect(m[2]?.[2]).toBe(1);
  });

  it('keeps its precision on large values when shifted by the means', () => {
    const a = Array.from({ length: 1000 }, (_, i) => 1e9 + (i % 17));
    const b = a.map((v, i) => v * 2 + (i % 5));
    const [r] = [pearsonMatrix(arrays(a, b), [1e9 + 8, 2e9 + 18])[0]?.[1]];
    expect(r).toBeCloseTo(pearson(a, b), 9);
  });

  it('gives null for a constant column or fewer than two complete rows', () => {
    const m = pearsonMatrix(arrays([1, 2, 3], [4, 4, 4], [null, 1, null]), [0, 0, 0]);
    expect(m[0]?.[1]).toBeNull();
    expect(m[0]?.[2]).toBeNull();
  });
});
