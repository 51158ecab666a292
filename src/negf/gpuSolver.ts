/**
 * GPU NEGF steady state (SPEC §2, §6), batched over spin configurations: the f64 solver's fixed
 * energy grid (grid.ts `buildEnergyGrid`) evaluated by the batched f32 RGF kernel (gpuRgf.ts), the
 * weighted sums mapped onto the f64 `NegfSums` and turned into observables by `assembleResult`.
 *
 * Grid: equilibrium contour at μ̄ = (muL+muR)/2 exactly as in `solveNegf`, plus `realPanels`
 * (default 2) G7K15 panels per bias-window sub-interval (no adaptive refinement: one grid serves
 * every configuration of a batch and every step of a dynamics run).
 *
 * Passes (each one GpuRgf run over the batch, queued back to back, one readback):
 *   main   contour points (weights wG on G) and real-axis points (wL, wR on A_L, A_R);
 *   check  the embedded G7 rule of every panel (weights K15 − Err), so that main − check is the
 *          f64 solver's error sum Σ wErr·X (K15 − G7) for n_i, m_i and the lead currents;
 *   count  (bias window only) bound-state weight N_tot − N_sc: arc points with wG = wN, window
 *          points with wG = −2i·wWin, since Re(−2i·wWin Tr G) = wWin Tr A (A = i(G − G†); the η
 *          part of A differs from A_L + A_R by 2ηGG†, invisible at the grid's nodes).
 * The kernel returns site-diagonal blocks and slice-traced inter-column blocks only, so currents
 * come from exact per-energy continuity instead of the f64 lead formula:
 *   J^c_x = 2t Im Σ_a bond[x][a][c]   (c = 0 particle, 1-3 Pauli spin; the non-equilibrium part
 *           ρ_neq = Σ(wL A_L + wR A_R) of the current through column bond x → x+1, summed over y)
 *   I_L^c = J^c_0 + 2 Σ_{y} (S × F_neq)_c(0, y),   I_R^c = −J^c_{Lx−2} + 2 Σ_y (S × F_neq)_c(Lx−1, y)
 * (F_neq = J Tr σρ_neq; the torque term is absent for c = 0). Per energy this equals the f64 form
 * (f_L − f_R) Tr σΓ_L G Γ_R G† up to O(η): ρ_neq obeys the continuity equation of each column, the
 * equilibrium part injects no current (docs/negf.md). The equilibrium part of the column spin
 * currents follows from the same balance with no injection: J^s_eq,x = −2 Σ_{x' ≤ x, y} S × F_eq.
 * Hence `currentL = −currentR` and the torque sum rule Σ S×F = (I_L^s + I_R^s)/2 are not built in:
 * they hold only if the kernel's bond blocks agree with its site blocks (tested). Per-bond (x, y)
 * currents are not available (`bondCurrentsXY` is absent); Lx = 1 is not supported.
 *
 * Precision budget: n_i, m_i and the currents carry f32 rounding of the block inversions and sums
 * (measured 1e-7..1e-6 relative per energy sum, tests/negf-gpu-rgf.test.ts). The stated
 * `meta.roundingBudget` is F32_BUDGET times the largest |n_i| + |m_i|, and `meta.errorEstimate` =
 * quadrature estimate (K15 − G7, itself computed in f32 so floored near the budget) + that budget.
 * Measured against the f64 adaptive solver: docs/negf.md, "GPU solver".
 */
import type { GpuContext } from '../gpu/context.js';
import { describe } from '../gpu/context.js';
import { readF32, storageBuffer } from '../gpu/buffers.js';
import { GpuRgf, type RgfEnergies, type RgfCapacity } from './gpuRgf.js';
import { buildSystem, leadSelfEnergy, packSpins, type NegfCase, type NegfSystem } from './model.js';
import { buildEnergyGrid, type EnergyGrid, type GridOptions } from './grid.js';
import { assembleResult, emptySums, spectralBound, type NegfResult, type NegfSums } from './solver.js';
import { spinTraces } from './rgf.js';

/** Relative f32 rounding budget of n_i, m_i and the currents (10x the worst kernel error measured). */
export const F32_BUDGET = 1e-5;

export type NegfSetup = Omit<NegfCase, 'spins'>;

export interface GpuNegfOptions extends GridOptions {
  /** configurations per GPU run (default 8) */
  maxBatch?: number;
  /** run the G7 check pass for the quadrature error estimate (default true) */
  errorEstimate?: boolean;
  /** run the bound-state count pass when muL != muR (default true) */
  boundStates?: boolean;
  /** GpuRgf options (scratch budget, workgroup size) */
  rgf?: Pick<RgfCapacity, 'scratchBytes' | 'workgroupSize'>;
}

export type GpuNegfResult = Omit<NegfResult, 'bondCurrentsXY' | 'meta'> & {
  meta: Omit<NegfResult['meta'], 'device'> & {
    /** adapter description */
    device: string;
    /** configurations in the GPU run; `seconds` is that run's wall time divided by it */
    batch: number;
    /** K15 − G7 estimate (max over n, m components and lead currents; NaN when not run) */
    quadratureError: number;
    /** stated f32 rounding budget (absolute) */
    roundingBudget: number;
  };
};

interface Pass {
  name: 'main' | 'check' | 'count';
  e: RgfEnergies;
  /** Σ(z_k) for both leads (they are identical), K·M·M complex f32 */
  sigma: Float32Array;
}

/** Weighted sums of one pass for one configuration, in f64. */
interface PassSums {
  /** Σ w G_ii, Σ (wL A_L + wR A_R)_ii: N 2×2 complex blocks (8 doubles each) */
  G: Float64Array;
  A: Float64Array;
  /** J^c_x, [Lx−1][4]: non-equilibrium column-bond currents (see the file comment) */
  J: Float64Array;
}

const nonzero = (a: Float64Array, k: number) => a[2 * k] !== 0 || a[2 * k + 1] !== 0;

/** Select grid points and assign them pass weights (wG complex, wL, wR). */
function makePass(
  name: Pass['name'], sys: NegfSystem, g: EnergyGrid,
  pick: (k: number) => [number, number, number, number] | null,
): Pass | null {
  const z: number[] = [], wG: number[] = [], wL: number[] = [], wR: number[] = [];
  for (let k = 0; k < g.K; k++) {
    const w = pick(k);
    if (!w || w.every((v) => v === 0)) continue;
    z.push(g.z[2 * k], g.z[2 * k + 1]);
    wG.push(w[0], w[1]);
    wL.push(w[2]);
    wR.push(w[3]);
  }
  const K = wL.length;
  if (K === 0) return null;
  const MM = sys.M * sys.M;
  const sigma = new Float32Array(2 * K * MM);
  for (let k = 0; k < K; k++) sigma.set(leadSelfEnergy(sys, z[2 * k], z[2 * k + 1]), 2 * k * MM);
  const f = (a: number[]) => Float64Array.from(a);
  return { name, e: { z: f(z), wG: f(wG), wL: f(wL), wR: f(wR) }, sigma };
}

/** Host side of the GPU solver for one setup: grid, passes, kernel; solves batches of spin configurations. */
export class GpuNegfSolver {
  readonly N: number;
  readonly grid: EnergyGrid;
  readonly device: string;
  private readonly passes: Pass[];
  private readonly results: GPUBuffer;
  private readonly contourPoints: number;

  private constructor(
    readonly ctx: GpuContext,
    readonly setup: NegfSetup,
    private readonly sys: NegfSystem,
    private readonly rgf: GpuRgf,
    grid: EnergyGrid,
    passes: Pass[],
  ) {
    this.N = sys.Lx * sys.Ly;
    this.grid = grid;
    this.passes = passes;
    this.device = describe(ctx.info);
    this.contourPoints = passes[0].e.wL.reduce((n, w, k) => n + (w === 0 && passes[0].e.wR[k] === 0 ? 1 : 0), 0);
    this.results = storageBuffer(ctx, passes.length * rgf.cap.maxBatch * rgf.layout.perConfig * 8, 'negf.results');
  }

  static async create(ctx: GpuContext, setup: NegfSetup, opts: GpuNegfOptions = {}): Promise<GpuNegfSolver> {
    const N = setup.lattice?.Lx * setup.lattice?.Ly;
    const probe = new Float64Array(3 * (Number.isInteger(N) && N > 0 ? N : 0));
    for (let i = 2; i < probe.length; i += 3) probe[i] = 1;
    const sys = buildSystem({ ...setup, spins: probe });
    if (sys.Lx < 2) throw new Error(`lattice.Lx: the GPU solver needs Lx >= 2 (got ${sys.Lx})`);
    const maxBatch = opts.maxBatch ?? 8;
    const grid = buildEnergyGrid(sys.muL, sys.muR, sys.T, spectralBound(sys), { realPanels: 2, ...opts });
    const main = makePass('main', sys, grid, (k) =>
      grid.kind[k] === 0 ? [grid.wG[2 * k], grid.wG[2 * k + 1], 0, 0] : [0, 0, grid.wL[k], grid.wR[k]],
    );
    if (!main) throw new Error('grid: no energy points');
    const passes = [main];
    if (opts.errorEstimate ?? true) {
      const check = makePass('check', sys, grid, (k) =>
        grid.kind[k] === 0
          ? [grid.wG[2 * k] - grid.wGErr[2 * k], grid.wG[2 * k + 1] - grid.wGErr[2 * k + 1], 0, 0]
          : [0, 0, grid.wL[k] - grid.wLErr[k], grid.wR[k] - grid.wRErr[k]],
      );
      if (check) passes.push(check);
    }
    if ((opts.boundStates ?? true) && grid.window) {
      const count = makePass('count', sys, grid, (k) =>
        grid.kind[k] === 0 ? (nonzero(grid.wN, k) ? [grid.wN[2 * k], grid.wN[2 * k + 1], 0, 0] : null) : [0, -2 * grid.wWin[k], 0, 0],
      );
      if (count) passes.push(count);
    }
    const maxEnergies = Math.max(...passes.map((p) => p.e.wL.length));
    const model = { Lx: sys.Lx, Ly: sys.Ly, periodicY: sys.lat.periodicY, t: sys.t, J: sys.J, onsite: sys.onsite };
    const rgf = await GpuRgf.create(ctx, model, { maxBatch, maxEnergies, ...opts.rgf });
    return new GpuNegfSolver(ctx, setup, sys, rgf, grid, passes);
  }

  /** The energies and weights of each pass (main, then check and count when run). */
  passEnergies(): RgfEnergies[] {
    return this.passes.map((p) => p.e);
  }

  /**
   * Steady state of each configuration (packed xyz unit spins, 3N, or N triples), in batches of
   * maxBatch. Results are in input order.
   */
  async solve(configs: NegfCase['spins'][]): Promise<GpuNegfResult[]> {
    const out: GpuNegfResult[] = [];
    const cap = this.rgf.cap.maxBatch;
    for (let b0 = 0; b0 < configs.length; b0 += cap) out.push(...(await this.solveBatch(configs.slice(b0, b0 + cap), b0)));
    return out;
  }

  private async solveBatch(configs: NegfCase['spins'][], first: number): Promise<GpuNegfResult[]> {
    const t0 = performance.now();
    const { N, rgf, ctx } = this;
    const B = configs.length;
    const packed = configs.map((s, b) => {
      try {
        return packSpins(s, N);
      } catch (e) {
        throw new Error(`configs[${first + b}]: ${(e as Error).message}`);
      }
    });
    const spins32 = new Float32Array(3 * N * B);
    packed.forEach((s, b) => spins32.set(s, 3 * N * b));
    const stride = rgf.cap.maxBatch * rgf.layout.perConfig * 8;
    this.passes.forEach((p, j) => {
      rgf.enqueue(spins32, p.e, p.sigma, p.sigma);
      const enc = ctx.device.createCommandEncoder();
      enc.copyBufferToBuffer(rgf.output, 0, this.results, j * stride, B * rgf.layout.perConfig * 8);
      ctx.device.queue.submit([enc.finish()]);
    });
    const raw = await readF32(ctx, this.results, (this.passes.length * stride) / 4);
    const seconds = (performance.now() - t0) / 1000 / B;
    return packed.map((spins, b) => this.assemble(spins, raw, b, stride / 4, seconds, B));
  }

  /** f64 sums of pass j, configuration b (see PassSums) */
  private passSums(raw: Float32Array, j: number, b: number, strideF: number): PassSums {
    const { N } = this;
    const { Lx } = this.sys;
    const L = this.rgf.layout;
    const o = j * strideF + 2 * b * L.perConfig;
    const G = new Float64Array(8 * N), A = new Float64Array(8 * N), J = new Float64Array(4 * (Lx - 1));
    for (let p = 0; p < 8 * N; p++) {
      G[p] = raw[o + 2 * L.gdiag + p];
      A[p] = raw[o + 2 * L.aL + p] + raw[o + 2 * L.aR + p];
    }
    for (let x = 0; x < Lx - 1; x++) {
      for (let c = 0; c < 4; c++) {
        // bond[x][a][c] complex at ((x·2 + a)·4 + c); J = 2t Im Σ_a
        const q = o + 2 * (L.bond + 8 * x + c);
        J[4 * x + c] = 2 * this.sys.t * (raw[q + 1] + raw[q + 9]);
      }
    }
    return { G, A, J };
  }

  /** Σ_y S × (J Tr σ X_ii) over column x, X = 2×2 blocks (Hermitian part taken by the trace's real part) */
  private columnTorque(spins: Float64Array, X: Float64Array, herm: boolean, x: number): number[] {
    const { Lx, Ly, J } = this.sys;
    const tr = new Float64Array(8), blk = new Float64Array(8);
    const tau = [0, 0, 0];
    for (let y = 0; y < Ly; y++) {
      const i = x + Lx * y;
      if (herm) {
        // S + S† for the contour sums
        for (let a = 0; a < 2; a++) for (let c = 0; c < 2; c++) {
          blk[2 * (2 * a + c)] = X[8 * i + 2 * (2 * a + c)] + X[8 * i + 2 * (2 * c + a)];
          blk[2 * (2 * a + c) + 1] = X[8 * i + 2 * (2 * a + c) + 1] - X[8 * i + 2 * (2 * c + a) + 1];
        }
        spinTraces(blk, 0, tr);
      } else {
        spinTraces(X, 8 * i, tr);
      }
      const F = [J * tr[2], J * tr[4], J * tr[6]];
      const s = spins.subarray(3 * i, 3 * i + 3);
      tau[0] += s[1] * F[2] - s[2] * F[1];
      tau[1] += s[2] * F[0] - s[0] * F[2];
      tau[2] += s[0] * F[1] - s[1] * F[0];
    }
    return tau;
  }

  /** [I_L, I_L^x,y,z, I_R, I_R^x,y,z] from a pass's sums (continuity at the end columns) */
  private leadCurrents(spins: Float64Array, s: PassSums): Float64Array {
    const Lx = this.sys.Lx;
    const tl = this.columnTorque(spins, s.A, false, 0), tr = this.columnTorque(spins, s.A, false, Lx - 1);
    const last = 4 * (Lx - 2);
    const out = new Float64Array(8);
    out[0] = s.J[0];
    out[4] = -s.J[last];
    for (let c = 1; c < 4; c++) {
      out[c] = s.J[c] + 2 * tl[c - 1];
      out[4 + c] = -s.J[last + c] + 2 * tr[c - 1];
    }
    return out;
  }

  private assemble(spins: Float64Array, raw: Float32Array, b: number, strideF: number, seconds: number, B: number): GpuNegfResult {
    const { N, sys, passes, grid } = this;
    const { Lx } = sys;
    const at = (name: Pass['name']) => passes.findIndex((p) => p.name === name);
    const main = this.passSums(raw, 0, b, strideF);
    const sums: NegfSums = emptySums(sys.Lx, sys.Ly);
    sums.G.set(main.G);
    sums.A.set(main.A);
    sums.lead.set(this.leadCurrents(spins, main));
    const jc = at('check');
    if (jc >= 0) {
      const chk = this.passSums(raw, jc, b, strideF);
      const lc = this.leadCurrents(spins, chk);
      for (let p = 0; p < 8 * N; p++) {
        sums.GErr[p] = main.G[p] - chk.G[p];
        sums.AErr[p] = main.A[p] - chk.A[p];
      }
      for (let p = 0; p < 8; p++) sums.leadErr[p] = sums.lead[p] - lc[p];
    }
    const jn = at('count');
    if (jn >= 0) {
      const cnt = this.passSums(raw, jn, b, strideF);
      for (let i = 0; i < N; i++) sums.countTotal += cnt.G[8 * i] + cnt.G[8 * i + 6];
    }
    const K = passes.reduce((n, p) => n + p.e.wL.length, 0);
    const real = passes[0].e.wL.length - this.contourPoints;
    // the error estimate is replaced below (quadrature + f32 budget)
    const r = assembleResult({ ...sys, spins }, sums, {
      method: `rgf-gpu-f32 batched; fixed grid: equilibrium contour at (muL+muR)/2 (${this.contourPoints} pts) + ${real} real-axis points` +
        ` (G7K15, ${grid.window ? 'bias window' : 'no bias window'}); passes ${passes.map((p) => `${p.name} ${p.e.wL.length}`).join(', ')}`,
      energyPoints: K, contourPoints: this.contourPoints, realAxisPoints: real,
      eta: grid.eta, seconds, device: this.device,
    }, grid.window !== null);
    // column-bond currents: non-equilibrium part from the kernel, equilibrium spin part from the balance
    const bondCurrents: number[] = [], bondSpinCurrents: number[][] = [];
    const eq = [0, 0, 0];
    for (let x = 0; x < Lx - 1; x++) {
      const t = this.columnTorque(spins, main.G, true, x);
      for (let c = 0; c < 3; c++) eq[c] -= 2 * t[c];
      bondCurrents.push(main.J[4 * x]);
      bondSpinCurrents.push([0, 1, 2].map((c) => main.J[4 * x + 1 + c] + eq[c]));
    }
    let scale = 0;
    for (let i = 0; i < N; i++) scale = Math.max(scale, Math.abs(r.density[i]) + Math.hypot(...r.spinDensity[i]));
    const roundingBudget = F32_BUDGET * scale;
    const quadratureError = jc >= 0 ? r.meta.errorEstimate : NaN;
    const { bondCurrentsXY: _unavailable, ...rest } = r;
    return {
      ...rest, bondCurrents, bondSpinCurrents,
      meta: {
        ...r.meta,
        boundStateWeightInWindow: jn >= 0 ? r.meta.boundStateWeightInWindow : NaN,
        device: this.device, batch: B, quadratureError, roundingBudget,
        errorEstimate: quadratureError + roundingBudget,
      },
    };
  }

  destroy(): void {
    this.rgf.destroy();
    this.results.destroy();
  }
}

/** Key of everything in a case except the spins (cases with equal keys share a solver). */
function setupKey(c: NegfCase): string {
  const { spins: _s, ...setup } = c;
  const onsite = setup.model?.onsite;
  return JSON.stringify({ ...setup, model: { ...setup.model, onsite: onsite ? Array.from(onsite) : undefined } });
}

/**
 * Steady state of one case or many (SPEC §6 result, see GpuNegfResult), on the GPU. Cases sharing
 * lattice, model, leads, reservoirs and temperature are solved together in batches of maxBatch.
 */
export async function solveNegfGpu(ctx: GpuContext, cases: NegfCase | NegfCase[], opts: GpuNegfOptions = {}): Promise<GpuNegfResult[]> {
  const list = Array.isArray(cases) ? cases : [cases];
  const groups = new Map<string, number[]>();
  list.forEach((c, k) => {
    const key = setupKey(c);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  const out = new Array<GpuNegfResult>(list.length);
  for (const idx of groups.values()) {
    const { spins: _s, ...setup } = list[idx[0]];
    const solver = await GpuNegfSolver.create(ctx, setup, { ...opts, maxBatch: Math.min(idx.length, opts.maxBatch ?? 8) });
    try {
      const res = await solver.solve(idx.map((k) => list[k].spins));
      idx.forEach((k, j) => (out[k] = res[j]));
    } finally {
      solver.destroy();
    }
  }
  return out;
}
