/**
 * The per-row and per-bin work of GBDT training, written as self-contained functions over one shared
 * `GbdtWorkspace`. The calling thread runs them directly (`nthread = 1`); worker threads run the very same
 * functions from their source text (see `node-workers.ts` and `kernelSource`), so they must not use
 * closures, imports or module state other than the numeric constants listed in `KERNEL_CONSTANTS`. The
 * binning kernels live at the end of this file for that reason: a call to an imported function reaches
 * it through a module binding (which test runners such as vitest rename), and a worker has none.
 *
 * A task is described in `taskI` / `taskF` by the calling thread and cut into chunks. How it is cut, and
 * which thread runs which chunk, never changes a result: every chunk writes disjoint memory and every sum
 * is taken in the same order whatever the cut, so models are bit-identical for any thread count:
 * - gradients, leaf updates, partitions: split over rows (a row's result depends only on that row; a
 *   stable partition is unique; per-4096-row gradient sums are fixed blocks);
 * - histograms, subtraction, split search: split over nodes and features (each feature of a node summed
 *   by one thread in row order; per-feature-part best splits reduced in feature order with the serial
 *   scan's tie-breaking);
 * - binning: one feature at a time.
 */

import type { WasmKernels, WasmShared } from '../wasm/kernels.js';

/** Arrays shared by the calling thread and the workers (SharedArrayBuffers when workers are used). */
export interface GbdtWorkspace {
  n: number;
  d: number;
  /** Bytes per row of `rowBins` (d rounded up to a multiple of 4). */
  stride: number;
  /** Outputs per row of `margin` / `prob`. */
  K: number;
  /** Column-major float32 features (binned once by CMD_BIN). */
  x: Float32Array;
  /** 256 cut slots per feature, and 4n + 6144 uint32 of sort scratch per thread, for CMD_BIN. */
  cutBuf: Float32Array;
  binScratch: Uint32Array;
  rowBins: Uint8Array;
  bins32: Uint32Array;
  colBins: Uint8Array;
  /** Interleaved (gradient, hessian) per row. */
  gh: Float64Array;
  rowIdx: Uint32Array;
  scratchL: Uint32Array;
  scratchR: Uint32Array;
  /** Histogram slots: `stride * 512` doubles each, feature-major, `[bin * 2] = Σg, [bin * 2 + 1] = Σh`. */
  hist: Float64Array;
  numBins: Int32Array;
  hasMissing: Uint8Array;
  featMask: Uint8Array;
  margin: Float64Array;
  prob: Float64Array;
  y: Float64Array;
  /** Row weights; empty when unweighted. */
  w: Float64Array;
  /** [lambda, alpha, min_child_weight, max_delta_step, scale_pos_weight]. */
  params: Float64Array;
  taskI: Int32Array;
  taskF: Float64Array;
  /** Per 4096-row chunk (Σg, Σh) written by the gradient task, summed in chunk order for the root. */
  sums: Float64Array;
  /** Split-search results, 6 doubles per (evaluated node, feature part): gain, feature, bin, missing-left, G_L, H_L. */
  res: Float64Array;
  /**
   * With WebAssembly kernels: the module and the memory holding rowBins, gh, rowIdx and hist (a worker
   * instantiates its own `kern` from it); null for the JS kernels.
   */
  wasm: WasmShared | null;
  /** This thread's instance of the WebAssembly kernels, or null to run the JS reference kernels. */
  kern: WasmKernels | null;
}

export const CMD_GRAD = 1;
export const CMD_HIST = 2;
export const CMD_PART_A = 3;
export const CMD_PART_B = 4;
export const CMD_LEAF = 5;
export const CMD_SPLIT_LEAF = 8;
export const CMD_BIN = 6;
export const CMD_TRANSPOSE = 7;
export const CMD_EXIT = 9;
/** taskI layout: [0] command, [1] chunks, [2..8) arguments, [8..8+257) group bounds, then records. */
export const T_GROUPS = 8;
export const T_REC = 272;
export const MAX_GROUPS = 256;
/** Ints per partition piece: a, b, feature, bin, missing bin (or -1), in place, out: left count, dstL, dstR. */
export const PIECE = 10;
/** Ints per histogram job: start, end, build slot, sibling slot, eval slot/index ×2. */
export const HJOB = 8;
/** Ints per leaf-update piece: a, b, leaf index (value in taskF). */
export const LEAF_PIECE = 3;
/** Rows per gradient-sum chunk. */
export const SUM_CHUNK = 4096;

export const KERNEL_CONSTANTS: Record<string, number> = {
  CMD_GRAD,
  CMD_HIST,
  CMD_PART_A,
  CMD_PART_B,
  CMD_LEAF,
  CMD_BIN,
  CMD_TRANSPOSE,
  CMD_SPLIT_LEAF,
  T_GROUPS,
  T_REC,
  PIECE,
  HJOB,
  LEAF_PIECE,
  SUM_CHUNK,
};

/** Objective codes for `CMD_GRAD`. */
export const OBJ_LOGISTIC = 0;
export const OBJ_SOFTMAX = 1;
export const OBJ_SQUARED = 2;
export const OBJ_ABSOLUTE = 3;
export const OBJ_POISSON = 4;

/**
 * Runs chunk `c` of the `nChunks` chunks of the task in `ws.taskI` on thread `tid`. Chunks are a pure
 * function of the task, so which thread runs which chunk (and in what order) never changes a result.
 */
export function runTask(ws: GbdtWorkspace, c: number, nChunks: number, tid: number): void {
  const t = ws.taskI;
  const cmd = t[0]!;
  if (cmd === CMD_GRAD) {
    // Row bounds on whole SUM_CHUNKs: no two threads write the same cache line, and the per-chunk
    // gradient sums do not depend on the split.
    const blocks = Math.ceil(ws.n / SUM_CHUNK);
    const c0 = Math.floor((blocks * c) / nChunks);
    const c1 = Math.floor((blocks * (c + 1)) / nChunks);
    gradKernel(ws, c0 * SUM_CHUNK, Math.min(ws.n, c1 * SUM_CHUNK));
  } else if (cmd === CMD_HIST) {
    // Chunk = (job group, feature part).
    const fParts = t[6]!;
    const g = Math.floor(c / fParts);
    const fp = c - g * fParts;
    const d = ws.d;
    histJobs(
      ws,
      t[T_GROUPS + g]!,
      t[T_GROUPS + g + 1]!,
      Math.round((d * fp) / fParts),
      Math.round((d * (fp + 1)) / fParts),
      fp,
      fParts,
    );
  } else if (cmd === CMD_PART_A) {
    partitionKernel(ws, t[T_GROUPS + c]!, t[T_GROUPS + c + 1]!);
  } else if (cmd === CMD_PART_B) {
    scatterKernel(ws, t[T_GROUPS + c]!, t[T_GROUPS + c + 1]!);
  } else if (cmd === CMD_LEAF) {
    leafKernel(ws, t[T_GROUPS + c]!, t[T_GROUPS + c + 1]!);
  } else if (cmd === CMD_SPLIT_LEAF) {
    splitLeafKernel(ws, t[T_GROUPS + c]!, t[T_GROUPS + c + 1]!);
  } else if (cmd === CMD_BIN) {
    const d = ws.d;
    const f1 = Math.floor((d * (c + 1)) / nChunks);
    for (let f = Math.floor((d * c) / nChunks); f < f1; f++)
      binColumn(
        ws.x,
        ws.n,
        f,
        t[2]!,
        ws.colBins,
        ws.cutBuf,
        ws.numBins,
        ws.hasMissing,
        ws.binScratch,
        tid * (4 * ws.n + 6144),
        ws.kern,
      );
  } else if (cmd === CMD_TRANSPOSE) {
    const n = ws.n;
    const i0 = Math.floor((n * c) / nChunks);
    const i1 = Math.floor((n * (c + 1)) / nChunks);
    transposeBins(ws.colBins, ws.rowBins, n, ws.d, ws.stride, i0, i1);
  }
}

/**
 * Histogram jobs [j0, j1) on features [f0, f1) (records of HJOB ints from T_REC: start, end, slot to
 * build, larger sibling's slot or -1, then up to two (slot, eval index) pairs to search, -1 for none).
 * Per job: build the smaller child's histogram, derive the sibling as parent minus it (the sibling slot
 * holds the parent's histogram), then search both for splits; results go to res[(e * fParts + fp) * 6].
 */
export function histJobs(
  ws: GbdtWorkspace,
  j0: number,
  j1: number,
  f0: number,
  f1: number,
  fp: number,
  fParts: number,
): void {
  const t = ws.taskI;
  const hist = ws.hist;
  const slotSize = ws.stride * 512;
  const identity = t[5]!;
  for (let j = j0; j < j1; j++) {
    const o = T_REC + HJOB * j;
    const small = t[o + 2]! * slotSize;
    histBuild(ws, t[o]!, t[o + 1]!, small, identity, f0, f1);
    if (t[o + 3]! >= 0) {
      const large = t[o + 3]! * slotSize;
      const k1 = f1 * 512;
      const kern = ws.kern;
      if (kern !== null)
        kern.subtract(
          hist.byteOffset + (large + f0 * 512) * 8,
          hist.byteOffset + (small + f0 * 512) * 8,
          k1 - f0 * 512,
        );
      else for (let k = f0 * 512; k < k1; k++) hist[large + k]! -= hist[small + k]!;
    }
    if (t[o + 4]! >= 0) evalNode(ws, t[o + 4]! * slotSize, t[o + 5]!, f0, f1, fp, fParts);
    if (t[o + 6]! >= 0) evalNode(ws, t[o + 6]! * slotSize, t[o + 7]!, f0, f1, fp, fParts);
  }
}

/**
 * Gradients of rows [i0, i1) (i0 on a SUM_CHUNK boundary): taskI[2] objective code, [3] output k,
 * [4] 1 = first compute the row softmax into `prob`, [5] 1 = also reset rowIdx[i] = i and write each
 * chunk's (Σg, Σh) to `sums`. With `ws.kern`, the WebAssembly kernels do the logistic and squared-error
 * gradients and the sums with the same bits.
 */
export function gradKernel(ws: GbdtWorkspace, i0: number, i1: number): void {
  const t = ws.taskI;
  const obj = t[2]!;
  const k = t[3]!;
  const K = ws.K;
  const margin = ws.margin;
  const y = ws.y;
  const w = ws.w;
  const hasW = w.length > 0;
  const gh = ws.gh;
  const kern = ws.kern;
  if (obj === OBJ_LOGISTIC) {
    const spw = ws.params[4]!;
    // The WebAssembly kernel computes exp with Math.exp's arithmetic (fdlibm, as V8): the same bits.
    if (kern !== null)
      kern.gradLogistic(
        margin.byteOffset,
        y.byteOffset,
        w.byteOffset,
        hasW ? 1 : 0,
        spw,
        gh.byteOffset,
        i0,
        i1,
      );
    else
      for (let i = i0; i < i1; i++) {
        const p = 1 / (1 + Math.exp(-margin[i]!));
        const yi = y[i]!;
        let wi = hasW ? w[i]! : 1;
        if (yi === 1) wi *= spw;
        gh[2 * i] = (p - yi) * wi;
        gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16) * wi;
      }
  } else if (obj === OBJ_SOFTMAX) {
    const pr = ws.prob;
    if (t[4] === 1) {
      for (let i = i0; i < i1; i++) {
        const o = i * K;
        let mx = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < K; c++) if (margin[o + c]! > mx) mx = margin[o + c]!;
        let s = 0;
        for (let c = 0; c < K; c++) {
          const e = Math.exp(margin[o + c]! - mx);
          pr[o + c] = e;
          s += e;
        }
        for (let c = 0; c < K; c++) pr[o + c] = pr[o + c]! / s;
      }
    }
    for (let i = i0; i < i1; i++) {
      const p = pr[i * K + k]!;
      const wi = hasW ? w[i]! : 1;
      gh[2 * i] = (p - (y[i] === k ? 1 : 0)) * wi;
      gh[2 * i + 1] = Math.max(2 * p * (1 - p), 1e-16) * wi;
    }
  } else if (obj === OBJ_SQUARED) {
    if (kern !== null)
      kern.gradSquared(margin.byteOffset, y.byteOffset, w.byteOffset, hasW ? 1 : 0, gh.byteOffset, i0, i1);
    else
      for (let i = i0; i < i1; i++) {
        const wi = hasW ? w[i]! : 1;
        gh[2 * i] = (margin[i]! - y[i]!) * wi;
        gh[2 * i + 1] = wi;
      }
  } else if (obj === OBJ_ABSOLUTE) {
    for (let i = i0; i < i1; i++) {
      const wi = hasW ? w[i]! : 1;
      const dd = margin[i]! - y[i]!;
      gh[2 * i] = (dd > 0 ? 1 : dd < 0 ? -1 : 0) * wi;
      gh[2 * i + 1] = wi;
    }
  } else if (obj === OBJ_POISSON) {
    const mds = ws.params[3]!;
    for (let i = i0; i < i1; i++) {
      const wi = hasW ? w[i]! : 1;
      const m = margin[i]!;
      gh[2 * i] = (Math.exp(m) - y[i]!) * wi;
      gh[2 * i + 1] = Math.exp(m + mds) * wi;
    }
  }
  if (t[5] === 1) {
    const sums = ws.sums;
    const rowIdx = ws.rowIdx;
    if (kern !== null) {
      kern.rootSums(gh.byteOffset, i0, i1, SUM_CHUNK, sums.byteOffset, rowIdx.byteOffset);
      return;
    }
    for (let i = i0; i < i1; i++) rowIdx[i] = i;
    for (let c0 = i0; c0 < i1; c0 += SUM_CHUNK) {
      const c1 = Math.min(i1, c0 + SUM_CHUNK);
      let g = 0;
      let h = 0;
      for (let i = c0; i < c1; i++) {
        g += gh[2 * i]!;
        h += gh[2 * i + 1]!;
      }
      const c = c0 / SUM_CHUNK;
      sums[2 * c] = g;
      sums[2 * c + 1] = h;
    }
  }
}

/**
 * Histogram of features [f0, f1) of rows rowIdx[start..end) (start..end when `identity` is 1) into the
 * slot at `base`. Whole 4-feature words are read with one 32-bit load; features of a word shared with
 * another feature part are read as bytes. With `ws.kern`, the WebAssembly kernel does the same sums.
 */
export function histBuild(
  ws: GbdtWorkspace,
  start: number,
  end: number,
  base: number,
  identity: number,
  f0: number,
  f1: number,
): void {
  const bins32 = ws.bins32;
  const rowBins = ws.rowBins;
  const stride = ws.stride;
  const wpr = stride >> 2;
  const gh = ws.gh;
  const rowIdx = ws.rowIdx;
  const hist = ws.hist;
  let w0 = (f0 + 3) >> 2;
  let w1 = f1 >> 2;
  let h1 = w0 * 4;
  let t0 = w1 * 4;
  if (w1 < w0) {
    w0 = 0;
    w1 = 0;
    h1 = f1;
    t0 = f1;
  }
  hist.fill(0, base + f0 * 512, base + f1 * 512);
  const kern = ws.kern;
  if (kern !== null) {
    // Same adds in the same order as below, (g, h) as one f64x2 add per bin.
    kern.histBuild(
      rowBins.byteOffset,
      stride,
      gh.byteOffset,
      rowIdx.byteOffset,
      start,
      end,
      identity,
      hist.byteOffset + base * 8,
      w0,
      w1,
      f0,
      h1,
      t0,
      f1,
    );
    return;
  }
  {
    const wb = base + w0 * 2048;
    for (let j = start; j < end; j++) {
      const i = identity === 1 ? j : rowIdx[j]!;
      const g = gh[2 * i]!;
      const h = gh[2 * i + 1]!;
      let w = i * wpr + w0;
      const wEnd = i * wpr + w1;
      let ho = wb;
      while (w < wEnd) {
        const v = bins32[w]!;
        let k = ho + ((v & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = ho + 512 + (((v >>> 8) & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = ho + 1024 + (((v >>> 16) & 255) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        k = ho + 1536 + ((v >>> 24) << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
        w++;
        ho += 2048;
      }
      const rb = i * stride;
      for (let f = f0; f < h1; f++) {
        const k = base + f * 512 + (rowBins[rb + f]! << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
      }
      for (let f = t0; f < f1; f++) {
        const k = base + f * 512 + (rowBins[rb + f]! << 1);
        hist[k]! += g;
        hist[k + 1]! += h;
      }
    }
  }
}

/** Regularised leaf weight (XGBoost's CalcWeight). */
export function leafWeight(
  g: number,
  h: number,
  lam: number,
  alpha: number,
  mcw: number,
  mds: number,
): number {
  if (h < mcw || h <= 0) return 0;
  const t = g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
  let w = -t / (h + lam);
  if (mds !== 0 && Math.abs(w) > mds) w = Math.sign(w) * mds;
  return w;
}

/** Loss reduction of a node with sums (g, h) (XGBoost's CalcGain). */
export function nodeGain(g: number, h: number, lam: number, alpha: number, mcw: number, mds: number): number {
  if (h < mcw || h <= 0) return 0;
  if (mds === 0) {
    const t = g > alpha ? g - alpha : g < -alpha ? g + alpha : 0;
    return (t * t) / (h + lam);
  }
  const w = leafWeight(g, h, lam, alpha, mcw, mds);
  return -(2 * g * w + (h + lam) * w * w) + alpha * Math.abs(w);
}

/**
 * Best split over features [f0, f1) of the node whose histogram is at `base` (G, H in taskF[2e],
 * taskF[2e + 1]): forward scan with missing values right, then with missing values left. Without L1
 * and max_delta_step, `ws.kern`'s evalPlain does the same scans with the same bits.
 */
export function evalNode(
  ws: GbdtWorkspace,
  base: number,
  e: number,
  f0: number,
  f1: number,
  fp: number,
  fParts: number,
): void {
  const hist = ws.hist;
  const tf = ws.taskF;
  const res = ws.res;
  const numBins = ws.numBins;
  const hasMissing = ws.hasMissing;
  const mask = ws.featMask;
  const pr = ws.params;
  const lam = pr[0]!;
  const alpha = pr[1]!;
  const mcw = pr[2]!;
  const mds = pr[3]!;
  const plain = alpha === 0 && mds === 0;
  {
    const G = tf[2 * e]!;
    const H = tf[2 * e + 1]!;
    const parentGain = nodeGain(G, H, lam, alpha, mcw, mds);
    const kern = ws.kern;
    if (kern !== null && plain) {
      kern.evalPlain(
        hist.byteOffset + base * 8,
        numBins.byteOffset,
        hasMissing.byteOffset,
        mask.byteOffset,
        f0,
        f1,
        G,
        H,
        lam,
        mcw,
        parentGain,
        res.byteOffset + (e * fParts + fp) * 48,
      );
      return;
    }
    let best = 0;
    let bf = -1;
    let bb = -1;
    let bml = 0;
    let bgl = 0;
    let bhl = 0;
    for (let f = f0; f < f1; f++) {
      if (mask[f] === 0) continue;
      const nb = numBins[f]!;
      const o = base + f * 512;
      let gm = 0;
      let hm = 0;
      if (hasMissing[f] === 1) {
        gm = hist[o + 2 * nb]!;
        hm = hist[o + 2 * nb + 1]!;
      }
      let cg = 0;
      let ch = 0;
      if (plain) {
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[o + 2 * b]!;
          ch += hist[o + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gr = G - cg;
            const gain = (cg * cg) / (ch + lam) + (gr * gr) / (hr + lam) - parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = 0;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      } else
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[o + 2 * b]!;
          ch += hist[o + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gain =
              nodeGain(cg, ch, lam, alpha, mcw, mds) +
              nodeGain(G - cg, hr, lam, alpha, mcw, mds) -
              parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = 0;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      if (hm > 0) {
        cg = gm;
        ch = hm;
        for (let b = 0; b < nb - 1; b++) {
          cg += hist[o + 2 * b]!;
          ch += hist[o + 2 * b + 1]!;
          const hr = H - ch;
          if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
            const gain =
              nodeGain(cg, ch, lam, alpha, mcw, mds) +
              nodeGain(G - cg, hr, lam, alpha, mcw, mds) -
              parentGain;
            if (gain > best) {
              best = gain;
              bf = f;
              bb = b;
              bml = 1;
              bgl = cg;
              bhl = ch;
            }
          }
        }
      }
    }
    const r = (e * fParts + fp) * 6;
    res[r] = best;
    res[r + 1] = bf;
    res[r + 2] = bb;
    res[r + 3] = bml;
    res[r + 4] = bgl;
    res[r + 5] = bhl;
  }
}

/**
 * Stable partition of pieces [q0, q1) (records of PIECE ints from T_REC). A piece holding a whole node
 * is partitioned in place (left rows compacted into rowIdx, right rows appended from scratchR); a piece
 * of a node cut between chunks writes its left rows to scratchL and right rows to scratchR at its own
 * offset, and `scatterKernel` moves them once all pieces' counts are known.
 */
export function partitionKernel(ws: GbdtWorkspace, q0: number, q1: number): void {
  const t = ws.taskI;
  const n = ws.n;
  const col = ws.colBins;
  const rowIdx = ws.rowIdx;
  const sL = ws.scratchL;
  const sR = ws.scratchR;
  for (let q = q0; q < q1; q++) {
    const o = T_REC + PIECE * q;
    const a = t[o]!;
    const b = t[o + 1]!;
    const off = t[o + 2]! * n;
    const bin = t[o + 3]!;
    const mb = t[o + 4]!;
    const kern = ws.kern;
    if (kern !== null) {
      t[o + 6] = kern.partition(
        col.byteOffset + off,
        rowIdx.byteOffset,
        sL.byteOffset,
        sR.byteOffset,
        a,
        b,
        bin,
        mb,
        t[o + 5]!,
      );
      continue;
    }
    let l = 0;
    let r = 0;
    if (t[o + 5] === 1) {
      // Branch-free: each row is written to both sides and only the matching cursor advances
      // (a + l <= j, so writing rowIdx[a + l] never clobbers an unread row).
      for (let j = a; j < b; j++) {
        const i = rowIdx[j]!;
        const v = col[off + i]!;
        const left = ((v <= bin) as unknown as number) | ((v === mb) as unknown as number);
        rowIdx[a + l] = i;
        sR[a + r] = i;
        l += left;
        r += 1 - left;
      }
      const dst = a + l;
      for (let u = 0; u < r; u++) rowIdx[dst + u] = sR[a + u]!;
    } else {
      for (let j = a; j < b; j++) {
        const i = rowIdx[j]!;
        const v = col[off + i]!;
        const left = ((v <= bin) as unknown as number) | ((v === mb) as unknown as number);
        sL[a + l] = i;
        sR[a + r] = i;
        l += left;
        r += 1 - left;
      }
    }
    t[o + 6] = l;
  }
}

/**
 * Last level of a tree: instead of partitioning pieces [q0, q1) (PIECE records) into two leaves, adds the
 * leaf value each row goes to straight to its margin: margin[i * K + k] += left ? taskF[2q] : taskF[2q + 1]
 * (taskI[3] = k). One pass instead of a partition plus a leaf update.
 */
export function splitLeafKernel(ws: GbdtWorkspace, q0: number, q1: number): void {
  const t = ws.taskI;
  const k = t[3]!;
  const K = ws.K;
  const n = ws.n;
  const col = ws.colBins;
  const rowIdx = ws.rowIdx;
  const margin = ws.margin;
  const tf = ws.taskF;
  for (let q = q0; q < q1; q++) {
    const o = T_REC + PIECE * q;
    const b = t[o + 1]!;
    const off = t[o + 2]! * n;
    const bin = t[o + 3]!;
    const mb = t[o + 4]!;
    const vl = tf[2 * q]!;
    const vr = tf[2 * q + 1]!;
    const kern = ws.kern;
    if (kern !== null) {
      kern.splitLeaf(
        col.byteOffset + off,
        rowIdx.byteOffset,
        margin.byteOffset,
        t[o]!,
        b,
        bin,
        mb,
        K,
        k,
        vl,
        vr,
      );
      continue;
    }
    for (let j = t[o]!; j < b; j++) {
      const i = rowIdx[j]!;
      const v = col[off + i]!;
      margin[i * K + k]! += v <= bin || v === mb ? vl : vr;
    }
  }
}

/** Second phase of a cut node's partition: left rows to [dstL, ..), right rows to [dstR, ..). */
export function scatterKernel(ws: GbdtWorkspace, q0: number, q1: number): void {
  const t = ws.taskI;
  const rowIdx = ws.rowIdx;
  const sL = ws.scratchL;
  const sR = ws.scratchR;
  for (let q = q0; q < q1; q++) {
    const o = T_REC + PIECE * q;
    if (t[o + 5] === 1) continue;
    const a = t[o]!;
    const l = t[o + 6]!;
    const r = t[o + 1]! - a - l;
    const dl = t[o + 7]!;
    const dr = t[o + 8]!;
    for (let u = 0; u < l; u++) rowIdx[dl + u] = sL[a + u]!;
    for (let u = 0; u < r; u++) rowIdx[dr + u] = sR[a + u]!;
  }
}

/** margin[rowIdx[j] * K + k] += leaf value, for leaf pieces [q0, q1); taskI[3] = k. */
export function leafKernel(ws: GbdtWorkspace, q0: number, q1: number): void {
  const t = ws.taskI;
  const k = t[3]!;
  const K = ws.K;
  const rowIdx = ws.rowIdx;
  const margin = ws.margin;
  const tf = ws.taskF;
  for (let q = q0; q < q1; q++) {
    const o = T_REC + LEAF_PIECE * q;
    const b = t[o + 1]!;
    const v = tf[t[o + 2]!]!;
    if (K === 1) for (let j = t[o]!; j < b; j++) margin[rowIdx[j]!]! += v;
    else for (let j = t[o]!; j < b; j++) margin[rowIdx[j]! * K + k]! += v;
  }
}

/** Source text of every kernel, for worker threads. */
export function kernelSource(): string {
  let src = '';
  for (const [name, v] of Object.entries(KERNEL_CONSTANTS)) src += `const ${name} = ${v};\n`;
  src += `const OBJ_LOGISTIC = ${OBJ_LOGISTIC}, OBJ_SOFTMAX = ${OBJ_SOFTMAX}, OBJ_SQUARED = ${OBJ_SQUARED}, OBJ_ABSOLUTE = ${OBJ_ABSOLUTE}, OBJ_POISSON = ${OBJ_POISSON};\n`;
  for (const fn of [
    runTask,
    gradKernel,
    histJobs,
    histBuild,
    leafWeight,
    nodeGain,
    evalNode,
    partitionKernel,
    scatterKernel,
    leafKernel,
    splitLeafKernel,
    binColumn,
    radixSort,
    keyToFloat,
    quantileCuts,
    transposeBins,
  ])
    src += `${fn.toString()}\n`;
  return src;
}

/** Runs tasks on `threads` threads; `run(chunks)` returns when every chunk of the task in taskI is done. */
export interface GbdtExecutor {
  readonly threads: number;
  run(chunks: number): void;
  close(): void;
}

/** Creates a multi-threaded executor over a workspace of shared arrays; see `node-workers.ts`. */
export type GbdtWorkerFactory = (ws: GbdtWorkspace, threads: number) => GbdtExecutor;

/** Runs every task on the calling thread. */
export class SerialExecutor implements GbdtExecutor {
  readonly threads = 1;
  private readonly ws: GbdtWorkspace;
  constructor(ws: GbdtWorkspace) {
    this.ws = ws;
  }
  run(chunks: number): void {
    this.ws.taskI[1] = chunks;
    for (let c = 0; c < chunks; c++) runTask(this.ws, c, chunks, 0);
  }
  close(): void {}
}

/**
 * Quantile-bins feature `f` of the column-major float32 matrix `data` (n rows) into at most `maxBin`
 * (2..256) uint8 codes: the column is radix-sorted once (by the WebAssembly kernel when `kern` is given:
 * `scratch` then holds 4n + 6144 uint32 from `so` in its memory), the cuts are read off the sorted values and the
 * codes assigned by one walk over the same order, so no per-value binary search is needed. Writes
 * `colBins[f * n ..]`, the cuts to `cutBuf[f * 256 ..]`, `numBins[f]` and `hasMissing[f]`; `scratch`
 * holds 4n uint32 from `so`. Self-contained (worker threads run it from its source text).
 */
export function binColumn(
  data: Float32Array,
  n: number,
  f: number,
  maxBin: number,
  colBins: Uint8Array,
  cutBuf: Float32Array,
  numBins: Int32Array,
  hasMissing: Uint8Array,
  scratch: Uint32Array,
  so: number,
  kern: WasmKernels | null = null,
): void {
  const keys = scratch.subarray(so, so + n);
  const idx = scratch.subarray(so + n, so + 2 * n);
  const keys2 = scratch.subarray(so + 2 * n, so + 3 * n);
  const idx2 = scratch.subarray(so + 3 * n, so + 4 * n);
  // With the WebAssembly kernels the radix counts follow the 4n scratch values (all in their memory).
  const counts = kern !== null ? scratch.subarray(so + 4 * n, so + 4 * n + 6144) : new Uint32Array(2048 * 3);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const col = data.subarray(f * n, (f + 1) * n);
  // The column's bit patterns, read in place (no per-value round trip through a scratch float).
  const colBits = new Uint32Array(data.buffer, data.byteOffset + 4 * f * n, n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const raw = colBits[i]!;
    // NaN is excluded (exponent all ones, mantissa not zero).
    if ((raw & 0x7fffffff) > 0x7f800000) continue;
    // -0 and +0 compare equal, so they must share a key.
    const bits = raw === 0x80000000 ? 0 : raw;
    // The key flip makes unsigned order equal float order.
    keys[m] = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    idx[m++] = i;
  }
  if (kern !== null)
    kern.radixSort(keys.byteOffset, idx.byteOffset, keys2.byteOffset, idx2.byteOffset, m, counts.byteOffset);
  else radixSort(keys, idx, keys2, idx2, m, counts);
  const missing = n - m;
  hasMissing[f] = missing > 0 ? 1 : 0;
  const valueBins = missing > 0 ? Math.min(maxBin, 255) : maxBin;
  const cuts = quantileCuts(keys, m, valueBins, f32, u32);
  cutBuf.set(cuts, f * 256);
  const nb = cuts.length + 1;
  numBins[f] = nb;
  const base = f * n;
  if (missing > 0) colBins.fill(nb, base, base + n);
  if (kern !== null) {
    // The cuts as sort keys, where the radix counts were (free once sorted).
    for (let q = 0; q < cuts.length; q++) {
      f32[0] = cuts[q]!;
      const bits = u32[0] === 0x80000000 ? 0 : u32[0]!;
      counts[q] = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    }
    kern.binAssign(
      keys.byteOffset,
      idx.byteOffset,
      m,
      counts.byteOffset,
      cuts.length,
      colBins.byteOffset + base,
    );
    return;
  }
  let b = 0;
  let next = cuts.length > 0 ? cuts[0]! : Number.POSITIVE_INFINITY;
  for (let k = 0; k < m; k++) {
    const v = col[idx[k]!]!;
    while (v >= next) {
      b++;
      next = b < cuts.length ? cuts[b]! : Number.POSITIVE_INFINITY;
    }
    colBins[base + idx[k]!] = b;
  }
}

/** Rows [i0, i1) of the column-major bins into the row-major layout (blocked so both stream through cache). */
export function transposeBins(
  colBins: Uint8Array,
  rowBins: Uint8Array,
  n: number,
  d: number,
  stride: number,
  i0: number,
  i1: number,
): void {
  for (let b0 = i0; b0 < i1; b0 += 1024) {
    const b1 = Math.min(i1, b0 + 1024);
    for (let f = 0; f < d; f++) {
      const base = f * n;
      for (let i = b0; i < b1; i++) rowBins[i * stride + f] = colBins[base + i]!;
    }
  }
}

/** LSD radix sort of `m` uint32 keys (11-bit digits, 3 passes), carrying `idx`; result ends in keys/idx. */
export function radixSort(
  keys: Uint32Array,
  idx: Uint32Array,
  k2: Uint32Array,
  i2: Uint32Array,
  m: number,
  counts: Uint32Array,
): void {
  counts.fill(0);
  for (let k = 0; k < m; k++) {
    const v = keys[k]!;
    counts[v & 2047]!++;
    counts[2048 + ((v >>> 11) & 2047)]!++;
    counts[4096 + (v >>> 22)]!++;
  }
  let srcK = keys;
  let srcI = idx;
  let dstK = k2;
  let dstI = i2;
  for (let pass = 0; pass < 3; pass++) {
    const shift = pass * 11;
    const off = pass * 2048;
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = counts[off + b]!;
      counts[off + b] = sum;
      sum += c;
    }
    for (let k = 0; k < m; k++) {
      const v = srcK[k]!;
      const pos = counts[off + ((v >>> shift) & 2047)]!++;
      dstK[pos] = v;
      dstI[pos] = srcI[k]!;
    }
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
    const ti = srcI;
    srcI = dstI;
    dstI = ti;
  }
  // Three passes leave the result in the scratch arrays.
  keys.set(srcK.subarray(0, m));
  idx.set(srcI.subarray(0, m));
}

export function keyToFloat(key: number, f32: Float32Array, u32: Uint32Array): number {
  u32[0] = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return f32[0]!;
}

/** Cut points at evenly spaced ranks among the sorted keys; all distinct values when few enough. */
export function quantileCuts(
  sorted: Uint32Array,
  m: number,
  bins: number,
  f32: Float32Array,
  u32: Uint32Array,
): Float32Array {
  if (m === 0) return new Float32Array(0);
  let distinct = 1;
  for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= bins) {
    for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) out.push(keyToFloat(sorted[i]!, f32, u32));
  } else {
    let last = sorted[0]!;
    for (let q = 1; q < bins; q++) {
      const k = sorted[Math.floor((q * m) / bins)]!;
      if (k > last) {
        out.push(keyToFloat(k, f32, u32));
        last = k;
      }
    }
  }
  return Float32Array.from(out);
}
