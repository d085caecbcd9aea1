import { MlInputError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { DenseMatrix } from '../data/matrix.js';

/** Sum of squared distances of each row to its assigned centroid (`centroids` row-major k × d). */
export function inertia(x: DenseMatrix, centroids: Float64Array, assignment: ArrayLike<number>): number {
  const n = x.rows;
  const d = x.cols;
  if (assignment.length !== n)
    throw new MlInputError('assignment', `has ${assignment.length} values for ${n} rows`);
  const k = centroids.length / d;
  let s = 0;
  for (let j = 0; j < d; j++) {
    const col = x.column(j);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      if (!(c >= 0 && c < k))
        throw new MlInputError('assignment', `cluster ${c} at row ${i} is outside 0..${k - 1}`);
      const diff = col[i]! - centroids[c * d + j]!;
      s += diff * diff;
    }
  }
  return s;
}

/**
 * Mean silhouette coefficient (Euclidean). Exact is O(n²); above `sampleSize` rows (default 2000) it is
 * estimated on a seeded random sample of rows, each scored against all rows of the sample.
 */
export function silhouette(
  x: DenseMatrix,
  labels: ArrayLike<number>,
  opts: { sampleSize?: number; seed?: number } = {},
): number {
  const n = x.rows;
  const d = x.cols;
  if (labels.length !== n) throw new MlInputError('labels', `has ${labels.length} values for ${n} rows`);
  const cap = opts.sampleSize ?? 2000;
  let rows: number[] = Array.from({ length: n }, (_, i) => i);
  if (n > cap) {
    const rng = new Random(opts.seed ?? 0);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    rows = rows.slice(0, cap);
  }
  const m = rows.length;
  const lab = rows.map((i) => labels[i]!);
  const ids = [...new Set(lab)];
  if (ids.length < 2) throw new MlInputError('labels', 'silhouette needs at least 2 clusters');
  const idx = new Map<number, number>();
  for (let k = 0; k < ids.length; k++) idx.set(ids[k]!, k);
  const size = new Float64Array(ids.length);
  for (const l of lab) size[idx.get(l)!]!++;
  const pts = new Float64Array(m * d);
  for (let r = 0; r < m; r++) for (let j = 0; j < d; j++) pts[r * d + j] = x.get(rows[r]!, j);
  const sum = new Float64Array(ids.length);
  let total = 0;
  for (let a = 0; a < m; a++) {
    sum.fill(0);
    for (let b = 0; b < m; b++) {
      if (a === b) continue;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = pts[a * d + j]! - pts[b * d + j]!;
        s += t * t;
      }
      sum[idx.get(lab[b]!)!]! += Math.sqrt(s);
    }
    const own = idx.get(lab[a]!)!;
    if (size[own]! <= 1) continue; // silhouette of a singleton is 0
    const ai = sum[own]! / (size[own]! - 1);
    let bi = Number.POSITIVE_INFINITY;
    for (let k = 0; k < ids.length; k++) if (k !== own && size[k]! > 0) bi = Math.min(bi, sum[k]! / size[k]!);
    total += (bi - ai) / Math.max(ai, bi);
  }
  return total / m;
}
