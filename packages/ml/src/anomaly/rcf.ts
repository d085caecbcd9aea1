import { MlInputError } from '../core/errors.js';
import { type HyperValue, ParamReader } from '../core/params.js';
import { Random } from '../core/random.js';
import { denseRows } from '../data/dense-rows.js';
import type { DenseMatrix } from '../data/matrix.js';

const FORMAT_VERSION = 1;

/**
 * One random cut tree, flattened. Internal nodes: `dim`/`cut` (x[dim] <= cut goes left) and the bounding
 * box of their points (`lo`/`hi`, row-major per node); leaves: `dim = -1` and `point` = index of a stored
 * point. `mass` counts points (duplicates collapse into one leaf).
 */
interface CutTree {
  dim: Int32Array;
  cut: Float64Array;
  left: Int32Array;
  right: Int32Array;
  mass: Int32Array;
  point: Int32Array;
  lo: Float64Array;
  hi: Float64Array;
  points: Float64Array;
}

/**
 * Random Cut Forest anomaly detector with SageMaker's hyperparameters `num_trees` (default 100) and
 * `num_samples_per_tree` (default 256); `feature_dim` is taken from the data. Each tree is built on a
 * random sample; a point's score is the forest's average of the co-displacement-style score of AWS's RCF
 * (the `AnomalyScoreVisitor` of randomcutforest-by-aws, used by SageMaker RCF): at the leaf, 1/(depth+1)
 * for an unseen point (damped 1/(depth + log2(mass+1)) for a stored one), then at every ancestor mixed with
 * 1/(depth+1) by the probability that a random cut separates the point from that node's box, finally
 * scaled by log2(1 + samples). Higher means more anomalous; SageMaker suggests flagging scores beyond
 * mean + 3 standard deviations.
 *
 * @example
 * const rcf = RandomCutForest.fit(x, { num_trees: 50, num_samples_per_tree: 256 });
 * const s = rcf.score(x);
 */
export class RandomCutForest {
  readonly numFeatures: number;
  readonly samplesPerTree: number;
  private readonly trees: CutTree[];

  private constructor(numFeatures: number, samplesPerTree: number, trees: CutTree[]) {
    this.numFeatures = numFeatures;
    this.samplesPerTree = samplesPerTree;
    this.trees = trees;
  }

  static fit(x: DenseMatrix, hyperparameters: Readonly<Record<string, HyperValue>> = {}): RandomCutForest {
    const r = new ParamReader(hyperparameters);
    const numTrees = r.int('num_trees', 100, { min: 1, max: 10000 });
    const samples = r.int('num_samples_per_tree', 256, { min: 1, max: 2048 });
    if (hyperparameters.feature_dim !== undefined && r.int('feature_dim', x.cols) !== x.cols) {
      throw new MlInputError(
        'feature_dim',
        `is ${hyperparameters.feature_dim} but the data has ${x.cols} columns`,
      );
    }
    const rng = new Random(r.int('seed', 0));
    const n = x.rows;
    const d = x.cols;
    if (n === 0) throw new MlInputError('x', 'is empty (0 rows)');
    const X = denseRows(x);
    const trees: CutTree[] = [];
    const m = Math.min(samples, n);
    for (let t = 0; t < numTrees; t++) {
      const rows = new Int32Array(n);
      for (let i = 0; i < n; i++) rows[i] = i;
      for (let i = 0; i < m; i++) {
        const j = i + rng.int(n - i);
        const tmp = rows[i]!;
        rows[i] = rows[j]!;
        rows[j] = tmp;
      }
      const points = new Float64Array(m * d);
      for (let q = 0; q < m; q++) points.set(X.subarray(rows[q]! * d, (rows[q]! + 1) * d), q * d);
      trees.push(buildTree(points, m, d, rng));
    }
    return new RandomCutForest(d, m, trees);
  }

  /** Anomaly score per row (average over trees). */
  score(x: DenseMatrix): Float64Array {
    if (x.cols !== this.numFeatures)
      throw new MlInputError('x', `has ${x.cols} columns, expected ${this.numFeatures}`);
    const X = denseRows(x);
    const n = x.rows;
    const d = this.numFeatures;
    const out = new Float64Array(n);
    const path = new Int32Array(4096);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const t of this.trees) s += scoreTree(t, X, i * d, d, path);
      out[i] = s / this.trees.length;
    }
    return out;
  }

  toJSON() {
    return {
      format: 'trainyard-ml' as const,
      kind: 'rcf' as const,
      version: FORMAT_VERSION,
      numFeatures: this.numFeatures,
      samplesPerTree: this.samplesPerTree,
      trees: this.trees.map((t) => ({
        dim: Array.from(t.dim),
        cut: Array.from(t.cut),
        left: Array.from(t.left),
        right: Array.from(t.right),
        mass: Array.from(t.mass),
        point: Array.from(t.point),
        lo: Array.from(t.lo),
        hi: Array.from(t.hi),
        points: Array.from(t.points),
      })),
    };
  }

  static fromJSON(j: ReturnType<RandomCutForest['toJSON']>): RandomCutForest {
    if (j?.format !== 'trainyard-ml' || j.kind !== 'rcf')
      throw new MlInputError('model', 'is not a Trainyard RCF model');
    return new RandomCutForest(
      j.numFeatures,
      j.samplesPerTree,
      j.trees.map((t) => ({
        dim: Int32Array.from(t.dim),
        cut: Float64Array.from(t.cut),
        left: Int32Array.from(t.left),
        right: Int32Array.from(t.right),
        mass: Int32Array.from(t.mass),
        point: Int32Array.from(t.point),
        lo: Float64Array.from(t.lo),
        hi: Float64Array.from(t.hi),
        points: Float64Array.from(t.points),
      })),
    );
  }
}

function buildTree(points: Float64Array, m: number, d: number, rng: Random): CutTree {
  const dim: number[] = [];
  const cut: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const mass: number[] = [];
  const point: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const idx = Int32Array.from({ length: m }, (_, i) => i);
  const build = (s: number, e: number): number => {
    const id = dim.length;
    const blo = new Float64Array(d).fill(Number.POSITIVE_INFINITY);
    const bhi = new Float64Array(d).fill(Number.NEGATIVE_INFINITY);
    for (let q = s; q < e; q++) {
      const o = idx[q]! * d;
      for (let j = 0; j < d; j++) {
        const v = points[o + j]!;
        if (v < blo[j]!) blo[j] = v;
        if (v > bhi[j]!) bhi[j] = v;
      }
    }
    let range = 0;
    for (let j = 0; j < d; j++) range += bhi[j]! - blo[j]!;
    dim.push(-1);
    cut.push(0);
    left.push(-1);
    right.push(-1);
    mass.push(e - s);
    point.push(idx[s]!);
    for (let j = 0; j < d; j++) {
      lo.push(blo[j]!);
      hi.push(bhi[j]!);
    }
    if (range === 0) return id; // one distinct point (maybe repeated): a leaf with that mass
    // Dimension chosen with probability proportional to its range, cut uniform within it.
    let u = rng.next() * range;
    let cd = 0;
    for (; cd < d - 1; cd++) {
      const w = bhi[cd]! - blo[cd]!;
      if (u < w) break;
      u -= w;
    }
    const c = blo[cd]! + Math.min(u, bhi[cd]! - blo[cd]!);
    let w = s;
    for (let q = s; q < e; q++) {
      if (points[idx[q]! * d + cd]! <= c) {
        const t = idx[w]!;
        idx[w] = idx[q]!;
        idx[q] = t;
        w++;
      }
    }
    if (w === s || w === e) {
      // The cut landed on the boundary; split off the maximum instead so both sides are non-empty.
      return splitAtMax(id, s, e, cd);
    }
    dim[id] = cd;
    cut[id] = c;
    const l = build(s, w);
    const r = build(w, e);
    left[id] = l;
    right[id] = r;
    return id;
  };
  const splitAtMax = (id: number, s: number, e: number, cd: number): number => {
    let mx = Number.NEGATIVE_INFINITY;
    let mn = Number.POSITIVE_INFINITY;
    for (let q = s; q < e; q++) {
      const v = points[idx[q]! * d + cd]!;
      mx = Math.max(mx, v);
      mn = Math.min(mn, v);
    }
    const c = (mn + mx) / 2;
    let w = s;
    for (let q = s; q < e; q++) {
      if (points[idx[q]! * d + cd]! <= c) {
        const t = idx[w]!;
        idx[w] = idx[q]!;
        idx[q] = t;
        w++;
      }
    }
    dim[id] = cd;
    cut[id] = c;
    const l = build(s, w);
    const r = build(w, e);
    left[id] = l;
    right[id] = r;
    return id;
  };
  build(0, m);
  return {
    dim: Int32Array.from(dim),
    cut: Float64Array.from(cut),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    mass: Int32Array.from(mass),
    point: Int32Array.from(point),
    lo: Float64Array.from(lo),
    hi: Float64Array.from(hi),
    points,
  };
}

function scoreTree(t: CutTree, X: Float64Array, xo: number, d: number, path: Int32Array): number {
  let nd = 0;
  let depth = 0;
  while (t.dim[nd]! >= 0) {
    path[depth++] = nd;
    nd = X[xo + t.dim[nd]!]! <= t.cut[nd]! ? t.left[nd]! : t.right[nd]!;
  }
  const treeMass = t.mass[0]!;
  const leafMass = t.mass[nd]!;
  let same = true;
  const po = t.point[nd]! * d;
  for (let j = 0; j < d; j++) {
    if (t.points[po + j] !== X[xo + j]) {
      same = false;
      break;
    }
  }
  let score = same ? (1 - leafMass / (2 * treeMass)) / (depth + Math.log2(leafMass + 1)) : 1 / (depth + 1);
  // Walk back up: mix in "separated here" with the probability a random cut of the node's box extended by
  // the point would isolate the point. Once the point is inside a box that probability is 0 from there up.
  for (let q = depth - 1; q >= 0; q--) {
    const node = path[q]!;
    let grow = 0;
    let total = 0;
    const bo = node * d;
    for (let j = 0; j < d; j++) {
      const v = X[xo + j]!;
      const l = t.lo[bo + j]!;
      const h = t.hi[bo + j]!;
      const nl = Math.min(v, l);
      const nh = Math.max(v, h);
      grow += nh - nl - (h - l);
      total += nh - nl;
    }
    if (grow === 0) break;
    const prob = grow / total;
    score = (1 - prob) * score + prob / (q + 1);
  }
  return score * Math.log2(1 + treeMass);
}
