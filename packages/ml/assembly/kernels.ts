// AssemblyScript source of @trainyard/ml's WebAssembly kernels (SIMD). Built by
// `node packages/ml/scripts/build-wasm.mjs` into src/wasm/kernels-bytes.ts (embedded bytes). The GBDT kernels
// must match the JS reference kernels in src/gbdt/kernels.ts bit for bit: every sum is taken in the same
// order (f64x2 adds are two IEEE double adds), only the instruction count differs. The linear learner's
// kernels sum in SIMD lanes (same model up to rounding order).
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

// ---- linear learner --------------------------------------------------------------------------------

/** z[i] = b + Σ_j cols[j][i0 + i] · theta[j] for i < m (cols: d float32 columns of n values, back to back). */
export function linMargins(
  cols: usize,
  n: i32,
  d: i32,
  theta: usize,
  z: usize,
  i0: i32,
  m: i32,
  b: f64,
): void {
  const bb = f64x2.splat(b);
  let i = 0;
  for (; i + 2 <= m; i += 2) v128.store(z + ((<usize>i) << 3), bb);
  for (; i < m; i++) store<f64>(z + ((<usize>i) << 3), b);
  for (let j = 0; j < d; j++) {
    const w = load<f64>(theta + ((<usize>j) << 3));
    const ww = f64x2.splat(w);
    const c = cols + ((<usize>(j * n + i0)) << 2);
    i = 0;
    for (; i + 4 <= m; i += 4) {
      const v = v128.load(c + ((<usize>i) << 2), 0, 4);
      const zp = z + ((<usize>i) << 3);
      v128.store(zp, f64x2.add(v128.load(zp), f64x2.mul(f64x2.promote_low_f32x4(v), ww)));
      const hi = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
      v128.store(zp, f64x2.add(v128.load(zp, 16), f64x2.mul(hi, ww)), 16);
    }
    for (; i < m; i++) {
      const zp = z + ((<usize>i) << 3);
      store<f64>(zp, load<f64>(zp) + <f64>load<f32>(c + ((<usize>i) << 2)) * w);
    }
  }
}

/** grad[j] += Σ_i dz[i] · cols[j][i0 + i] for i < m. */
export function linGrad(cols: usize, n: i32, d: i32, dz: usize, i0: i32, m: i32, grad: usize): void {
  for (let j = 0; j < d; j++) {
    const c = cols + ((<usize>(j * n + i0)) << 2);
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const v = v128.load(c + ((<usize>i) << 2), 0, 4);
      const zp = z_at(dz, i);
      a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(v), v128.load(zp)));
      a1 = f64x2.add(
        a1,
        f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), v128.load(zp, 16)),
      );
    }
    let s =
      f64x2.extract_lane(a0, 0) +
      f64x2.extract_lane(a0, 1) +
      (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
    for (; i < m; i++) s += load<f64>(z_at(dz, i)) * <f64>load<f32>(c + ((<usize>i) << 2));
    const g = grad + ((<usize>j) << 3);
    store<f64>(g, load<f64>(g) + s);
  }
}

/**
 * Per-row loss and derivative of the m margins at z (labels at y, float64): as the JS lossBlock, z becomes
 * the derivative, acc[0] gains the summed loss and acc[1] the summed derivative, rows in order. Logistic
 * (logistic = 1): log(1 + e^s) − y·s as max(s, 0) + log1p(e^−|s|) − y·s, σ(s) from the same e^−|s| (exp
 * with Math.exp's bits; log1p is AssemblyScript's, which may differ from V8's in the last bit); else half
 * the squared error.
 */
export function linLoss(z: usize, y: usize, m: i32, logistic: i32, acc: usize): void {
  let loss: f64 = 0;
  let gb: f64 = 0;
  for (let i = 0; i < m; i++) {
    const zp = z + ((<usize>i) << 3);
    const s = load<f64>(zp);
    const yi = load<f64>(y + ((<usize>i) << 3));
    let dz: f64;
    if (logistic) {
      const e = fdlibmExp(-abs<f64>(s));
      loss += max<f64>(s, 0) + Math.log1p(e) - yi * s;
      dz = (s >= 0 ? 1 / (1 + e) : e / (1 + e)) - yi;
    } else {
      dz = s - yi;
      loss += 0.5 * dz * dz;
    }
    store<f64>(zp, dz);
    gb += dz;
  }
  store<f64>(acc, load<f64>(acc) + loss);
  store<f64>(acc, load<f64>(acc, 8) + gb, 8);
}

function z_at(z: usize, i: i32): usize {
  return z + ((<usize>i) << 3);
}

// ---- GBDT row partition ----------------------------------------------------------------------------

/**
 * Stable partition of rowIdx[a..b) by the uint8 bins of one feature (`col`, indexed by row): a row goes
 * left when its bin <= `bin` or equals the missing bin `mb` (-1: none). In place (left rows compacted,
 * right rows through sR) or, for a piece of a node cut between chunks, into sL / sR at the piece's offset.
 * Returns the number of left rows. Integer work only: the same result as the JS partitionKernel.
 */
export function partition(
  col: usize,
  rowIdx: usize,
  sL: usize,
  sR: usize,
  a: i32,
  b: i32,
  bin: i32,
  mb: i32,
  inPlace: i32,
): i32 {
  let l = 0;
  let r = 0;
  const dst = inPlace ? rowIdx : sL;
  for (let j = a; j < b; j++) {
    const i = load<u32>(rowIdx + ((<usize>j) << 2));
    const v = <i32>load<u8>(col + <usize>i);
    const left = <i32>(v <= bin) | <i32>(v === mb);
    store<u32>(dst + ((<usize>(a + l)) << 2), i);
    store<u32>(sR + ((<usize>(a + r)) << 2), i);
    l += left;
    r += 1 - left;
  }
  if (inPlace) memory.copy(rowIdx + ((<usize>(a + l)) << 2), sR + ((<usize>a) << 2), (<usize>r) << 2);
  return l;
}

/** Last tree level: margin[i * K + k] += (left ? vl : vr) for the rows rowIdx[a..b), as splitLeafKernel. */
export function splitLeaf(
  col: usize,
  rowIdx: usize,
  margin: usize,
  a: i32,
  b: i32,
  bin: i32,
  mb: i32,
  K: i32,
  k: i32,
  vl: f64,
  vr: f64,
): void {
  for (let j = a; j < b; j++) {
    const i = load<u32>(rowIdx + ((<usize>j) << 2));
    const v = <i32>load<u8>(col + <usize>i);
    const p = margin + ((<usize>(i * K + k)) << 3);
    store<f64>(p, load<f64>(p) + (v <= bin || v === mb ? vl : vr));
  }
}

// ---- GBDT binning ----------------------------------------------------------------------------------

/**
 * LSD radix sort of `m` uint32 keys carrying a uint32 index (11-bit digits, 3 passes; `counts` holds
 * 3 × 2048 uint32), as the JS radixSort: the result ends in keys / idx, k2 / i2 are scratch.
 */
export function radixSort(keys: usize, idx: usize, k2: usize, i2: usize, m: i32, counts: usize): void {
  memory.fill(counts, 0, 3 * 2048 * 4);
  for (let q = 0; q < m; q++) {
    const v = load<u32>(keys + ((<usize>q) << 2));
    const c0 = counts + ((<usize>(v & 2047)) << 2);
    store<u32>(c0, load<u32>(c0) + 1);
    const c1 = counts + 8192 + ((<usize>((v >> 11) & 2047)) << 2);
    store<u32>(c1, load<u32>(c1) + 1);
    const c2 = counts + 16384 + ((<usize>(v >> 22)) << 2);
    store<u32>(c2, load<u32>(c2) + 1);
  }
  let srcK = keys;
  let srcI = idx;
  let dstK = k2;
  let dstI = i2;
  for (let pass = 0; pass < 3; pass++) {
    const shift = <u32>(pass * 11);
    const off = counts + ((<usize>(pass * 2048)) << 2);
    let sum: u32 = 0;
    for (let b = 0; b < 2048; b++) {
      const p = off + ((<usize>b) << 2);
      const c = load<u32>(p);
      store<u32>(p, sum);
      sum += c;
    }
    for (let q = 0; q < m; q++) {
      const v = load<u32>(srcK + ((<usize>q) << 2));
      const p = off + ((<usize>((v >> shift) & 2047)) << 2);
      const pos = load<u32>(p);
      store<u32>(p, pos + 1);
      store<u32>(dstK + ((<usize>pos) << 2), v);
      store<u32>(dstI + ((<usize>pos) << 2), load<u32>(srcI + ((<usize>q) << 2)));
    }
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
    const ti = srcI;
    srcI = dstI;
    dstI = ti;
  }
  // Three passes leave the result in the scratch arrays.
  memory.copy(keys, srcK, (<usize>m) << 2);
  memory.copy(idx, srcI, (<usize>m) << 2);
}

// ---- k-means -----------------------------------------------------------------------------------------

/**
 * Squared distance from the float32 row at x to the float64 centre at c (d features). Four features per
 * step as two f64x2 lane pairs: lane sums s0..s3 over features j ≡ 0..3 (mod 4), then (s0 + s1) + (s2 + s3),
 * then the d mod 4 tail in order, as the JS kmDist.
 */
// @ts-expect-error: AssemblyScript decorator
@inline
function kmDist(x: usize, c: usize, d: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const v = v128.load(x + ((<usize>j) << 2), 0, 4);
    const cp = c + ((<usize>j) << 3);
    const lo = f64x2.sub(f64x2.promote_low_f32x4(v), v128.load(cp, 0, 8));
    const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), v128.load(cp, 16, 8));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  let s =
    f64x2.extract_lane(a0, 0) +
    f64x2.extract_lane(a0, 1) +
    (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
  for (; j < d; j++) {
    const t = <f64>load<f32>(x + ((<usize>j) << 2)) - load<f64>(c + ((<usize>j) << 3));
    s += t * t;
  }
  return s;
}

/**
 * The same in float32 against the float32 copy of the centre at c: lane sums s0..s3 (f32x4), then
 * (s0 + s1) + (s2 + s3) and the tail in order, every operation rounded to float32 (as the JS kmDist32).
 */
// @ts-expect-error: AssemblyScript decorator
@inline
function kmDist32(x: usize, c: usize, d: i32): f64 {
  let a = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const t = f32x4.sub(v128.load(x + ((<usize>j) << 2), 0, 4), v128.load(c + ((<usize>j) << 2), 0, 4));
    a = f32x4.add(a, f32x4.mul(t, t));
  }
  let s: f32 =
    f32x4.extract_lane(a, 0) +
    f32x4.extract_lane(a, 1) +
    (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  for (; j < d; j++) {
    const t: f32 = load<f32>(x + ((<usize>j) << 2)) - load<f32>(c + ((<usize>j) << 2));
    s += t * t;
  }
  return <f64>s;
}

/** kmDist32 of one row against the two float32 centres at c and c + d floats (x loaded once for both). */
// @ts-expect-error: AssemblyScript decorator
@inline
function kmDist32x2(x: usize, c: usize, d: i32, out: usize): void {
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  const c2 = c + ((<usize>d) << 2);
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const v = v128.load(x + ((<usize>j) << 2), 0, 4);
    const t = f32x4.sub(v, v128.load(c + ((<usize>j) << 2), 0, 4));
    const u = f32x4.sub(v, v128.load(c2 + ((<usize>j) << 2), 0, 4));
    a = f32x4.add(a, f32x4.mul(t, t));
    b = f32x4.add(b, f32x4.mul(u, u));
  }
  let s: f32 =
    f32x4.extract_lane(a, 0) +
    f32x4.extract_lane(a, 1) +
    (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  let r: f32 =
    f32x4.extract_lane(b, 0) +
    f32x4.extract_lane(b, 1) +
    (f32x4.extract_lane(b, 2) + f32x4.extract_lane(b, 3));
  for (; j < d; j++) {
    const v = load<f32>(x + ((<usize>j) << 2));
    const t: f32 = v - load<f32>(c + ((<usize>j) << 2));
    const u: f32 = v - load<f32>(c2 + ((<usize>j) << 2));
    s += t * t;
    r += u * u;
  }
  store<f64>(out, <f64>s);
  store<f64>(out, <f64>r, 8);
}

/**
 * kmDist32 of one row against the four float32 centres at c, c + d, c + 2d and c + 3d floats, as one f32x4
 * (lane q: centre q). The row is loaded once for all four; the four lane sums are combined with shuffles
 * into (s0 + s1) + (s2 + s3) per centre (float addition commutes, so these are kmDist32's bits), then the
 * tail is added in order in all four lanes at once.
 */
// @ts-expect-error: AssemblyScript decorator
@inline
function kmDist32x4(x: usize, c: usize, d: i32): v128 {
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let e = f32x4.splat(0);
  let g = f32x4.splat(0);
  const cs = (<usize>d) << 2;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const v = v128.load(x + ((<usize>j) << 2), 0, 4);
    const p = c + ((<usize>j) << 2);
    const ta = f32x4.sub(v, v128.load(p, 0, 4));
    const tb = f32x4.sub(v, v128.load(p + cs, 0, 4));
    const te = f32x4.sub(v, v128.load(p + 2 * cs, 0, 4));
    const tg = f32x4.sub(v, v128.load(p + 3 * cs, 0, 4));
    a = f32x4.add(a, f32x4.mul(ta, ta));
    b = f32x4.add(b, f32x4.mul(tb, tb));
    e = f32x4.add(e, f32x4.mul(te, te));
    g = f32x4.add(g, f32x4.mul(tg, tg));
  }
  // [a0 + a1, a2 + a3, b0 + b1, b2 + b3] and the same for e, g; then pairwise again.
  const u = f32x4.add(v128.shuffle<f32>(a, b, 0, 2, 4, 6), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
  const w = f32x4.add(v128.shuffle<f32>(e, g, 0, 2, 4, 6), v128.shuffle<f32>(e, g, 1, 3, 5, 7));
  let r = f32x4.add(v128.shuffle<f32>(u, w, 0, 2, 4, 6), v128.shuffle<f32>(u, w, 1, 3, 5, 7));
  for (; j < d; j++) {
    const p = c + ((<usize>j) << 2);
    let cv = f32x4.splat(load<f32>(p));
    cv = f32x4.replace_lane(cv, 1, load<f32>(p + cs));
    cv = f32x4.replace_lane(cv, 2, load<f32>(p + 2 * cs));
    cv = f32x4.replace_lane(cv, 3, load<f32>(p + 3 * cs));
    const t = f32x4.sub(f32x4.splat(load<f32>(x + ((<usize>j) << 2))), cv);
    r = f32x4.add(r, f32x4.mul(t, t));
  }
  return r;
}

/**
 * One Lloyd pass with Hamerly's bounds over rows [0, n) of X (n × d float32, row-major) against k centres,
 * as the JS kmPass. Distances are ranked with kmDist32 against the float32 centres C32 when f32 is 1 (else
 * kmDist against C): a squared distance s computed so is within relative eps of the squared distance to
 * the float32 centre (plus eta for underflow), which is within delta[c] of the true centre, so the bounds
 * sqrt(s / (1 + eps)) − delta[c] and sqrt((s + eta) / (1 − eps)) + delta[c] hold (eps = eta = delta = 0
 * for kmDist; eps is chosen with room for the rounding of these bounds themselves). Per row: upper[i] bounds the distance to its centre labels[i], lower[i] the distance to
 * every other centre; the bounds first move by how far the centres moved (move[c]; the largest move m1 at
 * centre am, the second largest m2). A row is kept when its upper bound is at most max(lower, half[a])
 * (half: half the distance from each centre to its nearest other one), first as is, then with the upper
 * bound recomputed; otherwise all k distances are taken (ties to the lowest index; the lower bound from
 * the second smallest, less the largest delta; dd is scratch for two doubles). A row that changes centre moves its values between the centres' sums and counts. With init = 1
 * every row is assigned from scratch and added to its centre. Returns the number of rows that changed.
 */
export function kmPass(
  X: usize,
  n: i32,
  d: i32,
  C: usize,
  C32: usize,
  delta: usize,
  k: i32,
  labels: usize,
  upper: usize,
  lower: usize,
  move: usize,
  half: usize,
  m1: f64,
  m2: f64,
  am: i32,
  sums: usize,
  counts: usize,
  dd: usize,
  f32: i32,
  eps: f64,
  eta: f64,
  init: i32,
): i32 {
  let changed = 0;
  const rowBytes = (<usize>d) << 2;
  const cBytes = (<usize>d) << 3;
  // Lower bounds scale by 1 / (1 + eps), upper ones by 1 / (1 - eps); every lower bound drops by the
  // largest delta.
  const lo = 1 / (1 + eps);
  const hi = 1 / (1 - eps);
  let dmax: f64 = 0;
  for (let c = 0; c < k; c++) dmax = max(dmax, load<f64>(delta + ((<usize>c) << 3)));
  for (let i = 0; i < n; i++) {
    const x = X + <usize>i * rowBytes;
    const lp = labels + ((<usize>i) << 2);
    const up = upper + ((<usize>i) << 3);
    const wp = lower + ((<usize>i) << 3);
    const a = load<i32>(lp);
    if (!init) {
      let u = load<f64>(up) + load<f64>(move + ((<usize>a) << 3));
      const l = load<f64>(wp) - (a === am ? m2 : m1);
      const m = max(load<f64>(half + ((<usize>a) << 3)), l);
      if (u <= m) {
        store<f64>(up, u);
        store<f64>(wp, l);
        continue;
      }
      const s = f32 ? kmDist32(x, C32 + <usize>a * rowBytes, d) : kmDist(x, C + <usize>a * cBytes, d);
      u = sqrt<f64>((s + eta) * hi) + load<f64>(delta + ((<usize>a) << 3));
      if (u <= m) {
        store<f64>(up, u);
        store<f64>(wp, l);
        continue;
      }
    }
    let b1 = Infinity;
    let b2 = Infinity;
    let best = 0;
    let c = 0;
    if (f32) {
      for (; c + 4 <= k; c += 4) {
        const r = kmDist32x4(x, C32 + <usize>c * rowBytes, d);
        const s0 = <f64>f32x4.extract_lane(r, 0);
        if (s0 < b1) {
          b2 = b1;
          b1 = s0;
          best = c;
        } else if (s0 < b2) b2 = s0;
        const s1 = <f64>f32x4.extract_lane(r, 1);
        if (s1 < b1) {
          b2 = b1;
          b1 = s1;
          best = c + 1;
        } else if (s1 < b2) b2 = s1;
        const s2 = <f64>f32x4.extract_lane(r, 2);
        if (s2 < b1) {
          b2 = b1;
          b1 = s2;
          best = c + 2;
        } else if (s2 < b2) b2 = s2;
        const s3 = <f64>f32x4.extract_lane(r, 3);
        if (s3 < b1) {
          b2 = b1;
          b1 = s3;
          best = c + 3;
        } else if (s3 < b2) b2 = s3;
      }
      for (; c + 2 <= k; c += 2) {
        kmDist32x2(x, C32 + <usize>c * rowBytes, d, dd);
        const s0 = load<f64>(dd);
        if (s0 < b1) {
          b2 = b1;
          b1 = s0;
          best = c;
        } else if (s0 < b2) b2 = s0;
        const s1 = load<f64>(dd, 8);
        if (s1 < b1) {
          b2 = b1;
          b1 = s1;
          best = c + 1;
        } else if (s1 < b2) b2 = s1;
      }
    }
    for (; c < k; c++) {
      const s = f32 ? kmDist32(x, C32 + <usize>c * rowBytes, d) : kmDist(x, C + <usize>c * cBytes, d);
      if (s < b1) {
        b2 = b1;
        b1 = s;
        best = c;
      } else if (s < b2) b2 = s;
    }
    store<f64>(up, sqrt<f64>((b1 + eta) * hi) + load<f64>(delta + ((<usize>best) << 3)));
    store<f64>(wp, sqrt<f64>(b2 * lo) - dmax);
    if (init || best !== a) {
      changed++;
      store<i32>(lp, best);
      const cb = counts + ((<usize>best) << 3);
      store<f64>(cb, load<f64>(cb) + 1);
      const sb = sums + <usize>best * cBytes;
      for (let j = 0; j < d; j++) {
        const p = sb + ((<usize>j) << 3);
        store<f64>(p, load<f64>(p) + <f64>load<f32>(x + ((<usize>j) << 2)));
      }
      if (!init) {
        const ca = counts + ((<usize>a) << 3);
        store<f64>(ca, load<f64>(ca) - 1);
        const sa = sums + <usize>a * cBytes;
        for (let j = 0; j < d; j++) {
          const p = sa + ((<usize>j) << 3);
          store<f64>(p, load<f64>(p) - <f64>load<f32>(x + ((<usize>j) << 2)));
        }
      }
    }
  }
  return changed;
}

/**
 * Labels each row with its nearest centre (ranked as kmPass ranks; ties to the lowest index) and returns
 * the inertia: the sum over rows, in row order, of the float64 squared distance (kmDist) to that centre.
 */
export function kmAssign(
  X: usize,
  n: i32,
  d: i32,
  C: usize,
  C32: usize,
  k: i32,
  labels: usize,
  f32: i32,
): f64 {
  let inertia: f64 = 0;
  const rowBytes = (<usize>d) << 2;
  const cBytes = (<usize>d) << 3;
  for (let i = 0; i < n; i++) {
    const x = X + <usize>i * rowBytes;
    let b1 = Infinity;
    let best = 0;
    let c = 0;
    if (f32)
      for (; c + 4 <= k; c += 4) {
        const r = kmDist32x4(x, C32 + <usize>c * rowBytes, d);
        const s0 = <f64>f32x4.extract_lane(r, 0);
        if (s0 < b1) {
          b1 = s0;
          best = c;
        }
        const s1 = <f64>f32x4.extract_lane(r, 1);
        if (s1 < b1) {
          b1 = s1;
          best = c + 1;
        }
        const s2 = <f64>f32x4.extract_lane(r, 2);
        if (s2 < b1) {
          b1 = s2;
          best = c + 2;
        }
        const s3 = <f64>f32x4.extract_lane(r, 3);
        if (s3 < b1) {
          b1 = s3;
          best = c + 3;
        }
      }
    for (; c < k; c++) {
      const s = f32 ? kmDist32(x, C32 + <usize>c * rowBytes, d) : kmDist(x, C + <usize>c * cBytes, d);
      if (s < b1) {
        b1 = s;
        best = c;
      }
    }
    store<i32>(labels + ((<usize>i) << 2), best);
    inertia += f32 ? kmDist(x, C + <usize>best * cBytes, d) : b1;
  }
  return inertia;
}

/**
 * k-means++ step for t candidate centres at once (one pass over the rows): out[q n + i] = min(dist[i],
 * squared distance of row i to candidate q (float32 at cand32 + q d floats when f32 is 1, else float64 at
 * cand + q d doubles)), and tsum[q] = Σ_i out[q n + i] in row order (as the JS nearest).
 */
export function kmNearest(
  X: usize,
  n: i32,
  d: i32,
  cand: usize,
  cand32: usize,
  t: i32,
  f32: i32,
  dist: usize,
  out: usize,
  tsum: usize,
): void {
  const rowBytes = (<usize>d) << 2;
  const cBytes = (<usize>d) << 3;
  memory.fill(tsum, 0, (<usize>t) << 3);
  for (let i = 0; i < n; i++) {
    const x = X + (<usize>i) * rowBytes;
    const p = load<f64>(dist + ((<usize>i) << 3));
    let q = 0;
    if (f32)
      for (; q + 4 <= t; q += 4) {
        const r = kmDist32x4(x, cand32 + (<usize>q) * rowBytes, d);
        const v0 = min(<f64>f32x4.extract_lane(r, 0), p);
        store<f64>(out + (((<usize>q) * <usize>n + <usize>i) << 3), v0);
        const t0 = tsum + ((<usize>q) << 3);
        store<f64>(t0, load<f64>(t0) + v0);
        const v1 = min(<f64>f32x4.extract_lane(r, 1), p);
        store<f64>(out + (((<usize>(q + 1)) * <usize>n + <usize>i) << 3), v1);
        const t1 = tsum + ((<usize>(q + 1)) << 3);
        store<f64>(t1, load<f64>(t1) + v1);
        const v2 = min(<f64>f32x4.extract_lane(r, 2), p);
        store<f64>(out + (((<usize>(q + 2)) * <usize>n + <usize>i) << 3), v2);
        const t2 = tsum + ((<usize>(q + 2)) << 3);
        store<f64>(t2, load<f64>(t2) + v2);
        const v3 = min(<f64>f32x4.extract_lane(r, 3), p);
        store<f64>(out + (((<usize>(q + 3)) * <usize>n + <usize>i) << 3), v3);
        const t3 = tsum + ((<usize>(q + 3)) << 3);
        store<f64>(t3, load<f64>(t3) + v3);
      }
    for (; q < t; q++) {
      const s = f32 ? kmDist32(x, cand32 + (<usize>q) * rowBytes, d) : kmDist(x, cand + (<usize>q) * cBytes, d);
      const v = min(s, p);
      store<f64>(out + (((<usize>q) * <usize>n + <usize>i) << 3), v);
      const tp = tsum + ((<usize>q) << 3);
      store<f64>(tp, load<f64>(tp) + v);
    }
  }
}

// ---- GBDT gradients --------------------------------------------------------------------------------

/**
 * exp(x) with the arithmetic of fdlibm's __ieee754_exp (e_exp.c, as V8 ports it for Math.exp): argument
 * reduction x = k ln2 + r (ln2 in a high and a low part), a degree-5 rational approximation on r, then
 * scaling by 2^k, with V8's special case exp(1) = E. Same operations in the same order, so it returns
 * Math.exp's bits (tested on random inputs over the whole range).
 */
// @ts-expect-error: AssemblyScript decorator
@inline
function fdlibmExp(x: f64): f64 {
  const ln2HI: f64 = 6.93147180369123816490e-1;
  const ln2LO: f64 = 1.90821492927058770002e-10;
  const invln2: f64 = 1.44269504088896338700e0;
  const P1: f64 = 1.66666666666666019037e-1;
  const P2: f64 = -2.77777777770155933842e-3;
  const P3: f64 = 6.61375632143793436117e-5;
  const P4: f64 = -1.65339022054652515390e-6;
  const P5: f64 = 4.13813679705723846039e-8;
  const o_threshold: f64 = 7.09782712893383973096e2;
  const u_threshold: f64 = -7.45133219101941108420e2;
  const twom1000: f64 = 9.33263618503218878990e-302;
  const huge: f64 = 1.0e300;
  const bits = reinterpret<u64>(x);
  let hx = <u32>(bits >> 32);
  const xsb = <i32>(hx >> 31);
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | <u32>bits) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > o_threshold) return huge * huge;
    if (x < u_threshold) return twom1000 * twom1000;
  }
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      // V8 returns E itself for x = 1 (the reduction below gets its last bit wrong).
      if (x == 1.0) return 2.718281828459045;
      if (xsb == 0) {
        hi = x - ln2HI;
        lo = ln2LO;
        k = 1;
      } else {
        hi = x + ln2HI;
        lo = -ln2LO;
        k = -1;
      }
    } else {
      k = <i32>(invln2 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = <f64>k;
      hi = x - t * ln2HI;
      lo = t * ln2LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (huge + x > 1.0) return 1.0 + x;
  } else k = 0;
  const t = x * x;
  let twopk: f64;
  if (k >= -1021) twopk = reinterpret<f64>((<u64>(<u32>(0x3ff + k) << 20)) << 32);
  else twopk = reinterpret<f64>((<u64>(<u32>(0x3ff + (k + 1000)) << 20)) << 32);
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const y = 1.0 - (lo - (x * c) / (2.0 - c) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 8.98846567431158e307;
    return y * twopk;
  }
  return y * twopk * twom1000;
}

/** exp(x) as Math.exp (exported for the test that checks the bits). */
export function exp64(x: f64): f64 {
  return fdlibmExp(x);
}

/**
 * Logistic objective's (gradient, hessian) for rows [i0, i1), as gradKernel: p = 1 / (1 + exp(−margin)),
 * weight w[i] (when hasW) times spw for positive rows, g = (p − y) w, h = max(p (1 − p), 1e-16) w.
 */
export function gradLogistic(
  margin: usize,
  y: usize,
  w: usize,
  hasW: i32,
  spw: f64,
  gh: usize,
  i0: i32,
  i1: i32,
): void {
  for (let i = i0; i < i1; i++) {
    const o = (<usize>i) << 3;
    const p = 1 / (1 + fdlibmExp(-load<f64>(margin + o)));
    const yi = load<f64>(y + o);
    let wi: f64 = hasW ? load<f64>(w + o) : 1;
    if (yi == 1) wi *= spw;
    const q = gh + ((<usize>i) << 4);
    store<f64>(q, (p - yi) * wi);
    store<f64>(q, max<f64>(p * (1 - p), 1e-16) * wi, 8);
  }
}

/**
 * Squared error's (gradient, hessian) for rows [i0, i1), as gradKernel: g = (margin − y) w, h = w (w = 1
 * without weights).
 */
export function gradSquared(
  margin: usize,
  y: usize,
  w: usize,
  hasW: i32,
  gh: usize,
  i0: i32,
  i1: i32,
): void {
  if (hasW) {
    for (let i = i0; i < i1; i++) {
      const o = (<usize>i) << 3;
      const wi = load<f64>(w + o);
      const q = gh + ((<usize>i) << 4);
      store<f64>(q, (load<f64>(margin + o) - load<f64>(y + o)) * wi);
      store<f64>(q, wi, 8);
    }
  } else {
    // (m − y) · 1 is m − y exactly.
    for (let i = i0; i < i1; i++) {
      const o = (<usize>i) << 3;
      const q = gh + ((<usize>i) << 4);
      store<f64>(q, load<f64>(margin + o) - load<f64>(y + o));
      store<f64>(q, 1.0, 8);
    }
  }
}

/**
 * The root's rows for a round without sampling: rowIdx[i] = i for rows [i0, i1) (i0 on a block boundary),
 * and (Σg, Σh) of each `chunk`-row block into sums[2c], sums[2c + 1], rows in order (one f64x2 add per row
 * is gradKernel's two scalar adds).
 */
export function rootSums(gh: usize, i0: i32, i1: i32, chunk: i32, sums: usize, rowIdx: usize): void {
  for (let i = i0; i < i1; i++) store<u32>(rowIdx + ((<usize>i) << 2), <u32>i);
  for (let c0 = i0; c0 < i1; c0 += chunk) {
    const c1 = min<i32>(i1, c0 + chunk);
    let s = f64x2.splat(0);
    for (let i = c0; i < c1; i++) s = f64x2.add(s, v128.load(gh + ((<usize>i) << 4)));
    v128.store(sums + ((<usize>(c0 / chunk)) << 4), s);
  }
}

// ---- GBDT batch prediction -------------------------------------------------------------------------

/** One level of a complete-layout walk: the next node index (left = 2n + 1 when v < threshold). */
// @ts-ignore: decorator
@inline
function goPlain(n: i32, ib: usize, cFeat: usize, cThr: usize, row: usize): i32 {
  const a = ib + (<usize>n);
  const v = load<f32>(row + ((<usize>load<i32>(cFeat + (a << 2))) << 2));
  return 2 * n + 2 - <i32>(v < load<f32>(cThr + (a << 2)));
}

/** As goPlain, a missing value (NaN) going left when the node's default is left. */
// @ts-ignore: decorator
@inline
function goMissing(n: i32, ib: usize, cFeat: usize, cThr: usize, cMiss: usize, row: usize): i32 {
  const a = ib + (<usize>n);
  const v = load<f32>(row + ((<usize>load<i32>(cFeat + (a << 2))) << 2));
  return 2 * n + 2 - (<i32>(v < load<f32>(cThr + (a << 2))) | (<i32>(v != v) & load<i32>(cMiss + (a << 2))));
}

/**
 * GBDT forest margins over the complete layout, as the JS completeMargins: rows [r0, r1) of the
 * column-major float32 matrix `data` (n rows, d features) in blocks of `B` rows transposed to row-major
 * into `blk`; every tree walked for eight rows at a time in blocks without a missing value (four in the
 * others), out[row * K + class] += leaf value in tree order. Float32 comparisons and f64 adds in the same
 * order as the JS kernel: the same bits. Forest arrays are int32 (depth, base, leaf base, class, feature,
 * missing-left), float32 (threshold) and float64 (leaf values) at the given offsets.
 */
export function forestMargins(
  cDepth: usize,
  cBase: usize,
  cLeafBase: usize,
  treeClass: usize,
  cFeat: usize,
  cThr: usize,
  cMiss: usize,
  cValue: usize,
  nTrees: i32,
  data: usize,
  n: i32,
  d: i32,
  K: i32,
  out: usize,
  r0: i32,
  r1: i32,
  blk: usize,
  B: i32,
): void {
  const rs = (<usize>d) << 2;
  for (let b0 = r0; b0 < r1; b0 += B) {
    const m = min<i32>(B, r1 - b0);
    let nan = 0;
    for (let f = 0; f < d; f++) {
      const src = data + ((<usize>f * <usize>n + <usize>b0) << 2);
      const dst = blk + ((<usize>f) << 2);
      for (let r = 0; r < m; r++) {
        const v = load<f32>(src + ((<usize>r) << 2));
        store<f32>(dst + <usize>r * rs, v);
        nan |= <i32>(v != v);
      }
    }
    const m4 = m & ~3;
    const m8 = m & ~7;
    for (let t = 0; t < nTrees; t++) {
      const tq = (<usize>t) << 2;
      const D = load<i32>(cDepth + tq);
      const ib = <usize>load<i32>(cBase + tq);
      const lb = cValue + ((<usize>(load<i32>(cLeafBase + tq) - ((1 << D) - 1))) << 3);
      const k = load<i32>(treeClass + tq);
      let r = 0;
      if (nan == 0) {
        for (; r < m8; r += 8) {
          const o0 = blk + <usize>r * rs;
          let n0 = 0;
          let n1 = 0;
          let n2 = 0;
          let n3 = 0;
          let n4 = 0;
          let n5 = 0;
          let n6 = 0;
          let n7 = 0;
          for (let l = 0; l < D; l++) {
            n0 = goPlain(n0, ib, cFeat, cThr, o0);
            n1 = goPlain(n1, ib, cFeat, cThr, o0 + rs);
            n2 = goPlain(n2, ib, cFeat, cThr, o0 + 2 * rs);
            n3 = goPlain(n3, ib, cFeat, cThr, o0 + 3 * rs);
            n4 = goPlain(n4, ib, cFeat, cThr, o0 + 4 * rs);
            n5 = goPlain(n5, ib, cFeat, cThr, o0 + 5 * rs);
            n6 = goPlain(n6, ib, cFeat, cThr, o0 + 6 * rs);
            n7 = goPlain(n7, ib, cFeat, cThr, o0 + 7 * rs);
          }
          const q = out + ((<usize>((b0 + r) * K + k)) << 3);
          const qs = (<usize>K) << 3;
          store<f64>(q, load<f64>(q) + load<f64>(lb + ((<usize>n0) << 3)));
          store<f64>(q + qs, load<f64>(q + qs) + load<f64>(lb + ((<usize>n1) << 3)));
          store<f64>(q + 2 * qs, load<f64>(q + 2 * qs) + load<f64>(lb + ((<usize>n2) << 3)));
          store<f64>(q + 3 * qs, load<f64>(q + 3 * qs) + load<f64>(lb + ((<usize>n3) << 3)));
          store<f64>(q + 4 * qs, load<f64>(q + 4 * qs) + load<f64>(lb + ((<usize>n4) << 3)));
          store<f64>(q + 5 * qs, load<f64>(q + 5 * qs) + load<f64>(lb + ((<usize>n5) << 3)));
          store<f64>(q + 6 * qs, load<f64>(q + 6 * qs) + load<f64>(lb + ((<usize>n6) << 3)));
          store<f64>(q + 7 * qs, load<f64>(q + 7 * qs) + load<f64>(lb + ((<usize>n7) << 3)));
        }
        for (; r < m; r++) {
          const o0 = blk + <usize>r * rs;
          let n0 = 0;
          for (let l = 0; l < D; l++) n0 = goPlain(n0, ib, cFeat, cThr, o0);
          const q = out + ((<usize>((b0 + r) * K + k)) << 3);
          store<f64>(q, load<f64>(q) + load<f64>(lb + ((<usize>n0) << 3)));
        }
      } else {
        for (; r < m4; r += 4) {
          const o0 = blk + <usize>r * rs;
          let n0 = 0;
          let n1 = 0;
          let n2 = 0;
          let n3 = 0;
          for (let l = 0; l < D; l++) {
            n0 = goMissing(n0, ib, cFeat, cThr, cMiss, o0);
            n1 = goMissing(n1, ib, cFeat, cThr, cMiss, o0 + rs);
            n2 = goMissing(n2, ib, cFeat, cThr, cMiss, o0 + 2 * rs);
            n3 = goMissing(n3, ib, cFeat, cThr, cMiss, o0 + 3 * rs);
          }
          const q = out + ((<usize>((b0 + r) * K + k)) << 3);
          const qs = (<usize>K) << 3;
          store<f64>(q, load<f64>(q) + load<f64>(lb + ((<usize>n0) << 3)));
          store<f64>(q + qs, load<f64>(q + qs) + load<f64>(lb + ((<usize>n1) << 3)));
          store<f64>(q + 2 * qs, load<f64>(q + 2 * qs) + load<f64>(lb + ((<usize>n2) << 3)));
          store<f64>(q + 3 * qs, load<f64>(q + 3 * qs) + load<f64>(lb + ((<usize>n3) << 3)));
        }
        for (; r < m; r++) {
          const o0 = blk + <usize>r * rs;
          let n0 = 0;
          for (let l = 0; l < D; l++) n0 = goMissing(n0, ib, cFeat, cThr, cMiss, o0);
          const q = out + ((<usize>((b0 + r) * K + k)) << 3);
          store<f64>(q, load<f64>(q) + load<f64>(lb + ((<usize>n0) << 3)));
        }
      }
    }
  }
}

// ---- GBDT split search -------------------------------------------------------------------------------

/** Loss reduction of a side with sums (g, h) without L1 or max_delta_step: nodeGain's t² / (h + λ). */
// @ts-ignore: decorator
@inline
function sideT(g: f64): f64 {
  // nodeGain's soft threshold at alpha = 0: g itself, except that NaN gives 0.
  return g > 0 ? g : g < 0 ? g : 0;
}

/**
 * Best split over features [f0, f1) of the histogram at `hist` (feature f's bins at hist + f * 4096, the
 * missing bin at numBins[f]), as the JS evalNode when alpha = 0 and max_delta_step = 0: a forward scan
 * with missing values right, then (when the feature has missing values) with missing values left; strict
 * improvement, so ties go to the lower feature, then bin, then missing-right. The two sides' t² / (h + λ)
 * are one f64x2 multiply and divide (two IEEE operations each): the same bits. Writes gain, feature, bin,
 * missing-left, G_L, H_L to res.
 */
export function evalPlain(
  hist: usize,
  numBins: usize,
  hasMissing: usize,
  mask: usize,
  f0: i32,
  f1: i32,
  G: f64,
  H: f64,
  lam: f64,
  mcw: f64,
  parentGain: f64,
  res: usize,
): void {
  let best: f64 = 0;
  let bf: i32 = -1;
  let bb: i32 = -1;
  let bml: i32 = 0;
  let bgl: f64 = 0;
  let bhl: f64 = 0;
  const lamv = f64x2.splat(lam);
  for (let f = f0; f < f1; f++) {
    if (load<u8>(mask + <usize>f) == 0) continue;
    const nb = load<i32>(numBins + ((<usize>f) << 2));
    const o = hist + ((<usize>f) << 12);
    let gm: f64 = 0;
    let hm: f64 = 0;
    if (load<u8>(hasMissing + <usize>f) == 1) {
      gm = load<f64>(o + ((<usize>nb) << 4));
      hm = load<f64>(o + ((<usize>nb) << 4), 8);
    }
    let cg: f64 = 0;
    let ch: f64 = 0;
    for (let b = 0; b < nb - 1; b++) {
      const q = o + ((<usize>b) << 4);
      cg += load<f64>(q);
      ch += load<f64>(q, 8);
      const hr = H - ch;
      if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
        const gr = G - cg;
        const t = f64x2.replace_lane(f64x2.splat(cg), 1, gr);
        const v = f64x2.div(f64x2.mul(t, t), f64x2.add(f64x2.replace_lane(f64x2.splat(ch), 1, hr), lamv));
        const gain = f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1) - parentGain;
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
        const q = o + ((<usize>b) << 4);
        cg += load<f64>(q);
        ch += load<f64>(q, 8);
        const hr = H - ch;
        if (ch >= mcw && hr >= mcw && ch > 0 && hr > 0) {
          const t = f64x2.replace_lane(f64x2.splat(sideT(cg)), 1, sideT(G - cg));
          const v = f64x2.div(f64x2.mul(t, t), f64x2.add(f64x2.replace_lane(f64x2.splat(ch), 1, hr), lamv));
          const gain = f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1) - parentGain;
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
  store<f64>(res, best);
  store<f64>(res, <f64>bf, 8);
  store<f64>(res, <f64>bb, 16);
  store<f64>(res, <f64>bml, 24);
  store<f64>(res, bgl, 32);
  store<f64>(res, bhl, 40);
}

// ---- GBDT binning ----------------------------------------------------------------------------------------

/**
 * Bin codes of a radix-sorted column: keys[k] (ascending order-preserving keys of the values) belongs to
 * row idx[k]; its code is the number of cut keys <= it, written to out[idx[k]]. As binColumn's walk over
 * the float values: keys compare as the floats do (no NaN among them, -0 and +0 one key).
 */
export function binAssign(keys: usize, idx: usize, m: i32, cutKeys: usize, nCuts: i32, out: usize): void {
  let b = 0;
  let next: u32 = nCuts > 0 ? load<u32>(cutKeys) : 0xffffffff;
  for (let k = 0; k < m; k++) {
    const key = load<u32>(keys + ((<usize>k) << 2));
    while (key >= next) {
      b++;
      next = b < nCuts ? load<u32>(cutKeys + ((<usize>b) << 2)) : 0xffffffff;
    }
    store<u8>(out + <usize>load<u32>(idx + ((<usize>k) << 2)), <u8>b);
  }
}
