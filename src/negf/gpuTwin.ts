/**
 * float64 twin of the GPU RGF kernels (./gpuRgf.ts): the same accumulated quantities computed by
 * dense inversion of the full 2N x 2N matrix z - H - Sigma_L - Sigma_R. Independent of the RGF
 * recursions on purpose (it checks them); O((2N)^3) per energy, for small systems only.
 *
 * Dense orbital order: x*M + 2*y + s (slice-major, M = 2*Ly); outputs use site i = x + Lx*y and
 * the layouts of RgfSums (see gpuRgf.ts for all conventions).
 */
import type { RgfModel, RgfEnergies } from './gpuRgf.js';

export interface RgfSums64 {
  B: number;
  gdiag: Float64Array;
  aL: Float64Array;
  aR: Float64Array;
  bond: Float64Array;
}

/** Dense complex n x n matrix, row-major, separate real and imaginary parts. */
interface CMat {
  n: number;
  re: Float64Array;
  im: Float64Array;
}

const cmat = (n: number): CMat => ({ n, re: new Float64Array(n * n), im: new Float64Array(n * n) });

/** Inverse by Gauss-Jordan elimination with partial pivoting on an augmented copy. */
export function invertDense(a: CMat): CMat {
  const n = a.n;
  const w = 2 * n;
  const re = new Float64Array(n * w);
  const im = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      re[i * w + j] = a.re[i * n + j];
      im[i * w + j] = a.im[i * n + j];
    }
    re[i * w + n + i] = 1;
  }
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = -1;
    for (let i = k; i < n; i++) {
      const m = re[i * w + k] ** 2 + im[i * w + k] ** 2;
      if (m > best) [best, p] = [m, i];
    }
    if (!(best > 0)) throw new Error('invertDense: matrix is singular');
    if (p !== k) {
      for (let j = 0; j < w; j++) {
        [re[k * w + j], re[p * w + j]] = [re[p * w + j], re[k * w + j]];
        [im[k * w + j], im[p * w + j]] = [im[p * w + j], im[k * w + j]];
      }
    }
    const pr = re[k * w + k] / best;
    const pi = -im[k * w + k] / best;
    for (let j = 0; j < w; j++) {
      const xr = re[k * w + j];
      const xi = im[k * w + j];
      re[k * w + j] = xr * pr - xi * pi;
      im[k * w + j] = xr * pi + xi * pr;
    }
    for (let i = 0; i < n; i++) {
      const fr = re[i * w + k];
      const fi = im[i * w + k];
      if (i === k || (fr === 0 && fi === 0)) continue;
      for (let j = 0; j < w; j++) {
        const xr = re[k * w + j];
        const xi = im[k * w + j];
        re[i * w + j] -= fr * xr - fi * xi;
        im[i * w + j] -= fr * xi + fi * xr;
      }
    }
  }
  const out = cmat(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out.re[i * n + j] = re[i * w + n + j];
      out.im[i * n + j] = im[i * w + n + j];
    }
  }
  return out;
}

/** Dense Hamiltonian of configuration `spins` (3N values) in the slice-major orbital order. */
export function denseHamiltonian(model: RgfModel, spins: ArrayLike<number>, offset = 0): CMat {
  const { Lx, Ly, t, J } = model;
  const M = 2 * Ly;
  const h = cmat(Lx * M);
  const n = h.n;
  const orb = (x: number, y: number, s: number) => x * M + 2 * y + s;
  const hop = (a: number, b: number) => {
    h.re[a * n + b] -= t;
    h.re[b * n + a] -= t;
  };
  for (let x = 0; x < Lx; x++) {
    for (let y = 0; y < Ly; y++) {
      const i = x + Lx * y;
      const [sx, sy, sz] = [spins[offset + 3 * i], spins[offset + 3 * i + 1], spins[offset + 3 * i + 2]];
      const u = orb(x, y, 0);
      const d = orb(x, y, 1);
      const v = model.onsite ? model.onsite[i] : 0;
      // -J S.sigma + v
      h.re[u * n + u] += v - J * sz;
      h.re[d * n + d] += v + J * sz;
      h.re[u * n + d] += -J * sx;
      h.im[u * n + d] += J * sy;
      h.re[d * n + u] += -J * sx;
      h.im[d * n + u] += -J * sy;
      for (let s = 0; s < 2; s++) {
        if (x + 1 < Lx) hop(orb(x, y, s), orb(x + 1, y, s));
        if (y + 1 < Ly) hop(orb(x, y, s), orb(x, y + 1, s));
        else if (model.periodicY && Ly >= 3) hop(orb(x, y, s), orb(x, 0, s));
      }
    }
  }
  return h;
}

/** The accumulated RGF quantities of gpuRgf.ts in float64 by dense inversion. */
export function rgfTwin(model: RgfModel, spins: ArrayLike<number>, en: RgfEnergies, sigmaL: ArrayLike<number>, sigmaR: ArrayLike<number>): RgfSums64 {
  const { Lx, Ly } = model;
  const M = 2 * Ly;
  const N = Lx * Ly;
  const n = Lx * M;
  const B = spins.length / (3 * N);
  const K = en.wL.length;
  const out: RgfSums64 = {
    B,
    gdiag: new Float64Array(B * N * 8),
    aL: new Float64Array(B * N * 8),
    aR: new Float64Array(B * N * 8),
    bond: new Float64Array(B * Math.max(0, Lx - 1) * 16),
  };
  for (let b = 0; b < B; b++) {
    const h = denseHamiltonian(model, spins, 3 * N * b);
    for (let k = 0; k < K; k++) {
      const a = cmat(n);
      for (let e = 0; e < n * n; e++) {
        a.re[e] = -h.re[e];
        a.im[e] = -h.im[e];
      }
      for (let o = 0; o < n; o++) {
        a.re[o * n + o] += en.z[2 * k];
        a.im[o * n + o] += en.z[2 * k + 1];
      }
      const leads = [
        { sig: sigmaL, x0: 0, w: en.wL[k] },
        { sig: sigmaR, x0: Lx - 1, w: en.wR[k] },
      ];
      for (const { sig, x0 } of leads) {
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < M; j++) {
            const s = 2 * (k * M * M + i * M + j);
            a.re[(x0 * M + i) * n + x0 * M + j] -= sig[s];
            a.im[(x0 * M + i) * n + x0 * M + j] -= sig[s + 1];
          }
        }
      }
      const g = invertDense(a);
      const [wgr, wgi] = [en.wG[2 * k], en.wG[2 * k + 1]];
      addDiag(out.gdiag, b, g, Lx, Ly, wgr, wgi);
      leads.forEach(({ sig, x0, w }, alpha) => {
        if (w === 0) return;
        const sp = spectral(g, sig, k, x0, M);
        addDiag(alpha === 0 ? out.aL : out.aR, b, sp, Lx, Ly, w, 0);
        for (let x = 0; x + 1 < Lx; x++) {
          const tr = sliceTraces(sp, x, M);
          const o = 8 * ((b * (Lx - 1) + x) * 2 + alpha);
          for (let c = 0; c < 8; c++) out.bond[o + c] += w * tr[c];
        }
      });
    }
  }
  return out;
}

/** A = G[:, slice x0] Gamma G[:, slice x0]^+, Gamma = i(Sigma - Sigma^+) of energy k. */
function spectral(g: CMat, sig: ArrayLike<number>, k: number, x0: number, M: number): CMat {
  const n = g.n;
  const gam = cmat(M);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      const s = 2 * (k * M * M + i * M + j);
      const t = 2 * (k * M * M + j * M + i);
      // i (S_ij - conj(S_ji))
      const dr = sig[s] - sig[t];
      const di = sig[s + 1] + sig[t + 1];
      gam.re[i * M + j] = -di;
      gam.im[i * M + j] = dr;
    }
  }
  // X = G[:, cols] Gamma  (n x M)
  const xr = new Float64Array(n * M);
  const xi = new Float64Array(n * M);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < M; j++) {
      let sr = 0;
      let si = 0;
      for (let q = 0; q < M; q++) {
        const ar = g.re[r * n + x0 * M + q];
        const ai = g.im[r * n + x0 * M + q];
        sr += ar * gam.re[q * M + j] - ai * gam.im[q * M + j];
        si += ar * gam.im[q * M + j] + ai * gam.re[q * M + j];
      }
      xr[r * M + j] = sr;
      xi[r * M + j] = si;
    }
  }
  const a = cmat(n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      let sr = 0;
      let si = 0;
      for (let q = 0; q < M; q++) {
        // X[r][q] * conj(G[c][x0 M + q])
        const br = g.re[c * n + x0 * M + q];
        const bi = -g.im[c * n + x0 * M + q];
        sr += xr[r * M + q] * br - xi[r * M + q] * bi;
        si += xr[r * M + q] * bi + xi[r * M + q] * br;
      }
      a.re[r * n + c] = sr;
      a.im[r * n + c] = si;
    }
  }
  return a;
}

/** out[b][i][s][s'] += w * m_{(i,s),(i,s')} (w complex). */
function addDiag(out: Float64Array, b: number, m: CMat, Lx: number, Ly: number, wr: number, wi: number): void {
  const M = 2 * Ly;
  const n = m.n;
  for (let x = 0; x < Lx; x++) {
    for (let y = 0; y < Ly; y++) {
      const i = x + Lx * y;
      for (let s = 0; s < 2; s++) {
        for (let s2 = 0; s2 < 2; s2++) {
          const e = (x * M + 2 * y + s) * n + x * M + 2 * y + s2;
          const o = 2 * ((b * Lx * Ly + i) * 4 + 2 * s + s2);
          out[o] += wr * m.re[e] - wi * m.im[e];
          out[o + 1] += wr * m.im[e] + wi * m.re[e];
        }
      }
    }
  }
}

/** [Tr Z, Tr sx Z, Tr sy Z, Tr sz Z] (re, im) of Z = m_{x+1,x} (rows slice x+1, columns slice x). */
function sliceTraces(m: CMat, x: number, M: number): number[] {
  const n = m.n;
  // z[s][s'] = sum_y Z_{(y,s),(y,s')}
  const zr = [0, 0, 0, 0];
  const zi = [0, 0, 0, 0];
  for (let y = 0; y < M / 2; y++) {
    for (let s = 0; s < 2; s++) {
      for (let s2 = 0; s2 < 2; s2++) {
        const e = ((x + 1) * M + 2 * y + s) * n + x * M + 2 * y + s2;
        zr[2 * s + s2] += m.re[e];
        zi[2 * s + s2] += m.im[e];
      }
    }
  }
  // Tr(sigma Z) = sum_{s,s'} sigma_{s s'} z[s'][s]: sx -> z10 + z01, sy -> -i z10 + i z01, sz -> z00 - z11
  return [
    zr[0] + zr[3], zi[0] + zi[3],
    zr[2] + zr[1], zi[2] + zi[1],
    zi[2] - zi[1], -zr[2] + zr[1],
    zr[0] - zr[3], zi[0] - zi[3],
  ];
}
