import type { BinCuts } from './binning.js';
import {
  CMD_HIST,
  CMD_LEAF,
  CMD_PART_A,
  CMD_PART_B,
  CMD_SPLIT_LEAF,
  type GbdtExecutor,
  type GbdtWorkspace,
  HJOB,
  LEAF_PIECE,
  leafWeight,
  MAX_GROUPS,
  PIECE,
  SUM_CHUNK,
  T_GROUPS,
  T_REC,
} from './kernels.js';
import { type GbdtTree, TreeBuilder } from './tree.js';

/** Resolved tree-growing hyperparameters (XGBoost meanings). */
export interface GrowParams {
  maxDepth: number;
  maxLeaves: number;
  lossguide: boolean;
  eta: number;
  gamma: number;
  minChildWeight: number;
  lambda: number;
  alpha: number;
  maxDeltaStep: number;
}

/** A grown tree and, per leaf, the segment of the row index array holding its training rows. */
export interface GrownTree {
  tree: GbdtTree;
  leafStart: number[];
  leafEnd: number[];
  leafValue: number[];
}

const RT_EPS = 1e-6;
/** Row-feature units below which a histogram task stays on the calling thread (hand-over costs more). */
const PAR_WORK = 100_000;
/** Rows below which a partition or leaf-update task stays on the calling thread. */
const PAR_ROWS = 16_384;

/** One histogram job: build `build`, derive `large` (or none) by subtraction, search `evals`. */
interface HistJob {
  build: OpenNode;
  large: OpenNode | null;
  evals: OpenNode[];
}

interface OpenNode {
  id: number;
  start: number;
  end: number;
  g: number;
  h: number;
  depth: number;
  slot: number;
  // Best split found for this node (gain <= RT_EPS means none).
  gain: number;
  feat: number;
  bin: number;
  missLeft: boolean;
  gl: number;
  hl: number;
}

/**
 * Grows one tree with the histogram method. Owns the row partition (`ws.rowIdx`, reused across nodes and
 * rounds: every node is a contiguous segment) and a fixed pool of histogram slots. Only the smaller
 * child of each split gets a histogram built; the larger one is parent minus smaller, in the parent's slot.
 * Depthwise growth handles a whole level per task (partition, then histograms + subtraction + split
 * search), so an executor with workers synchronises a few times per level, not per node.
 */
export class TreeGrower {
  private readonly p: GrowParams;
  private readonly ws: GbdtWorkspace;
  private readonly cuts: BinCuts;
  private readonly exec: GbdtExecutor;
  private readonly freeSlots: number[] = [];
  private builder = new TreeBuilder();
  private nodeStart: number[] = [];
  private nodeEnd: number[] = [];
  private fuseK = -1;

  constructor(p: GrowParams, ws: GbdtWorkspace, cuts: BinCuts, exec: GbdtExecutor, slots: number) {
    this.p = p;
    this.ws = ws;
    this.cuts = cuts;
    this.exec = exec;
    for (let s = slots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /** Number of histogram slots growing needs for these parameters (bounded by leaves). */
  static slotsNeeded(p: GrowParams): number {
    const byDepth = p.maxDepth > 0 ? 2 ** Math.min(p.maxDepth - 1, 30) : Number.POSITIVE_INFINITY;
    const byLeaves = p.maxLeaves > 0 ? p.maxLeaves : Number.POSITIVE_INFINITY;
    return Math.min(byDepth, byLeaves) + 1;
  }

  /** Chunks for a row-split task of `rows` rows: two per thread when worth a hand-over. */
  private rowChunks(rows: number): number {
    return rows >= PAR_ROWS && this.exec.threads > 1 ? Math.min(2 * this.exec.threads, 64) : 1;
  }

  /**
   * With `fuseLeavesInto = k` (depthwise, gamma = 0 only), the leaves of the last level are added to
   * `ws.margin` output k while their parent's rows are split, and get empty row segments in the result
   * (`addLeafValues` then covers the other leaves).
   *
   * Grows a tree on the rows `ws.rowIdx[0..nRows)` (set by the caller; `identity` means they are
   * 0..nRows-1 in order and `ws.sums` holds their chunk gradient sums), using gradients in `ws.gh` and
   * the features with `ws.featMask[f] === 1`.
   */
  grow(nRows: number, identity: boolean, fuseLeavesInto = -1): GrownTree {
    this.fuseK = fuseLeavesInto;
    this.builder = new TreeBuilder();
    this.nodeStart = [];
    this.nodeEnd = [];
    const gh = this.ws.gh;
    const rowIdx = this.ws.rowIdx;
    let g = 0;
    let h = 0;
    if (identity) {
      // Chunk sums from the gradient task, added in chunk order (the same for any thread count).
      const sums = this.ws.sums;
      const chunks = Math.ceil(nRows / SUM_CHUNK);
      for (let c = 0; c < chunks; c++) {
        g += sums[2 * c]!;
        h += sums[2 * c + 1]!;
      }
    } else {
      for (let j = 0; j < nRows; j++) {
        const i = rowIdx[j]!;
        g += gh[2 * i]!;
        h += gh[2 * i + 1]!;
      }
    }
    const rootId = this.newNode(0, nRows, g, h);
    const root: OpenNode = this.open(rootId, 0, nRows, g, h, 0);
    if (this.canSplit(root)) {
      root.slot = this.freeSlots.pop()!;
      this.histTask([{ build: root, large: null, evals: [root] }], identity);
    }
    if (this.p.lossguide) this.growLossguide(root);
    else this.growDepthwise(root);
    return this.finish();
  }

  private newNode(start: number, end: number, g: number, h: number): number {
    this.nodeStart.push(start);
    this.nodeEnd.push(end);
    const p = this.p;
    return this.builder.addLeaf(
      p.eta * leafWeight(g, h, p.lambda, p.alpha, p.minChildWeight, p.maxDeltaStep),
      h,
    );
  }

  private open(id: number, start: number, end: number, g: number, h: number, depth: number): OpenNode {
    return {
      id,
      start,
      end,
      g,
      h,
      depth,
      slot: -1,
      gain: 0,
      feat: -1,
      bin: -1,
      missLeft: false,
      gl: 0,
      hl: 0,
    };
  }

  private canSplit(nd: OpenNode): boolean {
    const p = this.p;
    return (
      (p.maxDepth === 0 || nd.depth < p.maxDepth) && nd.end - nd.start >= 2 && nd.h >= 2 * p.minChildWeight
    );
  }

  private release(nd: OpenNode): void {
    if (nd.slot >= 0) this.freeSlots.push(nd.slot);
    nd.slot = -1;
  }

  /**
   * Splits `nodes` (rows partitioned in one task), then builds the smaller child's histogram of each,
   * derives the larger one by subtraction and searches both for splits (one more task). Returns the
   * children in order, left then right.
   */
  private splitAll(nodes: OpenNode[]): OpenNode[] {
    const children = this.partition(nodes);
    const jobs: HistJob[] = [];
    for (let q = 0; q < nodes.length; q++) {
      const nd = nodes[q]!;
      const l = children[2 * q]!;
      const r = children[2 * q + 1]!;
      const lc = this.canSplit(l);
      const rc = this.canSplit(r);
      if (lc || rc) {
        const small = l.end - l.start <= r.end - r.start ? l : r;
        const large = small === l ? r : l;
        small.slot = this.freeSlots.pop()!;
        large.slot = nd.slot;
        nd.slot = -1;
        const evals: OpenNode[] = [];
        if (lc) evals.push(l);
        if (rc) evals.push(r);
        jobs.push({ build: small, large: this.canSplit(large) ? large : null, evals });
      } else this.release(nd);
    }
    if (jobs.length > 0) this.histTask(jobs, false);
    for (const c of children) if (!this.canSplit(c)) this.release(c);
    return children;
  }

  /**
   * Splits nodes whose children are leaves at the depth limit: records the splits and adds each row's
   * leaf value to its margin in one pass (no partition; the leaves get empty row segments).
   */
  private splitLast(nodes: OpenNode[]): OpenNode[] {
    const ws = this.ws;
    const t = ws.taskI;
    const tf = ws.taskF;
    const cuts = this.cuts;
    const bld = this.builder;
    let total = 0;
    for (const nd of nodes) total += nd.end - nd.start;
    const wanted = this.rowChunks(total);
    const target = wanted === 1 ? Number.POSITIVE_INFINITY : Math.ceil(total / wanted);
    t[0] = CMD_SPLIT_LEAF;
    t[3] = this.fuseK;
    let q = 0;
    let g = 0;
    let acc = 0;
    t[T_GROUPS] = 0;
    const children: OpenNode[] = [];
    for (const nd of nodes) {
      const gl = nd.gl;
      const hl = nd.hl;
      const l = this.newNode(nd.start, nd.start, gl, hl);
      const r = this.newNode(nd.start, nd.start, nd.g - gl, nd.h - hl);
      bld.setSplit(nd.id, nd.feat, cuts.cuts[cuts.offsets[nd.feat]! + nd.bin]!, nd.missLeft, nd.gain, l, r);
      this.release(nd);
      const missBin = nd.missLeft ? cuts.numBins[nd.feat]! : -1;
      // Pieces of at most `target` rows, cut anywhere (no scatter phase needed).
      for (let a = nd.start; a < nd.end; ) {
        const b = Math.min(nd.end, a + Math.max(1, target - acc));
        const o = T_REC + PIECE * q;
        t[o] = a;
        t[o + 1] = b;
        t[o + 2] = nd.feat;
        t[o + 3] = nd.bin;
        t[o + 4] = missBin;
        tf[2 * q] = bld.value[l]!;
        tf[2 * q + 1] = bld.value[r]!;
        q++;
        acc += b - a;
        a = b;
        if (acc >= target) {
          g++;
          t[T_GROUPS + g] = q;
          acc = 0;
        }
      }
    }
    if (q > t[T_GROUPS + g]!) {
      g++;
      t[T_GROUPS + g] = q;
    }
    t[2] = q;
    this.exec.run(g);
    return children;
  }

  private growDepthwise(root: OpenNode): void {
    let level: OpenNode[] = [root];
    let leaves = 1;
    const maxLeaves = this.p.maxLeaves;
    while (level.length > 0) {
      const toSplit: OpenNode[] = [];
      for (const nd of level) {
        if (nd.slot < 0 || nd.gain <= RT_EPS || (maxLeaves > 0 && leaves >= maxLeaves)) {
          this.release(nd);
          continue;
        }
        toSplit.push(nd);
        leaves++;
      }
      if (toSplit.length === 0) break;
      const last =
        this.fuseK >= 0 &&
        !this.p.lossguide &&
        this.p.gamma === 0 &&
        this.p.maxDepth > 0 &&
        toSplit[0]!.depth + 1 >= this.p.maxDepth;
      level = last ? this.splitLast(toSplit) : this.splitAll(toSplit);
    }
  }

  private growLossguide(root: OpenNode): void {
    // Max-heap on gain; ties go to the node created first, as in XGBoost's driver.
    const heap: OpenNode[] = [];
    const better = (a: OpenNode, b: OpenNode) => a.gain > b.gain || (a.gain === b.gain && a.id < b.id);
    const push = (nd: OpenNode) => {
      heap.push(nd);
      let k = heap.length - 1;
      while (k > 0) {
        const pk = (k - 1) >> 1;
        if (!better(heap[k]!, heap[pk]!)) break;
        [heap[k], heap[pk]] = [heap[pk]!, heap[k]!];
        k = pk;
      }
    };
    const pop = (): OpenNode => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        let k = 0;
        for (;;) {
          const a = 2 * k + 1;
          const b = a + 1;
          let m = k;
          if (a < heap.length && better(heap[a]!, heap[m]!)) m = a;
          if (b < heap.length && better(heap[b]!, heap[m]!)) m = b;
          if (m === k) break;
          [heap[k], heap[m]] = [heap[m]!, heap[k]!];
          k = m;
        }
      }
      return top;
    };
    if (root.slot >= 0) push(root);
    let leaves = 1;
    while (heap.length > 0) {
      const nd = pop();
      if (nd.gain <= RT_EPS || (this.p.maxLeaves > 0 && leaves >= this.p.maxLeaves)) {
        this.release(nd);
        for (const o of heap) this.release(o);
        break;
      }
      leaves++;
      for (const c of this.splitAll([nd])) if (c.slot >= 0) push(c);
    }
  }

  /**
   * One task for all `jobs`: chunks are (group of jobs, feature part); groups are balanced by rows and
   * with few jobs each histogram is also split by features. Reduces the per-part best splits in
   * feature order, which keeps the serial scan's tie-breaking.
   */
  private histTask(jobs: HistJob[], identity: boolean): void {
    const ws = this.ws;
    const t = ws.taskI;
    const tf = ws.taskF;
    const threads = this.exec.threads;
    const d = ws.d;
    let rows = 0;
    let nEval = 0;
    for (const jb of jobs) {
      rows += jb.build.end - jb.build.start;
      nEval += jb.evals.length;
    }
    const work = rows * d + (jobs.length * 32 + nEval * 64) * d;
    let fParts = 1;
    let groups = 1;
    if (threads > 1 && work >= PAR_WORK) {
      fParts = jobs.length >= 2 * threads ? 1 : Math.min(threads, d);
      groups = Math.min(jobs.length, 4 * threads, MAX_GROUPS, Math.floor(4000 / fParts));
    }
    t[0] = CMD_HIST;
    t[5] = identity ? 1 : 0;
    t[6] = fParts;
    t[T_GROUPS] = 0;
    let g = 0;
    let acc = 0;
    let e = 0;
    for (let j = 0; j < jobs.length; j++) {
      const jb = jobs[j]!;
      const o = T_REC + HJOB * j;
      t[o] = jb.build.start;
      t[o + 1] = jb.build.end;
      t[o + 2] = jb.build.slot;
      t[o + 3] = jb.large ? jb.large.slot : -1;
      t[o + 4] = -1;
      t[o + 6] = -1;
      for (let u = 0; u < jb.evals.length; u++) {
        const nd = jb.evals[u]!;
        t[o + 4 + 2 * u] = nd.slot;
        t[o + 5 + 2 * u] = e;
        tf[2 * e] = nd.g;
        tf[2 * e + 1] = nd.h;
        e++;
      }
      acc += jb.build.end - jb.build.start;
      // Close group g once it holds its share of the rows (the last group takes the rest).
      if (g < groups - 1 && acc * groups >= rows * (g + 1) && j < jobs.length - 1) {
        g++;
        t[T_GROUPS + g] = j + 1;
      }
    }
    groups = g + 1;
    t[T_GROUPS + groups] = jobs.length;
    this.exec.run(groups * fParts);
    const res = ws.res;
    const cutsArr = this.cuts;
    e = 0;
    for (const jb of jobs) {
      for (const nd of jb.evals) {
        let best = 0;
        let r = -1;
        for (let p = 0; p < fParts; p++) {
          const k = (e * fParts + p) * 6;
          if (res[k]! > best) {
            best = res[k]!;
            r = k;
          }
        }
        e++;
        nd.gain = best;
        if (r >= 0) {
          nd.feat = res[r + 1]!;
          nd.bin = res[r + 2]!;
          nd.missLeft = res[r + 3] === 1 && cutsArr.hasMissing[nd.feat] === 1;
          nd.gl = res[r + 4]!;
          nd.hl = res[r + 5]!;
        } else {
          nd.feat = -1;
          nd.bin = -1;
          nd.missLeft = false;
          nd.gl = 0;
          nd.hl = 0;
        }
      }
    }
  }

  /**
   * Partitions the rows of every node in `nodes` (stable) on its best split, records the splits and
   * returns the children (left, right per node). Rows are cut into `parts` equal shares; a node inside
   * one share is partitioned in place, a node cut by a share boundary goes through the scratch arrays.
   */
  private partition(nodes: OpenNode[]): OpenNode[] {
    const ws = this.ws;
    const t = ws.taskI;
    const cuts = this.cuts;
    let total = 0;
    for (const nd of nodes) total += nd.end - nd.start;
    // Groups (chunks) of about `target` rows: whole nodes where they fit, so that most nodes are
    // partitioned in place; only a node well above the target is cut (each piece its own group).
    const wanted = this.rowChunks(total);
    const target = wanted === 1 ? Number.POSITIVE_INFINITY : Math.ceil(total / wanted);
    t[0] = CMD_PART_A;
    let q = 0;
    let g = 0;
    let acc = 0;
    t[T_GROUPS] = 0;
    let cutNodes = false;
    for (const nd of nodes) {
      const missBin = nd.missLeft ? cuts.numBins[nd.feat]! : -1;
      const size = nd.end - nd.start;
      const np = size > 1.5 * target ? Math.ceil(size / target) : 1;
      if (np > 1 && q > t[T_GROUPS + g]!) {
        g++;
        t[T_GROUPS + g] = q;
        acc = 0;
      }
      for (let u = 0; u < np; u++) {
        const o = T_REC + PIECE * q;
        t[o] = nd.start + Math.floor((size * u) / np);
        t[o + 1] = nd.start + Math.floor((size * (u + 1)) / np);
        t[o + 2] = nd.feat;
        t[o + 3] = nd.bin;
        t[o + 4] = missBin;
        t[o + 5] = np === 1 ? 1 : 0;
        q++;
        if (np > 1) {
          g++;
          t[T_GROUPS + g] = q;
        }
      }
      if (np > 1) cutNodes = true;
      else {
        acc += size;
        if (acc >= target) {
          g++;
          t[T_GROUPS + g] = q;
          acc = 0;
        }
      }
    }
    if (q > t[T_GROUPS + g]!) {
      g++;
      t[T_GROUPS + g] = q;
    }
    const parts = g;
    t[2] = q;
    this.exec.run(parts);
    // Children in node order; offsets for pieces of cut nodes.
    const children: OpenNode[] = [];
    let k = 0;
    for (const nd of nodes) {
      const k0 = k;
      let left = 0;
      while (k < q && t[T_REC + PIECE * k]! >= nd.start && t[T_REC + PIECE * k]! < nd.end) {
        left += t[T_REC + PIECE * k + 6]!;
        k++;
      }
      const mid = nd.start + left;
      if (cutNodes) {
        let dl = nd.start;
        let dr = mid;
        for (let u = k0; u < k; u++) {
          const o = T_REC + PIECE * u;
          t[o + 7] = dl;
          t[o + 8] = dr;
          dl += t[o + 6]!;
          dr += t[o + 1]! - t[o]! - t[o + 6]!;
        }
      }
      const gl = nd.gl;
      const hl = nd.hl;
      const gr = nd.g - gl;
      const hr = nd.h - hl;
      const l = this.newNode(nd.start, mid, gl, hl);
      const r = this.newNode(mid, nd.end, gr, hr);
      const cut = cuts.cuts[cuts.offsets[nd.feat]! + nd.bin]!;
      this.builder.setSplit(nd.id, nd.feat, cut, nd.missLeft, nd.gain, l, r);
      children.push(
        this.open(l, nd.start, mid, gl, hl, nd.depth + 1),
        this.open(r, mid, nd.end, gr, hr, nd.depth + 1),
      );
    }
    if (cutNodes) {
      t[0] = CMD_PART_B;
      this.exec.run(parts);
    }
    return children;
  }

  /** margin[i * K + k] += leaf value for every training row of the grown tree (rows cut into equal shares). */
  addLeafValues(g: GrownTree, k: number): void {
    const ws = this.ws;
    const t = ws.taskI;
    const tf = ws.taskF;
    const nLeaves = g.leafStart.length;
    let total = 0;
    for (let l = 0; l < nLeaves; l++) total += g.leafEnd[l]! - g.leafStart[l]!;
    // Random-access adds into `margin`: a hand-over costs more than it saves, so this stays serial.
    const parts = 1;
    t[0] = CMD_LEAF;
    t[3] = k;
    let q = 0;
    let p = 0;
    let acc = 0;
    let bound = parts === 1 ? Number.POSITIVE_INFINITY : Math.round(total / parts);
    t[T_GROUPS] = 0;
    for (let l = 0; l < nLeaves; l++) {
      tf[l] = g.leafValue[l]!;
      const e = g.leafEnd[l]!;
      let a = g.leafStart[l]!;
      while (a < e) {
        while (acc >= bound) {
          p++;
          t[T_GROUPS + p] = q;
          bound = p === parts - 1 ? Number.POSITIVE_INFINITY : Math.round((total * (p + 1)) / parts);
        }
        const take = Math.min(e - a, bound - acc);
        const o = T_REC + LEAF_PIECE * q;
        t[o] = a;
        t[o + 1] = a + take;
        t[o + 2] = l;
        q++;
        a += take;
        acc += take;
      }
    }
    for (let pp = p + 1; pp <= parts; pp++) t[T_GROUPS + pp] = q;
    t[2] = q;
    this.exec.run(parts);
  }

  /** Prunes splits whose gain is below gamma (bottom-up, as XGBoost's pruner) and collects leaf segments. */
  private finish(): GrownTree {
    const bld = this.builder;
    const gamma = this.p.gamma;
    if (gamma > 0) {
      const prune = (id: number): boolean => {
        if (bld.left[id]! < 0) return true;
        const l = prune(bld.left[id]!);
        const r = prune(bld.right[id]!);
        if (l && r && bld.gain[id]! < gamma) {
          bld.left[id] = -1;
          bld.right[id] = -1;
          bld.feature[id] = -1;
          bld.gain[id] = 0;
          return true;
        }
        return false;
      };
      prune(0);
    }
    const leafStart: number[] = [];
    const leafEnd: number[] = [];
    const leafValue: number[] = [];
    const stack = [0];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (bld.left[id]! < 0) {
        leafStart.push(this.nodeStart[id]!);
        leafEnd.push(this.nodeEnd[id]!);
        leafValue.push(bld.value[id]!);
      } else stack.push(bld.right[id]!, bld.left[id]!);
    }
    return { tree: bld.build(), leafStart, leafEnd, leafValue };
  }

  /** Overwrites leaf values (used by objectives whose leaves are refit, e.g. absolute error). */
  setLeafValues(grown: GrownTree, values: number[]): GrownTree {
    const bld = this.builder;
    const stack = [0];
    let k = 0;
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (bld.left[id]! < 0) bld.value[id] = values[k++]!;
      else stack.push(bld.right[id]!, bld.left[id]!);
    }
    return { tree: bld.build(), leafStart: grown.leafStart, leafEnd: grown.leafEnd, leafValue: values };
  }
}
