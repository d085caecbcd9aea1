/**
 * Loads the WebAssembly SIMD kernels (source: assembly/kernels.ts, bytes embedded by
 * scripts/build-wasm.mjs) and lays out the arrays they work on in one shared WebAssembly memory, so the
 * calling thread and worker threads run them on the same data. The JS kernels are the reference: the GBDT
 * ones (gbdt/kernels.ts) give the same bits; the linear learner's sum in another order (same model up to
 * rounding).
 */
import { KERNELS_WASM_BASE64 } from './kernels-bytes.js';

/** Exports of the kernel module; every pointer is a byte offset into the memory it was instantiated with. */
export interface WasmKernels {
  histBuild(
    bins: number,
    stride: number,
    gh: number,
    rowIdx: number,
    start: number,
    end: number,
    identity: number,
    hist: number,
    w0: number,
    w1: number,
    f0: number,
    h1: number,
    t0: number,
    f1: number,
  ): void;
  subtract(a: number, b: number, count: number): void;
  partition(
    col: number,
    rowIdx: number,
    sL: number,
    sR: number,
    a: number,
    b: number,
    bin: number,
    mb: number,
    inPlace: number,
  ): number;
  splitLeaf(
    col: number,
    rowIdx: number,
    margin: number,
    a: number,
    b: number,
    bin: number,
    mb: number,
    K: number,
    k: number,
    vl: number,
    vr: number,
  ): void;
  radixSort(keys: number, idx: number, k2: number, i2: number, m: number, counts: number): void;
  linMargins(
    cols: number,
    n: number,
    d: number,
    theta: number,
    z: number,
    i0: number,
    m: number,
    b: number,
  ): void;
  linGrad(cols: number, n: number, d: number, dz: number, i0: number, m: number, grad: number): void;
  linLoss(z: number, y: number, m: number, logistic: number, acc: number): void;
  kmPass(
    X: number,
    n: number,
    d: number,
    C: number,
    C32: number,
    delta: number,
    k: number,
    labels: number,
    upper: number,
    lower: number,
    move: number,
    half: number,
    m1: number,
    m2: number,
    am: number,
    sums: number,
    counts: number,
    dd: number,
    f32: number,
    eps: number,
    eta: number,
    init: number,
  ): number;
  exp64(x: number): number;
  gradLogistic(
    margin: number,
    y: number,
    w: number,
    hasW: number,
    spw: number,
    gh: number,
    i0: number,
    i1: number,
  ): void;
  gradSquared(margin: number, y: number, w: number, hasW: number, gh: number, i0: number, i1: number): void;
  rootSums(gh: number, i0: number, i1: number, chunk: number, sums: number, rowIdx: number): void;
  binAssign(keys: number, idx: number, m: number, cutKeys: number, nCuts: number, out: number): void;
  evalPlain(
    hist: number,
    numBins: number,
    hasMissing: number,
    mask: number,
    f0: number,
    f1: number,
    G: number,
    H: number,
    lam: number,
    mcw: number,
    parentGain: number,
    res: number,
  ): void;
  forestMargins(
    cDepth: number,
    cBase: number,
    cLeafBase: number,
    treeClass: number,
    cFeat: number,
    cThr: number,
    cMiss: number,
    cValue: number,
    nTrees: number,
    data: number,
    n: number,
    d: number,
    K: number,
    out: number,
    r0: number,
    r1: number,
    blk: number,
    B: number,
  ): void;
  kmAssign(
    X: number,
    n: number,
    d: number,
    C: number,
    C32: number,
    k: number,
    labels: number,
    f32: number,
  ): number;
  kmNearest(
    X: number,
    n: number,
    d: number,
    cand: number,
    cand32: number,
    t: number,
    f32: number,
    dist: number,
    out: number,
    tsum: number,
  ): void;
}

// @types/node does not declare WebAssembly (lib.dom does); only what is used here, typed locally so the
// package's .d.ts does not need either.
/** A compiled WasmModule. */
export type WasmModule = object;
/** A WasmMemory. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** What a worker thread needs to instantiate the kernels over the same memory (both are cloneable). */
export interface WasmShared {
  module: WasmModule;
  memory: WasmMemory;
}

const PAGE = 65536;
// wasm32 addresses at most 4 GiB; the first page is left to the module itself.
const MAX_PAGES = 65536;
let compiled: WasmModule | null | undefined;

/** The compiled kernel module, or null when this runtime has no WebAssembly SIMD or shared memory. */
export function wasmKernelModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bin = atob(KERNELS_WASM_BASE64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      if (!wasmApi) throw new Error('no WebAssembly');
      compiled = new wasmApi.Module(bytes);
      // Shared memory needs cross-origin isolation in browsers; fail here rather than mid-training.
      new wasmApi.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * An arena of `bytes` bytes in `count` arrays with the kernels instantiated over it, for single-threaded
 * callers; null when WebAssembly SIMD is unavailable or the size exceeds wasm32's 4 GiB.
 */
export function kernelArena(bytes: number, count: number): { arena: WasmArena; kern: WasmKernels } | null {
  const module = wasmKernelModule();
  if (!module) return null;
  const arena = WasmArena.create(bytes, count);
  return arena ? { arena, kern: instantiateKernels({ module, memory: arena.memory }) } : null;
}

let reusable: { arena: WasmArena; kern: WasmKernels } | null = null;

/**
 * As kernelArena, but the same memory serves every call on this thread (reset, not zeroed) while it is large
 * enough: a fresh shared memory costs a page fault per 4 KiB page on first touch (≈ 80 ms for 22 MB under
 * load), which a repeated fit would pay every time. For synchronous callers that copy out what they return
 * and never keep a view past the call; the memory of the largest call so far stays allocated.
 */
export function reusedKernelArena(
  bytes: number,
  count: number,
): { arena: WasmArena; kern: WasmKernels } | null {
  if (reusable && reusable.arena.capacity >= bytes + 64 * count) {
    reusable.arena.reset();
    return reusable;
  }
  reusable = null;
  const ka = kernelArena(bytes, count);
  if (ka) reusable = ka;
  return ka;
}

/** Instantiates the kernels over `memory` (one instance per thread). */
export function instantiateKernels(shared: WasmShared): WasmKernels {
  const inst = new wasmApi!.Instance(shared.module, { env: { memory: shared.memory } });
  return inst.exports as unknown as WasmKernels;
}

/**
 * A bump allocator over one shared WebAssembly memory of a fixed size (never grown, so views stay valid).
 * Arrays are 64-byte aligned: one cache line, and every SIMD load is aligned.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private top = PAGE;
  private readonly end: number;

  private constructor(memory: WasmMemory, end: number) {
    this.memory = memory;
    this.end = end;
  }

  /** An arena for `bytes` bytes of arrays allocated in `count` pieces; null if that exceeds wasm32's 4 GiB. */
  static create(bytes: number, count: number): WasmArena | null {
    const total = PAGE + bytes + 64 * count;
    const pages = Math.ceil(total / PAGE);
    if (pages > MAX_PAGES) return null;
    return new WasmArena(new wasmApi!.Memory({ initial: pages, maximum: pages, shared: true }), total);
  }

  /** Bytes available to arrays when empty. */
  get capacity(): number {
    return this.end - PAGE;
  }

  /** Frees every array at once (their views must no longer be used). */
  reset(): void {
    this.top = PAGE;
  }

  private take(bytes: number): number {
    const at = this.top;
    this.top += (bytes + 63) & ~63;
    if (this.top > this.end) throw new Error(`WasmArena overflow: ${this.top} > ${this.end} bytes`);
    return at;
  }

  f64(len: number): Float64Array {
    return new Float64Array(this.memory.buffer, this.take(8 * len), len);
  }

  u32(len: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, this.take(4 * len), len);
  }

  f32(len: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(4 * len), len);
  }

  i32(len: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(4 * len), len);
  }

  u8(len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.take(len), len);
  }
}
