/**
 * Float64 twin of the Landau-Lifshitz engine against analytic results (CPU only).
 * dS/dt = -S × (H + α S × H) with γ = 1 (see src/dynamics/params.ts).
 */
import { describe, it, expect } from 'vitest';
import { Lattice } from '../src/lattice/lattice.js';
import { LLTwin, resolveParams, cayley, noiseSigma, precessionExact, type Integrator, type Vec3 } from '../src/dynamics/index.js';

const INTEGRATORS: Integrator[] = ['midpoint', 'heun', 'depondt'];

function precessionError(integrator: Integrator, dt: number): number {
  const B = 1, alpha = 0.2, th0 = 2.5, T = 10;
  const tw = new LLTwin(new Lattice({ Lx: 1, Ly: 1 }), { alpha, dt, integrator, B: [0, 0, B] });
  tw.setSpins([Math.sin(th0), 0, Math.cos(th0)]);
  tw.run(Math.round(T / dt));
  const s = tw.getSpins(), e = precessionExact(B, alpha, th0, T);
  return Math.hypot(s[0] - e[0], s[1] - e[1], s[2] - e[2]);
}

/** Small test texture (not unit: the engines normalise). */
function texture(N: number): number[] {
  const s: number[] = [];
  for (let i = 0; i < N; i++) s.push(Math.sin(1.7 * i + 0.3), Math.cos(2.1 * i), 0.6 * Math.sin(0.7 * i + 1));
  return s;
}

/** max |E(t) - E(0)| over t ≤ 100, α = 0, exchange + easy + hard axis + Zeeman on a 4×3 lattice. */
function energyDrift(integrator: Integrator, dt: number): number {
  const lat = new Lattice({ Lx: 4, Ly: 3 });
  const tw = new LLTwin(lat, { alpha: 0, dt, integrator, JH: 1, K: 0.5, Kh: 0.3, B: [0.1, 0, 0.2] });
  tw.setSpins(texture(lat.N));
  const e0 = tw.energy();
  let drift = 0;
  for (let t = 0; t < Math.round(100 / dt); t += 10) {
    tw.run(10);
    drift = Math.max(drift, Math.abs(tw.energy() - e0));
  }
  return drift;
}

describe('LL twin: single-spin damped precession', () => {
  it.each(INTEGRATORS)('%s converges to the closed form with order 2', (integrator) => {
    const errs = [0.1, 0.05, 0.025].map((dt) => precessionError(integrator, dt));
    const orders = [Math.log2(errs[0] / errs[1]), Math.log2(errs[1] / errs[2])];
    // measured: errors 2-8e-3 at dt = 0.1, orders 1.99-2.01 (midpoint, heun, depondt)
    expect(errs[0]).toBeLessThan(1e-2);
    for (const p of orders) expect(Math.abs(p - 2)).toBeLessThan(0.1);
  });
});

describe('LL twin: energy without damping', () => {
  // Bounds: measured max|ΔE| over t ≤ 100 at dt = 0.01 (E0 ≈ -0.42, 12 sites, |H| ≲ 5) is
  // 1.2e-2 (midpoint), 3.6e-3 (heun), 5.9e-4 (depondt); the bound is 1.5× that, and the drift must
  // fall at least as dt² (ratio ≥ 3.5 when dt halves) – it is a discretisation error, not a leak.
  const bound: Record<Integrator, number> = { midpoint: 1.8e-2, heun: 5.5e-3, depondt: 9e-4 };
  it.each(INTEGRATORS)('%s: bounded drift, shrinking as dt²', (integrator) => {
    const d1 = energyDrift(integrator, 0.02), d2 = energyDrift(integrator, 0.01);
    expect(d2).toBeLessThan(bound[integrator]);
    expect(d1 / d2).toBeGreaterThan(3.5);
  });
});

describe('LL twin: algebra and parameters', () => {
  it('the Cayley map solves S\' - S = -(S + S\') × a and preserves |S|', () => {
    const s: Vec3 = [0.3, -0.5, Math.sqrt(1 - 0.34)], a: Vec3 = [0.7, 0.2, -1.1];
    const t = cayley(s, a);
    const sum: Vec3 = [s[0] + t[0], s[1] + t[1], s[2] + t[2]];
    const rhs = [-(sum[1] * a[2] - sum[2] * a[1]), -(sum[2] * a[0] - sum[0] * a[2]), -(sum[0] * a[1] - sum[1] * a[0])];
    for (let k = 0; k < 3; k++) expect(t[k] - s[k]).toBeCloseTo(rhs[k], 14);
    expect(Math.hypot(...t)).toBeCloseTo(1, 15);
  });

  it('noise amplitudes: FDT σ² = 2αkT/dt, authors σ = α sqrt(kT/dt)', () => {
    const p = resolveParams({ alpha: 0.55, dt: 0.5, temperature: 0.0025 });
    expect(noiseSigma(p) ** 2).toBeCloseTo((2 * 0.55 * 0.0025) / 0.5, 15);
    // authors: Hm += α sqrt(kT dt)/2 ξ and Hm = (dt/2)(... + η)
    expect((noiseSigma({ ...p, noise: 'authors' }) * p.dt) / 2).toBeCloseTo((0.55 * Math.sqrt(0.0025 * 0.5)) / 2, 15);
    expect(noiseSigma({ ...p, temperature: 0 })).toBe(0);
  });

  it('rejects bad parameters with one-line errors naming the field', () => {
    expect(() => resolveParams({ alpha: -1, dt: 0.1 })).toThrow(/^dynamics\.alpha/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0 })).toThrow(/^dynamics\.dt/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, integrator: 'rk4' as Integrator })).toThrow(/^dynamics\.integrator/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, B: [0, NaN, 0] })).toThrow(/^dynamics\.B\[1\]/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, easyAxis: [0, 0, 0] })).toThrow(/^dynamics\.easyAxis/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, seed: -3 })).toThrow(/^dynamics\.seed/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, temperature: -1 })).toThrow(/^dynamics\.temperature/);
    expect(() => resolveParams({ alpha: 0.1, dt: 0.1, gamma: 2 } as never)).toThrow(/^dynamics\.gamma/);
    const tw = new LLTwin(new Lattice({ Lx: 2, Ly: 1 }), { alpha: 0.1, dt: 0.1 });
    expect(() => tw.setSpins([1, 0, 0])).toThrow(/^spins must have length/);
    expect(() => tw.setSpins([1, 0, 0, 0, 0, 0])).toThrow(/^spins\[1\]/);
    expect(() => tw.setExternalField([0, 0, 0, 0, Infinity, 0])).toThrow(/^externalField\[4\]/);
  });
});
