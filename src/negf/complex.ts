/**
 * Small dense complex linear algebra in float64 for the NEGF reference solver.
 *
 * Storage: an n×n complex matrix is a Float64Array of length 2n², row-major, real and imaginary
 * parts interleaved: element (r, c) is (a[2(r n + c)], a[2(r n + c) + 1]). Complex scalars are
 * [re, im] tuples. All routines are allocation-free when given an `out` buffer; `out` must not
 * alias an input unless stated. Precision: plain f64 arithmetic; the inverse uses LU with partial
 * pivoting (backward stable; relative error ~ cond(A)·1e-16).
 */

export type Complex = [number, number];
export type CMatrix = Float64Array;

/** n×n zero matrix */
export function czeros(n: number): CMatrix {
  return new Float64Array(2 * n * n);
}

/** n×n identity times the complex scalar (re, im) */
export function cidentity(n: number, re = 1, im = 0): CMatrix {
  const a = czeros(n);
  for (let i = 0; i < n; i++) {
    a[2 * (i * n + i)] = re;
    a[2 * (i * n + i) + 1] = im;
  }
  return a;
}

/** out = A·B (n×n) */
export function cmul(a: CMatrix, b: CMatrix, n: number, out: CMatrix = czeros(n)): CMatrix {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const oi = 2 * i * n;
    for (let k = 0; k < n; k++) {
      const ar = a[oi + 2 * k], ai = a[oi + 2 * k + 1];
      if (ar === 0 && ai === 0) continue;
      const ok = 2 * k * n;
      for (let j = 0; j < 2 * n; j += 2) {
        const br = b[ok + j], bi = b[ok + j + 1];
        out[oi + j] += ar * br - ai * bi;
        out[oi + j + 1] += ar * bi + ai * br;
      }
    }
  }
  return out;
}

/** out = A + s·B with complex scalar s = (sr, si); out may alias A or B */
export function caxpy(a: CMatrix, b: CMatrix, sr: number, si: number, out: CMatrix = new Float64Array(a.length)): CMatrix {
  for (let p = 0; p < a.length; p += 2) {
    const br = b[p], bi = b[p + 1];
    out[p] = a[p] + sr * br - si * bi;
    out[p + 1] = a[p + 1] + sr * bi + si * br;
  }
  return out;
}

/** out = A + B; out may alias A or B */
export function cadd(a: CMatrix, b: CMatrix, out: CMatrix = new Float64Array(a.length)): CMatrix {
  for (let p = 0; p < a.length; p++) out[p] = a[p] + b[p];
  return out;
}

/** out = A† (conjugate transpose) */
export function cdagger(a: CMatrix, n: number, out: CMatrix = czeros(n)): CMatrix {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[2 * (j * n + i)] = a[2 * (i * n + j)];
      out[2 * (j * n + i) + 1] = -a[2 * (i * n + j) + 1];
    }
  }
  return out;
}

/** trace of A */
export function ctrace(a: CMatrix, n: number): Complex {
  let re = 0, im = 0;
  for (let i = 0; i < n; i++) {
    re += a[2 * (i * n + i)];
    im += a[2 * (i * n + i) + 1];
  }
  return [re, im];
}

/** Tr(A·B) without forming the product */
export function ctraceProduct(a: CMatrix, b: CMatrix, n: number): Complex {
  let re = 0, im = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const ar = a[2 * (i * n + k)], ai = a[2 * (i * n + k) + 1];
      const br = b[2 * (k * n + i)], bi = b[2 * (k * n + i) + 1];
      re += ar * br - ai * bi;
      im += ar * bi + ai * br;
    }
  }
  return [re, im];
}

/** principal complex logarithm */
export function clog(re: number, im: number): Complex {
  return [Math.log(Math.hypot(re, im)), Math.atan2(im, re)];
}

/**
 * out = A⁻¹ by Gauss-Jordan elimination with partial pivoting (equivalent to LU with partial
 * pivoting followed by triangular inversion). `a` is not modified. Returns ln det A (a complex
 * logarithm: the sum of the principal logs of the pivots, so correct modulo 2πi).
 * Throws if a pivot is exactly zero (singular matrix).
 */
export function cinv(a: CMatrix, n: number, out: CMatrix = czeros(n), work: CMatrix = czeros(n)): Complex {
  const w = work;
  w.set(a);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let ldRe = 0, ldIm = 0;
  const n2 = 2 * n;
  for (let k = 0; k < n; k++) {
    // pivot search in column k
    let piv = k, best = -1;
    for (let r = k; r < n; r++) {
      const v = Math.abs(w[r * n2 + 2 * k]) + Math.abs(w[r * n2 + 2 * k + 1]);
      if (v > best) { best = v; piv = r; }
    }
    if (best === 0) throw new Error('cinv: singular matrix');
    if (piv !== k) {
      for (let j = 0; j < n2; j++) {
        const tmp = w[k * n2 + j]; w[k * n2 + j] = w[piv * n2 + j]; w[piv * n2 + j] = tmp;
      }
      const tp = perm[k]; perm[k] = perm[piv]; perm[piv] = tp;
      ldIm += Math.PI; // a row swap flips the sign of the determinant
    }
    const pr = w[k * n2 + 2 * k], pi = w[k * n2 + 2 * k + 1];
    const [lr, li] = clog(pr, pi);
    ldRe += lr; ldIm += li;
    // scale row k by 1/pivot; the pivot slot stores 1/pivot (in-place Gauss-Jordan)
    const d = pr * pr + pi * pi, ir = pr / d, ii = -pi / d;
    w[k * n2 + 2 * k] = 1; w[k * n2 + 2 * k + 1] = 0;
    for (let j = 0; j < n2; j += 2) {
      const xr = w[k * n2 + j], xi = w[k * n2 + j + 1];
      w[k * n2 + j] = xr * ir - xi * ii;
      w[k * n2 + j + 1] = xr * ii + xi * ir;
    }
    for (let r = 0; r < n; r++) {
      if (r === k) continue;
      const fr = w[r * n2 + 2 * k], fi = w[r * n2 + 2 * k + 1];
      if (fr === 0 && fi === 0) continue;
      w[r * n2 + 2 * k] = 0; w[r * n2 + 2 * k + 1] = 0;
      for (let j = 0; j < n2; j += 2) {
        const xr = w[k * n2 + j], xi = w[k * n2 + j + 1];
        w[r * n2 + j] -= fr * xr - fi * xi;
        w[r * n2 + j + 1] -= fr * xi + fi * xr;
      }
    }
  }
  // w = (P A)^-1 = A^-1 P^T: undo the row permutation as a column permutation
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      out[r * n2 + 2 * perm[c]] = w[r * n2 + 2 * c];
      out[r * n2 + 2 * perm[c] + 1] = w[r * n2 + 2 * c + 1];
    }
  }
  return [ldRe, ldIm];
}
