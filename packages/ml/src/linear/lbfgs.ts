/**
 * Limited-memory BFGS minimiser with a backtracking (Armijo) line search, for smooth full-batch losses.
 * `fg(w, grad)` returns the loss at `w` and writes its gradient into `grad`. Minimises in place.
 */
export function lbfgs(
  w: Float64Array,
  fg: (w: Float64Array, grad: Float64Array) => number,
  opts: { maxIter: number; memory?: number; tol?: number; onIter?: (it: number, loss: number) => boolean },
): { loss: number; iterations: number } {
  const n = w.length;
  const mem = opts.memory ?? 10;
  const tol = opts.tol ?? 1e-7;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const g = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dir = new Float64Array(n);
  const wNew = new Float64Array(n);
  const alpha = new Float64Array(mem);
  let f = fg(w, g);
  let it = 0;
  for (; it < opts.maxIter; it++) {
    let gnorm = 0;
    for (let i = 0; i < n; i++) gnorm = Math.max(gnorm, Math.abs(g[i]!));
    if (gnorm < tol) break;
    // Two-loop recursion: dir = -H·g.
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let k = S.length - 1; k >= 0; k--) {
      let a = 0;
      for (let i = 0; i < n; i++) a += S[k]![i]! * dir[i]!;
      a *= rho[k]!;
      alpha[k] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * Y[k]![i]!;
    }
    if (S.length > 0) {
      const k = S.length - 1;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) {
        sy += S[k]![i]! * Y[k]![i]!;
        yy += Y[k]![i]! * Y[k]![i]!;
      }
      const gamma = sy / yy;
      for (let i = 0; i < n; i++) dir[i]! *= gamma;
    } else {
      // First step: scale so the step length is modest.
      const s = 1 / Math.max(1, Math.sqrt(g.reduce((a, v) => a + v * v, 0)));
      for (let i = 0; i < n; i++) dir[i]! *= s;
    }
    for (let k = 0; k < S.length; k++) {
      let b = 0;
      for (let i = 0; i < n; i++) b += Y[k]![i]! * dir[i]!;
      b *= rho[k]!;
      for (let i = 0; i < n; i++) dir[i]! += S[k]![i]! * (alpha[k]! - b);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i]! * dir[i]!;
    if (slope >= 0) {
      // Not a descent direction (curvature info went stale): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i]!;
      slope = -g.reduce((a, v) => a + v * v, 0);
    }
    let step = 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) wNew[i] = w[i]! + step * dir[i]!;
      fNew = fg(wNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < f)) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = wNew[i]! - w[i]!;
      y[i] = gNew[i]! - g[i]!;
      sy += s[i]! * y[i]!;
    }
    const converged = Math.abs(f - fNew) <= tol * Math.max(1, Math.abs(f));
    w.set(wNew);
    g.set(gNew);
    f = fNew;
    if (sy > 1e-12) {
      if (S.length === mem) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (opts.onIter?.(it, f) === false || converged) {
      it++;
      break;
    }
  }
  return { loss: f, iterations: it };
}
