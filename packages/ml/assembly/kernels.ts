// AssemblyScript source of @trainyard/ml's WebAssembly kernels (SIMD). Built by
// `node packages/ml/scripts/build-wasm.mjs` into src/wasm/kernels-wasm.ts (embedded bytes); the JS kernels in
// src/gbdt/kernels.ts are the reference these must match bit for bit: every sum is taken in the same order
// (f64x2 adds are two IEEE double adds), only the instruction count differs.
// All pointers are byte offsets into the imported (shared) memory, which the caller lays out.

// @ts-nocheck: AssemblyScript types (usize, v128, load/store builtins) are not TypeScript's.

/**
 * GBDT histogram of rows rowIdx[start..end) (or start..end when identity is 1): for each row, its (g, h)
 * pair (16 bytes at gh + 16 i) is added to bin slot (hist + f * 4096 + bin * 16) of every feature. Features
 * [4 w0, 4 w1) are read four per 32-bit load; features [f0, h1) and [t0, f1) (the edges of a feature range
 * that shares a word with another range) one byte at a time.
 */
export function histBuild(
  bins: usize,
  stride: i32,
  gh: usize,
  rowIdx: usize,
  start: i32,
  end: i32,
  identity: i32,
  hist: usize,
  w0: i32,
  w1: i32,
  f0: i32,
  h1: i32,
  t0: i32,
  f1: i32,
): void {
  const nw = w1 - w0;
  const hw = hist + ((<usize>w0) << 14);
  for (let j = start; j < end; j++) {
    const i: usize = identity ? <usize>j : <usize>load<u32>(rowIdx + ((<usize>j) << 2));
    const g = v128.load(gh + (i << 4));
    const rb = bins + i * <usize>stride;
    let w = rb + ((<usize>w0) << 2);
    const wEnd = w + ((<usize>nw) << 2);
    let ho = hw;
    while (w < wEnd) {
      const v = load<u32>(w);
      let k = ho + ((<usize>(v & 255)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
      k = ho + 4096 + ((<usize>((v >> 8) & 255)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
      k = ho + 8192 + ((<usize>((v >> 16) & 255)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
      k = ho + 12288 + ((<usize>(v >> 24)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
      w += 4;
      ho += 16384;
    }
    for (let f = f0; f < h1; f++) {
      const k = hist + ((<usize>f) << 12) + ((<usize>load<u8>(rb + <usize>f)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
    }
    for (let f = t0; f < f1; f++) {
      const k = hist + ((<usize>f) << 12) + ((<usize>load<u8>(rb + <usize>f)) << 4);
      v128.store(k, f64x2.add(v128.load(k), g));
    }
  }
}

/** a[q] -= b[q] for `count` doubles (count even): the sibling histogram as parent minus the built child. */
export function subtract(a: usize, b: usize, count: i32): void {
  const end = a + ((<usize>count) << 3);
  while (a < end) {
    v128.store(a, f64x2.sub(v128.load(a), v128.load(b)));
    a += 16;
    b += 16;
  }
}
