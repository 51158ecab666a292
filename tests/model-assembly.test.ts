/**
 * Force assembly h = -(∂E/∂S)⊥ - S × ∂Φ/∂S and its transpose (src/model/assembly.ts,
 * shaders/model/assembly.wgsl), with an analytic quadratic site potential standing in for the MLP:
 *   ε(G) = wE·G + ½ G·QE·G,  φ(G) = wP·G + ½ G·QP·G   ⇒   gE = wE + QE G,  gP = wP + QP G.
 * Checks: gradient vs finite differences of E, equivariance of h, zero circulation of the E-only
 * field and nonzero circulation of the Φ-only field, exact adjointness of the transpose, loss
 * gradient by finite differences, GPU vs float64 twin (all switch settings, both gradient layouts).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, storageBuffer, readF32, type GpuContext } from '../src/gpu/index.js';
import { Lattice } from '../src/lattice/lattice.js';
import { DescriptorLayout, DESCRIPTOR_PRESETS, descriptorF64, computeNormalisation, type DescriptorConfig, type Normalisation } from '../src/model/descriptor.js';
import { assemblyForwardF64, assemblyTransposeF64, type AssemblyOptions } from '../src/model/assembly.js';
import { DescriptorGpu } from '../src/model/descriptor-gpu.js';
import { AssemblyGpu, planarGradLayout, type GradLayout } from '../src/model/assembly-gpu.js';
import { maxAbs, maxAbsDiff, dotN, rotation, rotateAll, gaussians as gaussiansOf, unitSpins } from './helpers/vec.js';

const gaussians = (n: number, seed: number) => gaussiansOf(n, seed, 1);
const randomSpins = (count: number, seed: number, f32 = false) => unitSpins(count, seed, 1, f32);
const AXIS = [0.48, 0.6, -0.64];

/** Quadratic site potential (ε or φ) with random w and symmetric Q (scale 0.3/√D). */
class Quadratic {
  readonly w: Float64Array;
  readonly Q: Float64Array;
  constructor(readonly D: number, seed: number) {
    this.w = gaussians(D, seed);
    const a = gaussians(D * D, seed + 1);
    this.Q = new Float64Array(D * D);
    for (let p = 0; p < D; p++) for (let q = 0; q < D; q++) this.Q[p * D + q] = (0.15 * (a[p * D + q] + a[q * D + p])) / Math.sqrt(D);
  }
  /** Σ_i ε(G_i) */
  total(G: ArrayLike<number>): number {
    const { D } = this;
    let e = 0;
    for (let i = 0; i < G.length / D; i++) {
      for (let p = 0; p < D; p++) {
        const gp = G[i * D + p];
        e += this.w[p] * gp;
        for (let q = 0; q < D; q++) e += 0.5 * gp * this.Q[p * D + q] * G[i * D + q];
      }
    }
    return e;
  }
  /** ∂ε/∂G_i for every row */
  grad(G: ArrayLike<number>): Float64Array {
    const { D } = this;
    const g = new Float64Array(G.length);
    for (let i = 0; i < G.length / D; i++) {
      for (let p = 0; p < D; p++) {
        let s = this.w[p];
        for (let q = 0; q < D; q++) s += this.Q[p * D + q] * G[i * D + q];
        g[i * D + p] = s;
      }
    }
    return g;
  }
}

/** Model field of the analytic potentials (twin path). */
function modelField(lay: DescriptorLayout, spins: ArrayLike<number>, pe: Quadratic, pp: Quadratic, opts: AssemblyOptions, norm?: Normalisation) {
  const { G, dG } = descriptorF64(lay, spins, norm);
  return assemblyForwardF64(lay, spins, dG, pe.grad(G), pp.grad(G), opts);
}

const BOTH: AssemblyOptions = { useE: true, useP: true };
const E_ONLY: AssemblyOptions = { useE: true, useP: false };
const P_ONLY: AssemblyOptions = { useE: false, useP: true };

describe('assembly (float64 twin)', () => {
  const lat = new Lattice({ Lx: 6, Ly: 4, periodicY: true });
  const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
  const pe = new Quadratic(lay.D, 100), pp = new Quadratic(lay.D, 200);

  it('∂E/∂S·t matches central finite differences of E = Σ ε(G_i) along tangent rotations', () => {
    const spins = randomSpins(lat.N, 5);
    const norm = computeNormalisation(descriptorF64(lay, spins).G, lay.D);
    const { gradE, gradP } = modelField(lay, spins, pe, pp, BOTH, norm);
    const eps = 1e-4;
    let worst = 0, scale = 0;
    for (let j = 0; j < lat.N; j++) {
      const s = [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
      const t0 = [s[1], -s[0], 0];
      const n = Math.hypot(...t0);
      const t = t0.map((x) => x / n);
      const at = (e: number) => {
        const p = spins.slice();
        for (let k = 0; k < 3; k++) p[3 * j + k] = Math.cos(e) * s[k] + Math.sin(e) * t[k];
        return descriptorF64(lay, p, norm).G;
      };
      const Gp = at(eps), Gm = at(-eps);
      for (const [pot, grad] of [[pe, gradE], [pp, gradP]] as const) {
        const fd = (pot.total(Gp) - pot.total(Gm)) / (2 * eps);
        const an = grad[3 * j] * t[0] + grad[3 * j + 1] * t[1] + grad[3 * j + 2] * t[2];
        worst = Math.max(worst, Math.abs(fd - an));
        scale = Math.max(scale, Math.abs(an));
      }
    }
    // truncation error ε²/6·|E'''| with |E'''| ~ |E'| · O(1): relative 1e-8 is ample
    expect(worst / scale).toBeLessThan(1e-7);
  });

  it('h is equivariant: rotating all spins rotates h (all three switch settings)', () => {
    const spins = randomSpins(lat.N, 6);
    const R = rotation(AXIS, 0.9);
    for (const opts of [BOTH, E_ONLY, P_ONLY]) {
      const h0 = modelField(lay, spins, pe, pp, opts).h;
      const h1 = modelField(lay, rotateAll(R, spins), pe, pp, opts).h;
      expect(maxAbsDiff(h1, rotateAll(R, h0)) / maxAbs(h0)).toBeLessThan(1e-12);
    }
  });

  it('h ⊥ S; E-only field has zero circulation on a closed loop, Φ-only field does not', () => {
    // loop S_j(θ) = normalise(S0_j + A_j cos θ + B_j sin θ), θ ∈ [0, 2π); trapezoid rule on a
    // smooth periodic integrand converges exponentially (M = 64 points; amplitude 0.25 keeps
    // |u| away from 0 so the loop is smooth: measured E-only ratio ~1e-16 at M = 64).
    const S0 = randomSpins(lat.N, 8), A = gaussians(3 * lat.N, 9), Bv = gaussians(3 * lat.N, 10);
    const M = 64;
    const circulation = (opts: AssemblyOptions) => {
      let sum = 0, abs = 0, perp = 0;
      for (let m = 0; m < M; m++) {
        const th = (2 * Math.PI * m) / M;
        const S = new Float64Array(3 * lat.N), dS = new Float64Array(3 * lat.N);
        for (let j = 0; j < lat.N; j++) {
          const u = [0, 1, 2].map((k) => S0[3 * j + k] + 0.25 * (A[3 * j + k] * Math.cos(th) + Bv[3 * j + k] * Math.sin(th)));
          const du = [0, 1, 2].map((k) => 0.25 * (-A[3 * j + k] * Math.sin(th) + Bv[3 * j + k] * Math.cos(th)));
          const n = Math.hypot(...u);
          const s = u.map((x) => x / n);
          const sdu = s[0] * du[0] + s[1] * du[1] + s[2] * du[2];
          for (let k = 0; k < 3; k++) {
            S[3 * j + k] = s[k];
            dS[3 * j + k] = (du[k] - sdu * s[k]) / n;
          }
        }
        const { h } = modelField(lay, S, pe, pp, opts);
        for (let j = 0; j < lat.N; j++) {
          const hd = h[3 * j] * dS[3 * j] + h[3 * j + 1] * dS[3 * j + 1] + h[3 * j + 2] * dS[3 * j + 2];
          sum += hd;
          abs += Math.abs(hd);
          perp = Math.max(perp, Math.abs(h[3 * j] * S[3 * j] + h[3 * j + 1] * S[3 * j + 1] + h[3 * j + 2] * S[3 * j + 2]));
        }
      }
      return { ratio: Math.abs(sum) / abs, perp };
    };
    const e = circulation(E_ONLY), p = circulation(P_ONLY);
    expect(e.perp).toBeLessThan(1e-12);
    expect(p.perp).toBeLessThan(1e-12);
    expect(e.ratio).toBeLessThan(1e-10);
    expect(p.ratio).toBeGreaterThan(1e-3); // measured 1.4e-2, converged in M
  });

  it('the transpose is the exact adjoint of the forward map (dot-product test)', () => {
    const spins = randomSpins(lat.N, 11);
    const { dG } = descriptorF64(lay, spins);
    const gE = gaussians(lat.N * lay.D, 12), gP = gaussians(lat.N * lay.D, 13), a = gaussians(3 * lat.N, 14);
    for (const opts of [BOTH, E_ONLY, P_ONLY]) {
      const { h } = assemblyForwardF64(lay, spins, dG, gE, gP, opts);
      const { UE, UP } = assemblyTransposeF64(lay, spins, dG, a, opts);
      const lhs = dotN(a, h), rhs = dotN(UE, gE) + dotN(UP, gP);
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * (Math.abs(lhs) + 1));
      if (!opts.useE) expect(maxAbs(UE)).toBe(0);
      if (!opts.useP) expect(maxAbs(UP)).toBe(0);
    }
  });

  it('gradient of L = Σ|h - target|² w.r.t. gE, gP: transpose of 2(h - target) vs finite differences', () => {
    const spins = randomSpins(lat.N, 15);
    const { dG } = descriptorF64(lay, spins);
    const gE = gaussians(lat.N * lay.D, 16), gP = gaussians(lat.N * lay.D, 17), target = gaussians(3 * lat.N, 18);
    const loss = (e: Float64Array, p: Float64Array) => {
      const { h } = assemblyForwardF64(lay, spins, dG, e, p, BOTH);
      let L = 0;
      for (let k = 0; k < h.length; k++) L += (h[k] - target[k]) ** 2;
      return L;
    };
    const { h } = assemblyForwardF64(lay, spins, dG, gE, gP, BOTH);
    const a = h.map((x, k) => 2 * (x - target[k]));
    const { UE, UP } = assemblyTransposeF64(lay, spins, dG, a, BOTH);
    const eps = 1e-3; // L is quadratic in g: central differences are exact up to rounding
    let worst = 0;
    for (let k = 0; k < lat.N * lay.D; k += 7) {
      for (const [g, U] of [[gE, UE], [gP, UP]] as const) {
        const keep = g[k];
        g[k] = keep + eps;
        const Lp = loss(gE, gP);
        g[k] = keep - eps;
        const Lm = loss(gE, gP);
        g[k] = keep;
        worst = Math.max(worst, Math.abs((Lp - Lm) / (2 * eps) - U[k]) / (1 + Math.abs(U[k])));
      }
    }
    expect(worst).toBeLessThan(1e-8);
  });

  it('bad inputs throw naming the field', () => {
    const spins = randomSpins(lat.N, 1);
    const { dG } = descriptorF64(lay, spins);
    expect(() => assemblyForwardF64(lay, spins, dG, null, null, BOTH)).toThrow(/gE/);
    expect(() => assemblyForwardF64(lay, spins, dG, new Float64Array(lat.N * lay.D), null, BOTH)).toThrow(/gP/);
    expect(() => assemblyTransposeF64(lay, spins, dG, new Float64Array(3), BOTH)).toThrow(/dLdh/);
    expect(() => assemblyForwardF64(lay, spins, dG, null, null, { useE: 1, useP: false } as never)).toThrow(/assembly\.useE/);
  });
});

describe('assembly on the GPU vs float64 twin', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await getGpu();
  });

  interface Case {
    lat: Lattice;
    cfg: DescriptorConfig;
    B: number;
    layout: (B: number, N: number, D: number) => GradLayout;
  }
  const interleaved = (_B: number, _N: number, D: number): GradLayout => ({ offsetE: 0, offsetP: D, stride: 2 * D });

  /**
   * Runs descriptor → forward → transpose on the GPU and the twin (on the same f32-rounded spins and
   * gradients). Tolerances are relative to the largest entry: each h_j / U_id sums ≲ 10³ f32
   * products whose rounding errors add up like a random walk (~√K·6e-8 relative to the terms);
   * measured ≲ 1e-6, asserted 1e-5.
   */
  async function run(c: Case, opts: AssemblyOptions, normalised: boolean) {
    const { lat, cfg, B } = c;
    const lay = DescriptorLayout.build(lat, cfg);
    const desc = await DescriptorGpu.create(ctx, lat, lay);
    const asm = await AssemblyGpu.create(ctx, desc);
    const { N, D } = lay;
    const spins = randomSpins(B * N, 30, true);
    const one = (b: number) => spins.subarray(3 * b * N, 3 * (b + 1) * N);
    const norm = normalised ? computeNormalisation(descriptorF64(lay, one(0)).G, D) : undefined;
    if (norm) desc.setNormalisation(norm);
    const gE = gaussians(B * N * D, 31).map(Math.fround), gP = gaussians(B * N * D, 32).map(Math.fround);
    const a = gaussians(3 * B * N, 33).map(Math.fround);
    const lay2 = c.layout(B, N, D);
    const gBuf = new Float32Array(Math.max(lay2.offsetE, lay2.offsetP) + (B * N - 1) * lay2.stride + D);
    for (let r = 0; r < B * N; r++) {
      for (let d = 0; d < D; d++) {
        gBuf[lay2.offsetE + r * lay2.stride + d] = gE[r * D + d];
        gBuf[lay2.offsetP + r * lay2.stride + d] = opts.useP ? gP[r * D + d] : NaN; // a disabled channel must not be read
        if (!opts.useE) gBuf[lay2.offsetE + r * lay2.stride + d] = NaN;
      }
    }
    const spinBuf = storageBuffer(ctx, Float32Array.from(spins));
    const gGpu = storageBuffer(ctx, gBuf), aGpu = storageBuffer(ctx, Float32Array.from(a));
    const { dG } = desc.compute(spinBuf, B);
    const hBuf = asm.forward({ B, spins: spinBuf, dG, g: gGpu, layout: lay2, ...opts });
    const uBuf = asm.transpose({ B, spins: spinBuf, dG, dLdh: aGpu, layout: lay2, ...opts });
    const h = await readF32(ctx, hBuf, 3 * B * N);
    const u = await readF32(ctx, uBuf);
    const h2 = await readF32(ctx, asm.forward({ B, spins: spinBuf, dG, g: gGpu, layout: lay2, ...opts }), 3 * B * N);
    let errH = 0, errU = 0, scaleH = 0, scaleU = 0, adjGpu = 0, adjScale = 0;
    for (let b = 0; b < B; b++) {
      const ref = descriptorF64(lay, one(b), norm);
      const sl = (x: Float64Array, n: number) => x.subarray(b * N * n, (b + 1) * N * n);
      const f = assemblyForwardF64(lay, one(b), ref.dG, sl(gE, D), sl(gP, D), opts);
      const t = assemblyTransposeF64(lay, one(b), ref.dG, sl(a, 3), opts);
      for (let k = 0; k < 3 * N; k++) {
        errH = Math.max(errH, Math.abs(h[3 * b * N + k] - f.h[k]));
        adjGpu += a[3 * b * N + k] * h[3 * b * N + k];
        adjScale += Math.abs(a[3 * b * N + k] * h[3 * b * N + k]);
      }
      scaleH = Math.max(scaleH, maxAbs(f.h));
      for (let i = 0; i < N; i++) {
        for (let d = 0; d < D; d++) {
          const r = b * N + i;
          const ue = u[lay2.offsetE + r * lay2.stride + d], up = u[lay2.offsetP + r * lay2.stride + d];
          errU = Math.max(errU, Math.abs(ue - t.UE[i * D + d]), Math.abs(up - t.UP[i * D + d]));
          if (opts.useE) adjGpu -= ue * gE[r * D + d];
          if (opts.useP) adjGpu -= up * gP[r * D + d];
        }
      }
      scaleU = Math.max(scaleU, maxAbs(t.UE), maxAbs(t.UP));
    }
    for (const buf of [spinBuf, gGpu, aGpu, hBuf, uBuf]) buf.destroy();
    return { errH: errH / scaleH, errU: errU / scaleU, adjoint: Math.abs(adjGpu) / adjScale, deterministic: h.every((x, k) => Object.is(x, h2[k])) };
  }

  const small: Case = { lat: new Lattice({ Lx: 7, Ly: 5, periodicY: false }), cfg: DESCRIPTOR_PRESETS.default, B: 3, layout: planarGradLayout };
  const smallInterleaved: Case = { ...small, lat: new Lattice({ Lx: 6, Ly: 4, periodicY: true }), B: 2, layout: interleaved };

  for (const [name, opts] of [['E and Φ', BOTH], ['E only', E_ONLY], ['Φ only', P_ONLY]] as const) {
    it(`default preset, B = 3, planar layout, normalised, ${name}: h, U, adjointness, determinism`, async () => {
      const r = await run(small, opts, true);
      expect(r.errH).toBeLessThan(1e-5);
      expect(r.errU).toBeLessThan(1e-5);
      expect(r.adjoint).toBeLessThan(1e-6); // ⟨a, h⟩ = ⟨U, g⟩ on the GPU to f32 accumulation (measured ≤ 5e-8)
      expect(r.deterministic).toBe(true);
    });
  }

  it('interleaved layout ([row][E|Φ][D]), periodic y, B = 2', async () => {
    const r = await run(smallInterleaved, BOTH, false);
    expect(r.errH).toBeLessThan(1e-5);
    expect(r.errU).toBeLessThan(1e-5);
  });

  it('zhang-chern-2022 preset (D = 539), 12×11, B = 1', async () => {
    const r = await run({ lat: new Lattice({ Lx: 12, Ly: 11, periodicY: true }), cfg: DESCRIPTOR_PRESETS['zhang-chern-2022'], B: 1, layout: planarGradLayout }, BOTH, true);
    expect(r.errH).toBeLessThan(1e-5);
    expect(r.errU).toBeLessThan(1e-5);
  });

  it('equivariance on the GPU: h(R S) = R h(S) for the analytic potential, f32 tolerance', async () => {
    const lat = new Lattice({ Lx: 6, Ly: 4, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
    const desc = await DescriptorGpu.create(ctx, lat, lay);
    const asm = await AssemblyGpu.create(ctx, desc);
    const pe = new Quadratic(lay.D, 40), pp = new Quadratic(lay.D, 41);
    const spins = randomSpins(lat.N, 42);
    const R = rotation(AXIS, 2.4);
    // G is rotation invariant, so gE, gP (from the twin G) are the same for both configurations
    const G = descriptorF64(lay, spins).G;
    const g = new Float32Array(2 * lat.N * lay.D);
    g.set(pe.grad(G));
    g.set(pp.grad(G), lat.N * lay.D);
    const gBuf = storageBuffer(ctx, g);
    const fieldOf = async (s: Float64Array) => {
      const sBuf = storageBuffer(ctx, Float32Array.from(s));
      const { dG } = desc.compute(sBuf, 1);
      return readF32(ctx, asm.forward({ B: 1, spins: sBuf, dG, g: gBuf, ...BOTH }), 3 * lat.N);
    };
    const h0 = await fieldOf(spins), h1 = await fieldOf(rotateAll(R, spins));
    expect(maxAbsDiff(h1, rotateAll(R, h0)) / maxAbs(h0)).toBeLessThan(1e-5);
  });

  it('bad calls throw naming the field', async () => {
    const lat = new Lattice({ Lx: 4, Ly: 3 });
    const desc = await DescriptorGpu.create(ctx, lat, DESCRIPTOR_PRESETS.default);
    const asm = await AssemblyGpu.create(ctx, desc);
    const spins = storageBuffer(ctx, 4 * 3 * lat.N);
    const { dG } = desc.compute(spins, 1);
    const tiny = storageBuffer(ctx, 16);
    expect(() => asm.forward({ B: 1, spins, dG, g: tiny, ...BOTH })).toThrow(/^g buffer/);
    expect(() => asm.forward({ B: 1, spins, dG, g: tiny, ...BOTH, layout: { offsetE: 0, offsetP: 0, stride: 1 } })).toThrow(/assembly\.layout\.stride/);
    expect(() => desc.compute(spins, 0)).toThrow(/batch B/);
    expect(() => desc.compute(spins, 2)).toThrow(/^spins buffer/);
  });
});
