import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, no type declarations
import { buildWasm, bytesModule } from '../../scripts/build-wasm.mjs';
import { DenseMatrix } from '../data/matrix.js';
import { CompiledForest, completeMargins, wasmForestMargins } from '../gbdt/forest.js';
import { trainGbdt } from '../gbdt/gbdt.js';
import {
  binColumn,
  CMD_GRAD,
  evalNode,
  type GbdtWorkspace,
  gradKernel,
  HJOB,
  histBuild,
  histJobs,
  OBJ_LOGISTIC,
  OBJ_SQUARED,
  SUM_CHUNK,
  T_REC,
} from '../gbdt/kernels.js';
import { nodeWorkerFactory } from '../gbdt/node-workers.js';
import { OBJECTIVES } from '../gbdt/objectives.js';
import { TreeBuilder } from '../gbdt/tree.js';
import { instantiateKernels, WasmArena, wasmKernelModule } from './kernels.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Index of the first element whose bit pattern differs (-0 / +0 and NaN payloads count), or -1. */
function firstBitDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, 2 * a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, 2 * b.length);
  for (let q = 0; q < x.length; q++) if (x[q] !== y[q]) return q >> 1;
  return -1;
}

describe('WebAssembly kernels', () => {
  it('the committed module is a rebuild of assembly/kernels.ts', async () => {
    const committed = readFileSync(new URL('./kernels-bytes.ts', import.meta.url), 'utf8');
    expect(committed).toBe(bytesModule(await buildWasm()));
  }, 60_000);

  it('histograms and sibling subtraction equal the JS kernels bit for bit on random rows, bins and weights', () => {
    const mod = wasmKernelModule();
    expect(mod, 'Node 20+ has WebAssembly SIMD and shared memory').not.toBeNull();
    const rnd = lcg(7);
    for (const [n, d] of [
      [1, 1],
      [257, 5],
      [3001, 9],
      [5000, 28],
    ] as const) {
      const stride = (d + 3) & ~3;
      const slot = stride * 512;
      const arena = WasmArena.create(n * stride + 16 * n + 4 * n + 8 * 3 * slot, 4)!;
      const rowBins = arena.u8(n * stride);
      const gh = arena.f64(2 * n);
      const rowIdx = arena.u32(n);
      const hist = arena.f64(3 * slot);
      // Few bins for some features (many adds per bin), the missing bin (= numBins) for others.
      for (let i = 0; i < n; i++)
        for (let f = 0; f < d; f++) {
          const nb = f % 3 === 0 ? 4 : 256;
          rowBins[i * stride + f] = f % 4 === 1 && rnd() < 0.2 ? Math.min(nb, 255) : Math.floor(rnd() * nb);
        }
      // Gradients times random weights, and huge / tiny magnitudes where rounding order shows.
      for (let i = 0; i < 2 * n; i++)
        gh[i] = (rnd() - 0.5) * (0.5 + rnd()) * 10 ** Math.floor(rnd() * 12 - 6);
      let m = 0;
      for (let i = 0; i < n; i++) if (rnd() < 0.6) rowIdx[m++] = i;
      const ws = {
        n,
        d,
        stride,
        rowBins,
        bins32: new Uint32Array(rowBins.buffer, rowBins.byteOffset, (n * stride) >> 2),
        gh,
        rowIdx,
        hist,
        taskI: new Int32Array(T_REC + HJOB),
        kern: null,
        wasm: null,
      } as unknown as GbdtWorkspace;
      const kern = instantiateKernels({ module: mod!, memory: arena.memory });
      // Feature ranges that start and end inside 4-feature words, as feature parts of a task do.
      const ranges = [
        [0, d],
        [1, Math.max(1, d - 1)],
        [Math.floor(d / 3), Math.floor((2 * d) / 3)],
      ];
      for (const [f0, f1] of ranges)
        for (const identity of [0, 1]) {
          const end = identity ? n : m;
          hist.fill(Number.NaN);
          ws.kern = null;
          histBuild(ws, 0, end, 0, identity, f0!, f1!);
          const js = Float64Array.from(hist.subarray(0, slot));
          hist.fill(Number.NaN);
          ws.kern = kern;
          histBuild(ws, 0, end, 0, identity, f0!, f1!);
          expect(
            firstBitDifference(hist.subarray(f0! * 512, f1! * 512), js.subarray(f0! * 512, f1! * 512)),
          ).toBe(-1);
        }
      // One histogram job: build slot 1 from the subset, slot 2 = (full histogram in slot 2) − slot 1.
      const job = (k: typeof kern | null) => {
        ws.kern = k;
        hist.fill(0);
        histBuild(ws, 0, n, 2 * slot, 1, 0, d);
        ws.taskI.set([0, m, 1, 2, -1, 0, -1, 0], T_REC);
        ws.taskI[5] = 0;
        histJobs(ws, 0, 1, 0, d, 0, 1);
        return Float64Array.from(hist);
      };
      expect(firstBitDifference(job(kern), job(null))).toBe(-1);
    }
  });

  it('squared-error and logistic gradients, root row order and block sums equal the JS kernel bit for bit', () => {
    const mod = wasmKernelModule();
    expect(mod).not.toBeNull();
    // Several blocks and a partial last one; rows [i0, i1) start on a block boundary as the task cuts them.
    const n = 3 * SUM_CHUNK + 1234;
    for (const obj of [OBJ_SQUARED, OBJ_LOGISTIC])
      for (const weighted of [false, true])
        for (const [i0, i1] of [
          [0, n],
          [SUM_CHUNK, n],
          [0, 2 * SUM_CHUNK],
        ] as const) {
          const run = (wasm: boolean) => {
            const arena = WasmArena.create(8 * n * 3 + 16 * n + 4 * n + 16 * 8, 6)!;
            const margin = arena.f64(n);
            const y = arena.f64(n);
            const w = arena.f64(weighted ? n : 0);
            const gh = arena.f64(2 * n).fill(Number.NaN);
            const rowIdx = arena.u32(n).fill(7);
            const sums = arena.f64(2 * Math.ceil(n / SUM_CHUNK)).fill(Number.NaN);
            const r = lcg(obj * 10 + (weighted ? 1 : 0));
            for (let i = 0; i < n; i++) {
              // Margins and labels of very different magnitudes, so that rounding shows in the sums.
              margin[i] = (r() - 0.5) * 10 ** Math.floor(r() * 8 - 3);
              y[i] = obj === OBJ_LOGISTIC ? (r() < 0.4 ? 1 : 0) : (r() - 0.5) * 10 ** Math.floor(r() * 6 - 2);
              if (weighted) w[i] = r() < 0.05 ? 0 : 0.1 + 3 * r();
            }
            const taskI = new Int32Array(T_REC);
            taskI.set([CMD_GRAD, 1, obj, 0, 0, 1]);
            const ws = {
              n,
              K: 1,
              margin,
              y,
              w,
              gh,
              rowIdx,
              sums,
              params: Float64Array.of(1, 0, 1, 0, 1.7),
              taskI,
              kern: wasm ? instantiateKernels({ module: mod!, memory: arena.memory }) : null,
            } as unknown as GbdtWorkspace;
            gradKernel(ws, i0, i1);
            return { gh: Float64Array.from(gh), sums: Float64Array.from(sums), rowIdx: Array.from(rowIdx) };
          };
          const a = run(true);
          const b = run(false);
          const label = `objective ${obj}, weighted ${weighted}, rows ${i0}..${i1}`;
          expect(firstBitDifference(a.gh, b.gh), label).toBe(-1);
          expect(firstBitDifference(a.sums, b.sums), label).toBe(-1);
          expect(a.rowIdx, label).toEqual(b.rowIdx);
          expect(a.rowIdx[i1 - 1], label).toBe(i1 - 1);
        }
  });

  it('forest margins equal the JS complete-layout kernel bit for bit, with missing values, several outputs and any row range', () => {
    const rnd = lcg(5);
    const d = 6;
    const K = 3;
    // Random trees of depth 0..7 (unbalanced: a leaf above the bottom is padded), thresholds on a few
    // values so that ties (v equal to the threshold goes right) are frequent.
    const grow = (b: TreeBuilder, depth: number, max: number): number => {
      const id = b.addLeaf((rnd() - 0.5) * 10 ** Math.floor(rnd() * 6 - 3), 1);
      if (depth < max && rnd() < 0.8) {
        const l = grow(b, depth + 1, max);
        const r = grow(b, depth + 1, max);
        b.setSplit(id, Math.floor(rnd() * d), Math.floor(rnd() * 8) / 4, rnd() < 0.5, 1, l, r);
      }
      return id;
    };
    const trees = Array.from({ length: 40 }, (_, t) => {
      const b = new TreeBuilder();
      grow(b, 0, t % 8);
      return b.build();
    });
    const treeClass = trees.map((_, t) => t % K);
    const forest = new CompiledForest(trees, treeClass, K, d);
    expect(forest.complete).toBe(true);
    for (const missing of [0, 0.02, 0.3]) {
      const n = 1000 + Math.floor(rnd() * 300);
      const data = Float32Array.from({ length: n * d }, () =>
        rnd() < missing ? Number.NaN : Math.floor(rnd() * 10) / 4 - 0.25,
      );
      const base = Float64Array.from({ length: n * K }, () => rnd() - 0.5);
      for (const [r0, r1, nTrees] of [
        [0, n, 40],
        [3, n - 5, 40],
        [128, 133, 17],
        [7, 7 + 256, 1],
      ] as const) {
        const want = Float64Array.from(base);
        completeMargins(
          forest.sharedArrays(),
          data,
          n,
          d,
          K,
          want,
          r0,
          r1,
          nTrees,
          new Float32Array(128 * d),
        );
        const wf = forest.wasmFor(n, 2)!;
        expect(wf, 'Node 20+ has WebAssembly SIMD').not.toBeNull();
        wf.data.set(data);
        wf.out.set(base);
        // Thread 1's row block, as a pool worker uses.
        wasmForestMargins(wf, n, d, K, r0, r1, nTrees, 1);
        const got = Float64Array.from(wf.out.subarray(0, n * K));
        expect(firstBitDifference(got, want), `missing ${missing}, rows ${r0}..${r1}, ${nTrees} trees`).toBe(
          -1,
        );
      }
    }
  });

  it('split search equals the JS evalNode bit for bit, with missing values, masked features and tied gains', () => {
    const mod = wasmKernelModule();
    expect(mod).not.toBeNull();
    const d = 9;
    for (let trial = 0; trial < 60; trial++) {
      const run = (wasm: boolean) => {
        const r = lcg(1000 + trial);
        const arena = WasmArena.create(8 * d * 512 + 4 * d + 2 * d + 8 * 6 * 4 + 8 * 8, 6)!;
        const hist = arena.f64(d * 512);
        const numBins = arena.i32(d);
        const hasMissing = arena.u8(d);
        const featMask = arena.u8(d);
        const res = arena.f64(6 * 4).fill(Number.NaN);
        let G = 0;
        let H = 0;
        for (let f = 0; f < d; f++) {
          numBins[f] = 1 + Math.floor(r() * (f === 0 ? 3 : 255));
          hasMissing[f] = r() < 0.4 ? 1 : 0;
          featMask[f] = r() < 0.85 ? 1 : 0;
        }
        // Integer sums on odd trials (many equal gains), tiny and huge magnitudes on even ones.
        const value = () =>
          trial % 2 === 1 ? Math.floor(r() * 5) - 2 : (r() - 0.5) * 10 ** Math.floor(r() * 10 - 5);
        const rows = () => (r() < 0.3 ? 0 : trial % 2 === 1 ? 1 + Math.floor(r() * 3) : r() * 2);
        const g0 = Array.from({ length: 256 }, value);
        const h0 = Array.from({ length: 256 }, rows);
        // Every feature holds the same rows (equal totals), in bins cut differently.
        for (let f = 0; f < d; f++) {
          const nb = numBins[f]!;
          const last = hasMissing[f] === 1 ? nb : nb - 1;
          for (let k = 0; k < 256; k++) {
            const b = Math.min(last, Math.floor((k * (last + 1)) / 256));
            hist[f * 512 + 2 * b]! += g0[k]!;
            hist[f * 512 + 2 * b + 1]! += h0[k]!;
          }
        }
        for (let k = 0; k < 256; k++) {
          G += g0[k]!;
          H += h0[k]!;
        }
        const taskF = Float64Array.of(G, H, G, H);
        const ws = {
          hist,
          taskF,
          res,
          numBins,
          hasMissing,
          featMask,
          params: Float64Array.of(trial % 3, 0, trial % 4 === 0 ? 0 : 0.5, 0, 1),
          kern: wasm ? instantiateKernels({ module: mod!, memory: arena.memory }) : null,
        } as unknown as GbdtWorkspace;
        // Whole range, then two feature parts of another evaluated node (as a 2-way feature split).
        evalNode(ws, 0, 0, 0, d, 0, 1);
        evalNode(ws, 0, 1, 0, 4, 0, 2);
        evalNode(ws, 0, 1, 4, d, 1, 2);
        return Float64Array.from(res);
      };
      expect(firstBitDifference(run(true), run(false)), `trial ${trial}`).toBe(-1);
    }
  });

  it('binning assigns the same codes and cuts as the JS kernel, with missing values, -0, ties and few distinct values', () => {
    const mod = wasmKernelModule();
    expect(mod).not.toBeNull();
    const n = 5000;
    const d = 5;
    for (const maxBin of [2, 16, 256]) {
      const r = lcg(maxBin);
      const data = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        data[i] = r() < 0.1 ? Number.NaN : r() < 0.2 ? -0 : Math.floor(r() * 7) - 3; // few values, ±0
        data[n + i] = (r() - 0.5) * 10 ** Math.floor(r() * 20 - 10); // wide range, many distinct
        data[2 * n + i] = Math.floor(r() * 300) / 8; // ties at most cuts
        data[3 * n + i] = Number.NaN; // all missing
        data[4 * n + i] = r() < 0.5 ? 1.5 : -1e30;
      }
      const run = (wasm: boolean) => {
        const arena = WasmArena.create(n * d + 4 * (4 * n + 6144) + 4 * 256 * d + 8 * d, 5)!;
        const colBins = arena.u8(n * d);
        const scratch = arena.u32(4 * n + 6144);
        const cutBuf = new Float32Array(256 * d);
        const numBins = new Int32Array(d);
        const hasMissing = new Uint8Array(d);
        const kern = wasm ? instantiateKernels({ module: mod!, memory: arena.memory }) : null;
        for (let f = 0; f < d; f++)
          binColumn(data, n, f, maxBin, colBins, cutBuf, numBins, hasMissing, scratch, 0, kern);
        return {
          bins: Array.from(colBins),
          cuts: Array.from(cutBuf),
          numBins: Array.from(numBins),
          hasMissing: Array.from(hasMissing),
        };
      };
      const a = run(true);
      const b = run(false);
      expect(a.numBins, `max_bin ${maxBin}`).toEqual(b.numBins);
      expect(a.hasMissing).toEqual(b.hasMissing);
      expect(a.cuts).toEqual(b.cuts);
      expect(a.bins).toEqual(b.bins);
      expect(new Set(a.bins.slice(2 * n, 3 * n)).size, 'codes used').toBeGreaterThan(1);
    }
  });

  it('exp in the WebAssembly gradient kernel returns Math.exp bits on random inputs over the whole range', () => {
    const mod = wasmKernelModule();
    expect(mod).not.toBeNull();
    const arena = WasmArena.create(64, 1)!;
    const kern = instantiateKernels({ module: mod!, memory: arena.memory });
    const rnd = lcg(2026);
    const f = new Float64Array(1);
    const u = new Uint32Array(f.buffer);
    const xs = [0, -0, 1, -1, 709.78, 709.79, -745.13, -745.14, -708.4, -720, Infinity, -Infinity, NaN];
    xs.push(2 ** -28, -(2 ** -29), 0.5 * Math.LN2, 1.5 * Math.LN2, 1e-300, 1024 * Math.LN2 - 1e-9);
    for (let i = 0; i < 50_000; i++) xs.push((rnd() - 0.5) * 60, (rnd() - 0.5) * 1500, (rnd() - 0.5) * 1e-6);
    for (let i = 0; i < 50_000; i++) {
      u[0] = rnd() * 2 ** 32;
      u[1] = rnd() * 2 ** 32;
      xs.push(f[0]!);
    }
    const got = Float64Array.from(xs, (x) => kern.exp64(x));
    const want = Float64Array.from(xs, (x) => Math.exp(x));
    expect(firstBitDifference(got, want)).toBe(-1);
  });

  it('models are identical with WebAssembly and JS kernels for every objective, with missing values and weights, on 1 and 2 threads', () => {
    expect(wasmKernelModule()).not.toBeNull();
    // Large enough (n >= 16384 rows, n × d >= 100k) that every kind of task is cut between the threads.
    const n = 17_000;
    const d = 7;
    const rnd = lcg(99);
    const cols = Array.from({ length: d }, () => new Float32Array(n));
    const z = new Float64Array(n);
    const weight = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < d; f++) {
        const v = rnd();
        cols[f]![i] = f % 3 === 1 && rnd() < 0.15 ? Number.NaN : v;
        z[i]! += (f % 2 === 0 ? 1 : -0.7) * v * v;
      }
      weight[i] = 0.25 + 2 * rnd();
    }
    const x = DenseMatrix.fromColumns(cols);
    const labels = (o: string) =>
      Float32Array.from(z, (v) => {
        const noisy = v + 0.4 * rnd();
        if (o === 'binary:logistic') return noisy > 1.2 ? 1 : 0;
        if (o === 'reg:logistic') return Math.min(1, Math.max(0, noisy / 3));
        if (o.startsWith('multi:')) return Math.max(0, Math.min(2, Math.floor(noisy)));
        if (o === 'count:poisson') return Math.max(0, Math.floor(2 * noisy));
        return noisy;
      });
    for (const objective of OBJECTIVES) {
      const data = { x, y: labels(objective), weight };
      const params = { objective, num_round: 2, max_depth: 5, num_class: 3, eta: 0.3 };
      const ref = JSON.stringify(trainGbdt(data, params, { kernels: 'js' }).toJSON());
      expect(JSON.stringify(trainGbdt(data, params, { kernels: 'wasm' }).toJSON()), objective).toBe(ref);
      const two = trainGbdt(
        data,
        { ...params, nthread: 2 },
        { kernels: 'wasm', workerFactory: nodeWorkerFactory },
      );
      expect(two.info?.threads).toBe(2);
      expect(JSON.stringify(two.toJSON()), `${objective}, 2 threads`).toBe(ref);
    }
  }, 60_000);
});
