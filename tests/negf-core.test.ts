/**
 * Float64 NEGF building blocks: complex linear algebra, lead self-energies, RGF vs a dense inverse
 * of the whole (Lx·2Ly)² matrix. Tolerances: dense vs RGF agree to ~1e-13 relative for these well
 * conditioned matrices (both are backward-stable LU inversions); 1e-10 leaves margin.
 */
import { describe, it, expect } from 'vitest';
import { cinv, cmul, cdagger, ctrace, czeros, cidentity, caxpy } from '../src/negf/complex.js';
import { randomSpins, buildSystem, sliceHamiltonian, leadSelfEnergy, broadening, chainSurfaceGreen, type NegfCase, type NegfSystem } from '../src/negf/model.js';
import { Rgf } from '../src/negf/rgf.js';
import { gk15 } from '../src/negf/grid.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
function randomMatrix(n: number, seed: number) {
  const r = rng(seed);
  const a = czeros(n);
  for (let p = 0; p < a.length; p++) a[p] = 2 * r() - 1;
  return a;
}
const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let p = 0; p < a.length; p++) m = Math.max(m, Math.abs(a[p])); return m; };
const diffMax = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let p = 0; p < a.length; p++) m = Math.max(m, Math.abs(a[p] - b[p])); return m; };

function caseOf(Lx: number, Ly: number, leads: NegfCase['leads'], seed: number, periodicY = true): NegfCase {
  return { lattice: { Lx, Ly, periodicY }, model: { t: 1, J: 1.3, onsite: Array.from({ length: Lx * Ly }, (_, i) => 0.1 * Math.sin(i)) }, leads, muL: 0.3, muR: -0.2, temperature: 0.05, spins: randomSpins(Lx * Ly, seed) };
}

/** dense G(z) of the whole sample */
function denseGreen(sys: NegfSystem, zr: number, zi: number) {
  const { Lx, M, t } = sys;
  const D = Lx * M;
  const A = czeros(D);
  const sig = leadSelfEnergy(sys, zr, zi);
  for (let x = 0; x < Lx; x++) {
    const h = sliceHamiltonian(sys, x);
    for (let r = 0; r < M; r++) for (let c = 0; c < M; c++) {
      const p = 2 * ((x * M + r) * D + x * M + c);
      A[p] = -h[2 * (r * M + c)] - ((x === 0 ? 1 : 0) + (x === Lx - 1 ? 1 : 0)) * sig[2 * (r * M + c)];
      A[p + 1] = -h[2 * (r * M + c) + 1] - ((x === 0 ? 1 : 0) + (x === Lx - 1 ? 1 : 0)) * sig[2 * (r * M + c) + 1];
      if (r === c) { A[p] += zr; A[p + 1] += zi; }
    }
    if (x + 1 < Lx) for (let o = 0; o < M; o++) { A[2 * ((x * M + o) * D + (x + 1) * M + o)] = t; A[2 * (((x + 1) * M + o) * D + x * M + o)] = t; }
  }
  const G = czeros(D);
  const ld = cinv(A, D, G);
  return { G, D, sig, ld };
}
/** 2×2 block (row orbital base r0, col base c0) of a D×D matrix */
function block(G: Float64Array, D: number, r0: number, c0: number) {
  const out: number[] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) out.push(G[2 * ((r0 + a) * D + c0 + b)], G[2 * ((r0 + a) * D + c0 + b) + 1]);
  return out;
}

describe('complex linear algebra', () => {
  it('inverse (partial pivoting) times matrix is identity; ln det matches product of eigen-free 2x2 formula', () => {
    for (const n of [1, 2, 5, 12]) {
      const a = randomMatrix(n, 7 + n);
      const inv = czeros(n);
      cinv(a, n, inv);
      expect(diffMax(cmul(a, inv, n), cidentity(n))).toBeLessThan(1e-12);
      expect(diffMax(cmul(inv, a, n), cidentity(n))).toBeLessThan(1e-12);
    }
    // zero leading pivot forces a row swap
    const p = new Float64Array([0, 0, 1, 0, 2, 0, 3, 1]);
    const ip = czeros(2);
    const [lr, li] = cinv(p, 2, ip);
    expect(diffMax(cmul(p, ip, 2), cidentity(2))).toBeLessThan(1e-14);
    // det = 0*(3+i) - 1*2 = -2
    expect(Math.exp(lr)).toBeCloseTo(2, 13);
    expect(Math.cos(li)).toBeCloseTo(-1, 13);
    expect(() => cinv(czeros(3), 3)).toThrow(/singular/);
  });
  it('dagger, trace, axpy', () => {
    const a = randomMatrix(4, 3), b = randomMatrix(4, 4);
    // (AB)† = B†A†
    expect(diffMax(cdagger(cmul(a, b, 4), 4), cmul(cdagger(b, 4), cdagger(a, 4), 4))).toBeLessThan(1e-14);
    const [tr, ti] = ctrace(a, 4);
    let sr = 0, si = 0;
    for (let i = 0; i < 4; i++) { sr += a[2 * (5 * i)]; si += a[2 * (5 * i) + 1]; }
    expect([tr, ti]).toEqual([sr, si]);
    const c = caxpy(a, b, 0, 2); // a + 2i b
    expect(c[0]).toBeCloseTo(a[0] - 2 * b[1], 15);
    expect(c[1]).toBeCloseTo(a[1] + 2 * b[0], 15);
  });
  it('G7K15 rule integrates polynomials (K15 to degree 22, G7 to degree 13)', () => {
    const { s, wk, we } = gk15();
    for (let d = 0; d <= 22; d++) {
      const exact = d % 2 ? 0 : 2 / (d + 1);
      const k = s.reduce((acc, x, j) => acc + wk[j] * x ** d, 0);
      const g = s.reduce((acc, x, j) => acc + (wk[j] - we[j]) * x ** d, 0);
      expect(Math.abs(k - exact)).toBeLessThan(1e-14);
      if (d <= 13) expect(Math.abs(g - exact)).toBeLessThan(1e-14);
    }
  });
});

describe('lead self-energies', () => {
  it('1D surface GF: retarded branch on the real axis, decaying root off it, Dyson identity', () => {
    for (const E of [-3, -2.5, -1, 0, 0.7, 1.99, 2.5, 4]) {
      const [gr, gi] = chainSurfaceGreen(E, 0, 0, 1);
      expect(gi).toBeLessThanOrEqual(0);
      // g = 1/(E - t² g)
      const dr = E - gr, di = -gi, d2 = dr * dr + di * di;
      expect(Math.abs(gr - dr / d2) + Math.abs(gi + di / d2)).toBeLessThan(1e-12);
      if (Math.abs(E) < 2) expect(gi).toBeLessThan(-1e-3);
      else expect(Math.hypot(gr, gi)).toBeLessThan(1);
    }
    for (const [zr, zi] of [[0.3, 1e-3], [-5, 2], [1, -0.5]]) {
      const [gr, gi] = chainSurfaceGreen(zr, zi, 0.2, 1.3);
      expect(Math.hypot(gr, gi) * 1.3).toBeLessThan(1);
      expect(Math.sign(gi)).toBe(-Math.sign(zi));
    }
  });

  it('tight-binding Σ equals the surface block of a long finite lead (η → 0 limit, brute force)', () => {
    // Semi-infinite lead of width Ly=3 (periodic) with tLead=0.8, coupled by t=1; the finite lead
    // of L slices with broadening η has surface GF converging to the exact one as e^{-ηL/v}.
    const sys = buildSystem(caseOf(2, 3, { kind: 'tight-binding', tLead: 0.8 }, 1));
    const M = sys.M, zr = 0.4, eta = 0.02, L = 1500;
    const exact = leadSelfEnergy(sys, zr, eta);
    // lead slice Hamiltonian: -tLead y-hopping; recursion g_1 = (z - h)^-1, g_{n+1} = (z - h - tl² g_n)^-1
    const h = czeros(M);
    for (const [y, y2] of [[0, 1], [1, 2], [2, 0]]) for (let s = 0; s < 2; s++) {
      h[2 * ((2 * y + s) * M + 2 * y2 + s)] = -0.8; h[2 * ((2 * y2 + s) * M + 2 * y + s)] = -0.8;
    }
    let g = czeros(M);
    const w = czeros(M);
    for (let n = 0; n < L; n++) {
      for (let p = 0; p < w.length; p++) w[p] = -h[p] - 0.64 * g[p];
      for (let o = 0; o < M; o++) { w[2 * (o * M + o)] += zr; w[2 * (o * M + o) + 1] += eta; }
      const gn = czeros(M); cinv(w, M, gn); g = gn;
    }
    expect(diffMax(g, exact)).toBeLessThan(1e-8); // exact Σ = t² g_surf with t = 1
    // Γ is Hermitian positive semidefinite: diagonal ≥ 0
    const gam = broadening(exact, M);
    for (let o = 0; o < M; o++) expect(gam[2 * (o * M + o)]).toBeGreaterThanOrEqual(0);
  });
});

describe('RGF vs dense inverse', () => {
  const cases: [string, NegfCase][] = [
    ['6x2 wide-band', caseOf(6, 2, { kind: 'wide-band', gamma: 1.5 }, 11)],
    ['4x3 periodic tight-binding', caseOf(4, 3, { kind: 'tight-binding', tLead: 1.2 }, 12)],
    ['5x3 open tight-binding', caseOf(5, 3, { kind: 'tight-binding' }, 13, false)],
    ['1x2 single column', caseOf(1, 2, { kind: 'wide-band', gamma: 2 }, 14)],
  ];
  for (const [name, c] of cases) {
    it(name, () => {
      const sys = buildSystem(c);
      const rgf = new Rgf(sys);
      const { Lx, Ly, M } = sys;
      const nb = Lx - 1;
      for (const [zr, zi] of [[0.37, 0.21], [-2.9, 1e-6], [3.1, 4]]) {
        const r = rgf.solveG(zr, zi);
        const { G, D, ld } = denseGreen(sys, zr, zi);
        const scale = maxAbs(G);
        for (let x = 0; x < Lx; x++) for (let y = 0; y < Ly; y++) {
          const i = x + Lx * y;
          expect(diffMax(r.G.subarray(8 * i, 8 * i + 8), block(G, D, x * M + 2 * y, x * M + 2 * y)) / scale).toBeLessThan(1e-10);
          if (x < nb) {
            const b = x + nb * y;
            expect(diffMax(r.Gf.subarray(8 * b, 8 * b + 8), block(G, D, x * M + 2 * y, (x + 1) * M + 2 * y)) / scale).toBeLessThan(1e-10);
            expect(diffMax(r.Gb.subarray(8 * b, 8 * b + 8), block(G, D, (x + 1) * M + 2 * y, x * M + 2 * y)) / scale).toBeLessThan(1e-10);
          }
        }
        // ln det G^-1 (mod 2πi)
        expect(Math.abs(r.logDet[0] - ld[0])).toBeLessThan(1e-10);
        expect(Math.abs(Math.sin((r.logDet[1] - ld[1]) / 2))).toBeLessThan(1e-10);
      }
      // real axis: A_α = G Γ_α G† blocks and lead kernels
      const E = 0.41, eta = 1e-9;
      const a = rgf.solveA(E, eta);
      const { G, D, sig } = denseGreen(sys, E, eta);
      const gam = broadening(sig, M);
      const GL = czeros(D), GR = czeros(D);
      for (const [lead, x0] of [[GL, 0], [GR, Lx - 1]] as const) {
        // G Γ G† with Γ on column x0
        const Gc = czeros(D);
        for (let r = 0; r < D; r++) for (let c = 0; c < M; c++) for (let k = 0; k < M; k++) {
          const gr = G[2 * (r * D + x0 * M + k)], gi = G[2 * (r * D + x0 * M + k) + 1];
          const hr = gam[2 * (k * M + c)], hi = gam[2 * (k * M + c) + 1];
          Gc[2 * (r * D + c)] += gr * hr - gi * hi; Gc[2 * (r * D + c) + 1] += gr * hi + gi * hr;
        }
        for (let r = 0; r < D; r++) for (let c = 0; c < D; c++) for (let k = 0; k < M; k++) {
          const ar = Gc[2 * (r * D + k)], ai = Gc[2 * (r * D + k) + 1];
          const br = G[2 * (c * D + x0 * M + k)], bi = -G[2 * (c * D + x0 * M + k) + 1];
          lead[2 * (r * D + c)] += ar * br - ai * bi; lead[2 * (r * D + c) + 1] += ar * bi + ai * br;
        }
      }
      const scale = maxAbs(GL);
      for (let x = 0; x < Lx; x++) for (let y = 0; y < Ly; y++) {
        const i = x + Lx * y, o = x * M + 2 * y;
        expect(diffMax(a.AL.subarray(8 * i, 8 * i + 8), block(GL, D, o, o)) / scale).toBeLessThan(1e-10);
        expect(diffMax(a.AR.subarray(8 * i, 8 * i + 8), block(GR, D, o, o)) / scale).toBeLessThan(1e-10);
        if (x < nb) {
          const b = x + nb * y;
          expect(diffMax(a.ALb.subarray(8 * b, 8 * b + 8), block(GL, D, o, o + M)) / scale).toBeLessThan(1e-10);
          expect(diffMax(a.ARb.subarray(8 * b, 8 * b + 8), block(GR, D, o, o + M)) / scale).toBeLessThan(1e-10);
        }
      }
      // particle kernel Tr(Γ_L A_R) on column 0 = transmission; also Tr(Γ_R A_L) on the last column
      let tLR = 0, tRL = 0;
      for (let r = 0; r < M; r++) for (let k = 0; k < M; k++) {
        tLR += gam[2 * (r * M + k)] * GR[2 * (k * D + r)] - gam[2 * (r * M + k) + 1] * GR[2 * (k * D + r) + 1];
        const o = (Lx - 1) * M;
        tRL += gam[2 * (r * M + k)] * GL[2 * ((o + k) * D + o + r)] - gam[2 * (r * M + k) + 1] * GL[2 * ((o + k) * D + o + r) + 1];
      }
      expect(Math.abs(a.kLR[0] - tLR)).toBeLessThan(1e-10 * Math.max(1, tLR));
      expect(Math.abs(a.kRL[0] - tRL)).toBeLessThan(1e-10 * Math.max(1, tRL));
      // two-terminal transmission is reciprocal, T_LR = T_RL, up to O(η·|G|²) (η = 1e-9 here)
      expect(Math.abs(a.kLR[0] - a.kRL[0])).toBeLessThan(1e-7);
    });
  }
});
