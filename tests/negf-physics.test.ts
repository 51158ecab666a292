/**
 * Physics invariants of the f64 NEGF reference solver (SPEC §2). Small lattices only.
 * Tolerances are stated per test; the solver's own error estimate is ~1e-7 for these cases.
 */
import { describe, it, expect } from 'vitest';
import { randomSpins, solveNegf, grandPotentialDifference, buildSystem, Rgf, siteDensities, emptySums, type NegfCase, type NegfResult } from '../src/negf/index.js';

const wide = { kind: 'wide-band', gamma: 1.2 } as const;
const tb = { kind: 'tight-binding', tLead: 1 } as const;
function mk(Lx: number, Ly: number, leads: NegfCase['leads'], muL: number, muR: number, T: number, seed: number, J = 1.5): NegfCase {
  return { lattice: { Lx, Ly, periodicY: true }, model: { t: 1, J }, leads, muL, muR, temperature: T, spins: randomSpins(Lx * Ly, seed) };
}
const sumTorque = (r: NegfResult) => r.torque.reduce((a, q) => a.map((v, k) => v + q[k]), [0, 0, 0]);

describe('equilibrium', () => {
  it('F = -dΩ/dS by central finite differences in the tangent plane (T > 0, both lead kinds)', () => {
    // δ = 1e-3: FD truncation ~δ²|Ω'''| ~ 1e-6; contour error ~1e-8 → tolerance 2e-5
    for (const [c, sites] of [[mk(4, 2, wide, -0.4, -0.4, 0.05, 3), [0, 5]], [mk(5, 1, tb, 0.3, 0.3, 0.08, 4, 2.5), [2, 4]]] as const) {
      const r = solveNegf(c);
      const S = c.spins as number[][];
      for (const i of sites) {
        const s = S[i];
        // two tangent directions
        const e1 = normalize(cross(s, Math.abs(s[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0]));
        for (const e of [e1, cross(s, e1)]) {
          const d = 1e-3;
          // rotate S_i by ±d towards e: S(θ) = S cos θ + e sin θ, dΩ/dθ(0) = ∂Ω/∂S·e
          const at = (th: number) => S.map((v, j) => (j === i ? v.map((x, k) => x * Math.cos(th) + e[k] * Math.sin(th)) : v));
          const dOmega = grandPotentialDifference({ ...c, spins: at(d) }, at(-d));
          const fd = -dOmega / (2 * d);
          const F = r.field[i];
          expect(Math.abs(fd - (F[0] * e[0] + F[1] * e[1] + F[2] * e[2]))).toBeLessThan(2e-5);
        }
      }
    }
  });

  it('contour weights equal a brute-force Matsubara sum (Richardson-extrapolated), T = 0.1', () => {
    // ρ = I/2 + T Σ_n (G + G†)(μ + iω_n): truncation error ∝ 1/N_m, removed by Richardson
    // (2·S_2N - S_N); residual O(1/N²) ~ 1e-7.
    const c = mk(5, 2, wide, 0.1, 0.1, 0.1, 5);
    const r = solveNegf(c);
    const sys = buildSystem(c), rgf = new Rgf(sys);
    const N = 10;
    const mats = (nm: number) => {
      const s = emptySums(5, 2);
      for (let n = 0; n < nm; n++) {
        const g = rgf.solveG(0.1, (2 * n + 1) * Math.PI * 0.1).G;
        for (let p = 0; p < g.length; p++) s.G[p] += 0.1 * g[p];
      }
      return siteDensities(s, N);
    };
    const a = mats(1000), b = mats(2000);
    for (let i = 0; i < N; i++) {
      const ref = [0, 1, 2, 3].map((m) => 2 * b[4 * i + m] - a[4 * i + m]);
      expect(Math.abs(ref[0] - r.density[i])).toBeLessThan(2e-6);
      for (let k = 0; k < 3; k++) expect(Math.abs(ref[k + 1] - r.spinDensity[i][k])).toBeLessThan(2e-6);
    }
  });

  it('uniform ferromagnetic chain with tight-binding leads: centre density = infinite-chain value', () => {
    // bands ε = -2t cos k ∓ J; n_σ = (1/π)∫_0^π f(ε_σ(k) - μ) dk. T = 0.2 makes interface
    // (Friedel) oscillations decay on ~v_F/(2πT) ≈ 1.6 sites, negligible 20 sites in (< 1e-6).
    const Lx = 40, J = 0.5, mu = 0.3, T = 0.2;
    const spins = Array.from({ length: Lx }, () => [0, 0, 1]);
    const r = solveNegf({ lattice: { Lx, Ly: 1 }, model: { t: 1, J }, leads: tb, muL: mu, muR: mu, temperature: T, spins });
    const nk = 4000;
    const nSpin = (sgn: number) => {
      let s = 0;
      for (let k = 0; k < nk; k++) { const kk = (Math.PI * (k + 0.5)) / nk; s += 1 / (Math.exp((-2 * Math.cos(kk) + sgn * J - mu) / T) + 1); }
      return s / nk;
    };
    const up = nSpin(-1), dn = nSpin(1);
    for (const i of [19, 20]) {
      expect(Math.abs(r.density[i] - (up + dn))).toBeLessThan(1e-5);
      expect(Math.abs(r.spinDensity[i][2] - (up - dn))).toBeLessThan(1e-5);
      expect(Math.abs(r.spinDensity[i][0]) + Math.abs(r.spinDensity[i][1])).toBeLessThan(1e-12);
    }
  });

  it('T = 0 is supported and is the T → 0 limit (difference O(T²))', () => {
    const c0 = mk(4, 2, wide, -0.3, -0.3, 0, 6);
    const r0 = solveNegf(c0), r1 = solveNegf({ ...c0, temperature: 2e-3 });
    for (let i = 0; i < 8; i++) expect(Math.abs(r0.density[i] - r1.density[i])).toBeLessThan(1e-4);
    // and no equilibrium current / spin current from the leads
    expect(Math.abs(r0.currentL) + Math.abs(r0.spinCurrentL[0])).toBe(0);
    expect(Math.hypot(...sumTorque(r0))).toBeLessThan(1e-6);
  });
});

describe('nonequilibrium', () => {
  const cases: [string, NegfCase][] = [
    ['wide-band 6x2, T = 0.05', mk(6, 2, wide, 0.4, -0.2, 0.05, 7)],
    ['tight-binding 4x3, T = 0', mk(4, 3, tb, 0.5, 0.1, 0, 8)],
  ];
  for (const [name, c] of cases) {
    it(`current conservation and torque sum rule: ${name}`, () => {
      const r = solveNegf(c);
      const tol = 1e-6; // ≈ 10 × the reported error estimate
      expect(r.meta.errorEstimate).toBeLessThan(1e-6);
      expect(Math.abs(r.currentL)).toBeGreaterThan(1e-3);
      expect(Math.abs(r.currentL + r.currentR)).toBeLessThan(tol);
      for (const I of r.bondCurrents) expect(Math.abs(I - r.currentL)).toBeLessThan(tol);
      // Σ_i S_i × F_i = (I_L^s + I_R^s)/2
      const ts = sumTorque(r);
      for (let k = 0; k < 3; k++) expect(Math.abs(ts[k] - (r.spinCurrentL[k] + r.spinCurrentR[k]) / 2)).toBeLessThan(tol);
      expect(Math.hypot(...ts)).toBeGreaterThan(1e-4); // the rule is not trivially 0 = 0
    });
  }

  it('global spin rotation: n invariant, m, F, currents rotate', () => {
    const c = mk(5, 2, wide, 0.3, -0.3, 0.05, 9);
    const R = rotation([0.3, -0.5, 0.8], 1.1);
    const rot = (v: number[]) => [0, 1, 2].map((a) => R[a][0] * v[0] + R[a][1] * v[1] + R[a][2] * v[2]);
    const r0 = solveNegf(c), r1 = solveNegf({ ...c, spins: (c.spins as number[][]).map(rot) });
    // identical grids up to adaptivity decisions → agreement to the integration tolerance
    for (let i = 0; i < 10; i++) {
      expect(Math.abs(r0.density[i] - r1.density[i])).toBeLessThan(1e-7);
      const m = rot(r0.spinDensity[i]);
      for (let k = 0; k < 3; k++) expect(Math.abs(m[k] - r1.spinDensity[i][k])).toBeLessThan(1e-7);
    }
    const s = rot(r0.spinCurrentL);
    for (let k = 0; k < 3; k++) expect(Math.abs(s[k] - r1.spinCurrentL[k])).toBeLessThan(1e-7);
    expect(Math.abs(r0.currentL - r1.currentL)).toBeLessThan(1e-8);
  });

  it('V → 0 continuity: observables are linear in small V around the equilibrium value', () => {
    const base = mk(5, 2, tb, 0.2, 0.2, 0.05, 10);
    const eq = solveNegf(base);
    const dV = 2e-3;
    const p = solveNegf({ ...base, muL: 0.2 + dV / 2, muR: 0.2 - dV / 2 });
    const m = solveNegf({ ...base, muL: 0.2 - dV / 2, muR: 0.2 + dV / 2 });
    for (let i = 0; i < 10; i++) {
      const dp = p.field[i][0] - eq.field[i][0], dm = m.field[i][0] - eq.field[i][0];
      expect(Math.abs(dp)).toBeLessThan(0.05 * dV * 10);
      // odd in V up to O(V²)
      expect(Math.abs(dp + dm)).toBeLessThan(1e-5);
    }
    // linear response current: G = I/V finite and the same for ±V
    expect(Math.abs(p.currentL / dV + m.currentL / dV)).toBeLessThan(1e-4);
  });

  it('converges as η → 0 and with the number of energy points (fixed grids)', () => {
    const c = mk(4, 2, tb, 0.6, -0.4, 0.02, 11);
    const ref = solveNegf(c, { eta: 1e-10, tol: 1e-9 });
    const errs = [1e-3, 1e-5].map((eta) => maxDiff(solveNegf(c, { eta, tol: 1e-9 }), ref));
    expect(errs[0]).toBeLessThan(1e-2);
    expect(errs[1]).toBeLessThan(errs[0] / 30); // ~linear in η
    // fixed grids: error decreases with the number of panels and is bounded by the estimate
    let prev = Infinity;
    for (const realPanels of [1, 2, 4, 8]) {
      const r = solveNegf(c, { adaptive: false, realPanels, eta: 1e-10 });
      const e = maxDiff(r, ref);
      expect(e).toBeLessThan(Math.max(r.meta.errorEstimate, 1e-9));
      expect(e).toBeLessThan(prev * 1.01 + 1e-9);
      prev = e;
    }
    expect(prev).toBeLessThan(1e-6);
  });

  it('bound states below the lead band are counted and reported when inside the bias window', () => {
    // chain, J = 3: the spin-↑ band [-5, -1] of the sample overlaps the lead band [-2, 2] only
    // partially; states below -2 do not couple to the leads.
    const spins = Array.from({ length: 8 }, () => [0, 0, 1]);
    const base = { lattice: { Lx: 8, Ly: 1 }, model: { t: 1, J: 3 }, leads: tb, temperature: 0, spins } as const;
    const inGap = solveNegf({ ...base, muL: -3.0, muR: -4.6 });
    expect(inGap.meta.boundStateInWindow).toBe(true);
    expect(inGap.meta.boundStateWeightInWindow).toBeGreaterThan(0.9);
    const inBand = solveNegf({ ...base, muL: 0.5, muR: -0.5 });
    expect(inBand.meta.boundStateInWindow).toBe(false);
    expect(Math.abs(inBand.meta.boundStateWeightInWindow)).toBeLessThan(1e-3);
    // ... and bound states are occupied in equilibrium: μ in the gap below the lead band, above
    // some bound levels, gives a density that the scattering states alone cannot produce.
    const eq = solveNegf({ ...base, muL: -2.5, muR: -2.5 });
    expect(eq.density.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.5);
  });
});

function cross(a: number[], b: number[]) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
function normalize(a: number[]) { const n = Math.hypot(...a); return a.map((v) => v / n); }
function rotation(axis: number[], ang: number): number[][] {
  const [x, y, z] = normalize(axis), c = Math.cos(ang), s = Math.sin(ang), C = 1 - c;
  return [[c + x * x * C, x * y * C - z * s, x * z * C + y * s], [y * x * C + z * s, c + y * y * C, y * z * C - x * s], [z * x * C - y * s, z * y * C + x * s, c + z * z * C]];
}
function maxDiff(a: NegfResult, b: NegfResult): number {
  let m = 0;
  a.density.forEach((v, i) => { m = Math.max(m, Math.abs(v - b.density[i])); for (let k = 0; k < 3; k++) m = Math.max(m, Math.abs(a.spinDensity[i][k] - b.spinDensity[i][k])); });
  return Math.max(m, Math.abs(a.currentL - b.currentL));
}
