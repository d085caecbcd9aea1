import type { BinCuts, BinnedMatrix } from './binning.js';
import { FEATURE_STRIDE, type HistogramBackend } from './histogram.js';
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
 * Grows one tree with the histogram method. Owns the row partition (`rowIdx`, reused across nodes and
 * rounds: every node is a contiguous segment) and a fixed pool of histogram slots. Only the smaller
 * child of each split gets a histogram built; the larger one is parent minus smaller, in the parent's slot.
 */
export class TreeGrower {
  private readonly p: GrowParams;
  private readonly binned: BinnedMatrix;
  private readonly cuts: BinCuts;
  private readonly backend: HistogramBackend;
  private readonly rowIdx: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly hist: Float64Array;
  private readonly gh: Float64Array;
  private readonly freeSlots: number[] = [];
  private readonly jobs: Int32Array;
  private featureMask: Uint8Array;
  private builder = new TreeBuilder();
  private nodeStart: number[] = [];
  private nodeEnd: number[] = [];
  private nodeG: number[] = [];
  private nodeH: number[] = [];

  constructor(
    p: GrowParams,
    binned: BinnedMatrix,
    cuts: BinCuts,
    backend: HistogramBackend,
    bufs: { rowIdx: Uint32Array; hist: Float64Array; gh: Float64Array },
    slots: number,
  ) {
    this.p = p;
    this.binned = binned;
    this.cuts = cuts;
    this.backend = backend;
    this.rowIdx = bufs.rowIdx;
    this.hist = bufs.hist;
    this.gh = bufs.gh;
    this.scratch = new Uint32Array(binned.rows);
    this.jobs = new Int32Array(3 * slots);
    this.featureMask = new Uint8Array(binned.cols).fill(1);
    for (let s = slots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /** Number of histogram slots growing needs for these parameters (bounded by leaves). */
  static slotsNeeded(p: GrowParams): number {
    const byDepth = p.maxDepth > 0 ? 2 ** Math.min(p.maxDepth - 1, 30) : Number.POSITIVE_INFINITY;
    const byLeaves = p.maxLeaves > 0 ? p.maxLeaves : Number.POSITIVE_INFINITY;
    return Math.min(byDepth, byLeaves) + 1;
  }

  /**
   * Grows a tree on the rows `rowIdx[0..nRows)` (set by the caller; `identity` means they are
   * 0..nRows-1 in order), using gradients in `gh` and the features with `featureMask[f] === 1`.
   */
  grow(nRows: number, identity: boolean, featureMask: Uint8Array): GrownTree {
    this.featureMask = featureMask;
    this.builder = new TreeBuilder();
    this.nodeStart = [];
    this.nodeEnd = [];
    this.nodeG = [];
    this.nodeH = [];
    const gh = this.gh;
    const rowIdx = this.rowIdx;
    let g = 0;
    let h = 0;
    if (identity) {
      for (let i = 0; i < nRows; i++) {
        g += gh[2 * i]!;
        h += gh[2 * i + 1]!;
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
      this.jobs[0] = 0;
      this.jobs[1] = nRows;
      this.jobs[2] = root.slot;
      this.backend.build(this.jobs, 1, identity);
      this.evaluate(root);
    }
    if (this.p.lossguide) this.growLossguide(root);
    else this.growDepthwise(root);
    return this.finish();
  }

  private newNode(start: number, end: number, g: number, h: number): number {
    this.nodeStart.push(start);
    this.nodeEnd.push(end);
    this.nodeG.push(g);
    this.nodeH.push(h);
    return this.builder.addLeaf(this.p.eta * this.weight(g, h), h);
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

  private growDepthwise(root: OpenNode): void {
    let level: OpenNode[] = [root];
    let leaves = 1;
    const maxLeaves = this.p.maxLeaves;
    while (level.length > 0) {
      const next: OpenNode[] = [];
      const toBuild: OpenNode[] = [];
      const pairs: [OpenNode, OpenNode, OpenNode][] = [];
      for (const nd of level) {
        if (nd.slot < 0 || nd.gain <= RT_EPS || (maxLeaves > 0 && leaves >= maxLeaves)) {
          this.release(nd);
          continue;
        }
        const [l, r] = this.applySplit(nd);
        leaves++;
        const lc = this.canSplit(l);
        const rc = this.canSplit(r);
        if (lc || rc) {
          const small = l.end - l.start <= r.end - r.start ? l : r;
          const large = small === l ? r : l;
          small.slot = this.freeSlots.pop()!;
          large.slot = nd.slot;
          nd.slot = -1;
          toBuild.push(small);
          pairs.push([small, large, nd]);
        } else this.release(nd);
        next.push(l, r);
      }
      this.buildHistograms(toBuild);
      for (const [small, large] of pairs) {
        this.subtract(large.slot, small.slot);
        for (const c of [small, large]) {
          if (this.canSplit(c)) this.evaluate(c);
          else this.release(c);
        }
      }
      level = next;
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
      const [l, r] = this.applySplit(nd);
      leaves++;
      const lc = this.canSplit(l);
      const rc = this.canSplit(r);
      if (!lc && !rc) {
        this.release(nd);
        continue;
      }
      const small = l.end - l.start <= r.end - r.start ? l : r;
      const large = small === l ? r : l;
      small.slot = this.freeSlots.pop()!;
      large.slot = nd.slot;
      nd.slot = -1;
      this.buildHistograms([small]);
      this.subtract(large.slot, small.slot);
      for (const c of [l, r]) {
        if (this.canSplit(c)) {
          this.evaluate(c);
          push(c);
        } else this.release(c);
      }
    }
  }

  private buildHistograms(nodes: OpenNode[]): void {
    if (nodes.length === 0) return;
    const jobs = this.jobs;
    for (let q = 0; q < nodes.length; q++) {
      const nd = nodes[q]!;
      jobs[3 * q] = nd.start;
      jobs[3 * q + 1] = nd.end;
      jobs[3 * q + 2] = nd.slot;
    }
    this.backend.build(jobs, nodes.length, false);
  }

  /** hist[large]! -= hist[small]; `large` initially holds the parent's histogram. */
  private subtract(large: number, small: number): void {
    const hist = this.hist;
    const size = this.binned.rowStride * FEATURE_STRIDE;
    const a = large * size;
    const b = small * size;
    for (let k = 0; k < size; k++) hist[a + k]! -= hist[b + k]!;
  }

  private weight(g: number, h: number): number {
    const p = this.p;
    if (h < p.minChildWeight || h <= 0) return 0;
    const t = g > p.alpha ? g - p.alpha : g < -p.alpha ? g + p.alpha : 0;
    let w = -t / (h + p.lambda);
    if (p.maxDeltaStep !== 0 && Math.abs(w) > p.maxDeltaStep) w = Math.sign(w) * p.maxDeltaStep;
    return w;
  }

  private gainOf(g: number, h: number): number {
    const p = this.p;
    if (h < p.minChildWeight || h <= 0) return 0;
    if (p.maxDeltaStep === 0) {
      const t = g > p.alpha ? g - p.alpha : g < -p.alpha ? g + p.alpha : 0;
      return (t * t) / (h + p.lambda);
    }
    const w = this.weight(g, h);
    return -(2 * g * w + (h + p.lambda) * w * w) + p.alpha * Math.abs(w);
  }

  /** Finds the best split of `nd` from its histogram (forward scan with missing right, then missing left). */
  private evaluate(nd: OpenNode): void {
    const hist = this.hist;
    const nFeat = this.binned.cols;
    const base = nd.slot * this.binned.rowStride * FEATURE_STRIDE;
    const G = nd.g;
    const H = nd.h;
    const mcw = this.p.minChildWeight;
    const parentGain = this.gainOf(G, H);
    const numBins = this.cuts.numBins;
    const hasMissing = this.cuts.hasMissing;
    const mask = this.featureMask;
    const plain = this.p.alpha === 0 && this.p.maxDeltaStep === 0;
    let best = 0;
    let bf = -1;
    let bb = -1;
    let bml = false;
    let bgl = 0;
    let bhl = 0;
    for (let f = 0; f < nFeat; f++) {
      if (mask[f] === 0) continue;
      const nb = numBins[f]!;
      const off = base + f * FEATURE_STRIDE;
      let gm = 0;
      let hm = 0;
      if (hasMissing[f] === 1) {
        gm = hist[off + 2 * nb]!;
        hm = hist[off + 2 * nb + 1]!;
      }
      let cg = 0;
      let ch = 0;
      if (plain) {
        // Common case (alpha = 0, max_delta_step = 0): the gain formula inlined.
        const lam = this.p.lambda;
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[off + 2 * b]!;
          ch += hist[off + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gr = G - cg;
            const gain = (cg * cg) / (ch + lam) + (gr * gr) / (hr + lam) - parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = false;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      } else
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[off + 2 * b]!;
          ch += hist[off + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gain = this.gainOf(cg, ch) + this.gainOf(G - cg, hr) - parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = false;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      if (hm > 0) {
        cg = gm;
        ch = hm;
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[off + 2 * b]!;
          ch += hist[off + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gain = this.gainOf(cg, ch) + this.gainOf(G - cg, hr) - parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = true;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      }
    }
    nd.gain = best;
    nd.feat = bf;
    nd.bin = bb;
    nd.missLeft = bml;
    nd.gl = bgl;
    nd.hl = bhl;
  }

  /** Partitions the node's rows (stable) and records the split; returns the two children. */
  private applySplit(nd: OpenNode): [OpenNode, OpenNode] {
    const f = nd.feat;
    const b = nd.bin;
    const n = this.binned.rows;
    const col = this.binned.colBins;
    const off = f * n;
    const missBin = this.cuts.numBins[f]!;
    const missLeft = nd.missLeft && this.cuts.hasMissing[f] === 1;
    const rowIdx = this.rowIdx;
    const scratch = this.scratch;
    let w = nd.start;
    let r = 0;
    // Branch-free: each row is written to both sides and only the matching cursor advances
    // (w <= j, so writing rowIdx[w] never clobbers an unread row).
    const mb = missLeft ? missBin : -1;
    for (let j = nd.start; j < nd.end; j++) {
      const i = rowIdx[j]!;
      const v = col[off + i]!;
      const left = ((v <= b) as unknown as number) | ((v === mb) as unknown as number);
      rowIdx[w] = i;
      scratch[r] = i;
      w += left;
      r += 1 - left;
    }
    rowIdx.set(scratch.subarray(0, r), w);
    const mid = w;
    const gl = nd.gl;
    const hl = nd.hl;
    const gr = nd.g - gl;
    const hr = nd.h - hl;
    const l = this.newNode(nd.start, mid, gl, hl);
    const rr = this.newNode(mid, nd.end, gr, hr);
    const cut = this.cuts.cuts[this.cuts.offsets[f]! + b]!;
    this.builder.setSplit(nd.id, f, cut, nd.missLeft, nd.gain, l, rr);
    return [
      this.open(l, nd.start, mid, gl, hl, nd.depth + 1),
      this.open(rr, mid, nd.end, gr, hr, nd.depth + 1),
    ];
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
