/**
 * GPU NEGF steady state (SPEC §2, §6), batched over spin configurations: the f64 solver's fixed
 * energy grid (grid.ts `buildEnergyGrid`) evaluated by the batched f32 RGF kernel (gpuRgf.ts), the
 * weighted sums mapped onto the f64 `NegfSums` and turned into observables by `assembleResult`.
 *
 * Grid: equilibrium contour at μ̄ = (muL+muR)/2 exactly as in `solveNegf`, plus the bias window:
 *   adaptive (default): `realPanels` (default 2) G7K15 panels per window sub-interval, each
 *     evaluated as its own K15 and G7 pass and bisected per batch until the summed normalised
 *     K15 − G7 error is ≤ rtol (gpuAdaptive.ts; one readback per refinement round);
 *     meta.quadratureError = per output, contour estimate + Σ_panels |K15 − G7|;
 *   fixed (`adaptive: false`): the same initial panels folded into the main pass, one grid for
 *     every configuration and step (dynamics); the estimate is the signed K15 − G7 sum as in f64.
 *
 * Static passes (each one GpuRgf run over the batch, queued back to back, one readback):
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
import { buildSystem, packSpins, type NegfCase, type NegfSystem } from './model.js';
import { buildEnergyGrid, windowIntervals, type EnergyGrid, type GridOptions } from './grid.js';
import { assembleResult, emptySums, siteDensities, spectralBound, type NegfResult, type NegfSums } from './solver.js';
import { chooseSplits, makePass, normalisedMax, panelPasses, type Pass, type PanelSpec } from './gpuAdaptive.js';
import { spinTraces } from './rgf.js';

/** Relative f32 rounding budget of n_i, m_i and the currents (10x the worst kernel error measured). */
export const F32_BUDGET = 1e-5;

import type { NegfSetup } from './model.js';

export interface GpuNegfOptions extends GridOptions {
  /** configurations per GPU run (default 8) */
  maxBatch?: number;
  /** run the G7 check pass for the quadrature error estimate (default true) */
  errorEstimate?: boolean;
  /** run the bound-state count pass when muL != muR (default true) */
  boundStates?: boolean;
  /** GpuRgf options (scratch budget, workgroup size) */
  rgf?: Pick<RgfCapacity, 'scratchBytes' | 'workgroupSize'>;
  /**
   * adaptive bisection of the bias-window panels per batch (default true; gpuAdaptive.ts); false:
   * one fixed grid of `realPanels` panels per window sub-interval (fastest, for dynamics)
   */
  adaptive?: boolean;
  /** adaptive: target of the summed normalised K15 − G7 panel error (default 1e-5 relative) */
  rtol?: number;
  /** adaptive: cap on the Kronrod real-axis points evaluated per batch (default 3000, as solveNegf) */
  maxRealPoints?: number;
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

/** Weighted sums of one pass for one configuration, in f64. */
interface PassSums {
  /** Σ w G_ii, Σ (wL A_L + wR A_R)_ii: N 2×2 complex blocks (8 doubles each) */
  G: Float64Array;
  A: Float64Array;
  /** J^c_x, [Lx−1][4]: non-equilibrium column-bond currents (see the file comment) */
  J: Float64Array;
}

const nonzero = (a: Float64Array, k: number) => a[2 * k] !== 0 || a[2 * k + 1] !== 0;

/** x + sign·y elementwise, for each family of two PassSums */
function combine(x: PassSums, y: PassSums, sign = 1): PassSums {
  const f = (u: Float64Array, v: Float64Array) => u.map((w, k) => w + sign * v[k]);
  return { G: f(x.G, y.G), A: f(x.A, y.A), J: f(x.J, y.J) };
}

/** Re Σ_i Tr of N 2×2 blocks */
function traceSum(G: Float64Array, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += G[8 * i] + G[8 * i + 6];
  return s;
}

/** One refined panel: its K15 sums and signed K15 − G7 outputs per configuration, and its error. */
interface PanelResult {
  spec: PanelSpec;
  /** K15 sums per configuration; G is zero (the pass's G channel is the count, below) */
  sums: PassSums[];
  /** Re Σ −2i·wWin Tr G = −(scattering-state count of the panel), per configuration */
  count: number[];
  /** [n_i, m_i, then 8 lead currents] of K15 − G7, per configuration */
  err: Float64Array[];
  /** normalised error (max over configurations) and its f32 floor (gpuAdaptive.ts) */
  e: number;
  floor: number;
}

/** The window integral of one batch after refinement. */
interface WindowSums {
  /** per configuration: Σ over final panels of the K15 sums */
  sums: PassSums[];
  /** per configuration: Σ over final panels of the count (PanelResult.count) */
  count: number[];
  /** per configuration: Σ over final panels of |K15 − G7| of each output */
  absErr: Float64Array[];
  panels: number;
  evaluated: number;
  rounds: number;
}

/** Output scales of one configuration (gpuAdaptive.ts `normalisedMax`). */
type Scale = { n: number; m: number; I: number };

/** Bytes of results buffer for the panel passes of one refinement chunk (one readback each). */
const RESULT_BYTES = 64 * 2 ** 20;

/** Host side of the GPU solver for one setup: grid, passes, kernel; solves batches of spin configurations. */
export class GpuNegfSolver {
  readonly N: number;
  /** the static grid: contour, window arc and (fixed mode) the real-axis panels */
  readonly grid: EnergyGrid;
  readonly device: string;
  /** adaptive window refinement (see gpuAdaptive.ts), or the fixed grid */
  readonly adaptive: boolean;
  private readonly passes: Pass[];
  private readonly results: GPUBuffer;
  /** panel passes per readback (adaptive mode) */
  private readonly panelsPerChunk: number;
  private readonly contourPoints: number;
  private lastPanelEnergies: RgfEnergies[] = [];

  private constructor(
    readonly ctx: GpuContext,
    readonly setup: NegfSetup,
    private readonly sys: NegfSystem,
    private readonly rgf: GpuRgf,
    grid: EnergyGrid,
    passes: Pass[],
    private readonly initialPanels: PanelSpec[],
    private readonly refine: { rtol: number; maxRealPoints: number },
  ) {
    this.N = sys.Lx * sys.Ly;
    this.grid = grid;
    this.passes = passes;
    this.adaptive = initialPanels.length > 0;
    this.device = describe(ctx.info);
    this.contourPoints = passes[0].e.wL.reduce((n, w, k) => n + (w === 0 && passes[0].e.wR[k] === 0 ? 1 : 0), 0);
    const stride = rgf.cap.maxBatch * rgf.layout.perConfig * 8;
    this.panelsPerChunk = Math.max(1, Math.floor(RESULT_BYTES / (2 * stride)));
    const slots = Math.max(passes.length, this.adaptive ? 2 * Math.min(this.panelsPerChunk, refine.maxRealPoints / 15) : 0);
    this.results = storageBuffer(ctx, slots * stride, 'negf.results');
  }

  static async create(ctx: GpuContext, setup: NegfSetup, opts: GpuNegfOptions = {}): Promise<GpuNegfSolver> {
    const N = setup.lattice?.Lx * setup.lattice?.Ly;
    const probe = new Float64Array(3 * (Number.isInteger(N) && N > 0 ? N : 0));
    for (let i = 2; i < probe.length; i += 3) probe[i] = 1;
    const sys = buildSystem({ ...setup, spins: probe });
    if (sys.Lx < 2) throw new Error(`lattice.Lx: the GPU solver needs Lx >= 2 (got ${sys.Lx})`);
    const maxBatch = opts.maxBatch ?? 8;
    const adaptive = opts.adaptive ?? true;
    const rtol = opts.rtol ?? 1e-5, maxRealPoints = opts.maxRealPoints ?? 3000;
    if (!(rtol > 0)) throw new Error(`rtol: must be > 0 (got ${rtol})`);
    if (!(maxRealPoints >= 0)) throw new Error(`maxRealPoints: must be >= 0 (got ${maxRealPoints})`);
    const realPanels = opts.realPanels ?? 2;
    if (!Number.isInteger(realPanels) || realPanels < 1) throw new Error(`realPanels: must be an integer >= 1 (got ${realPanels})`);
    // adaptive: the static grid holds the contour and the arc only; the window panels are refined per batch
    const grid = buildEnergyGrid(sys.muL, sys.muR, sys.T, spectralBound(sys), { ...opts, realPanels: adaptive ? 0 : realPanels });
    const initialPanels: PanelSpec[] = [];
    if (adaptive) {
      for (const { a, b, inWindow } of windowIntervals(sys.muL, sys.muR, sys.T)) {
        for (let p = 0; p < realPanels; p++) initialPanels.push({ a: a + ((b - a) * p) / realPanels, b: a + ((b - a) * (p + 1)) / realPanels, inWindow });
      }
    }
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
    const maxEnergies = Math.max(15, ...passes.map((p) => p.e.wL.length));
    const model = { Lx: sys.Lx, Ly: sys.Ly, periodicY: sys.lat.periodicY, t: sys.t, J: sys.J, onsite: sys.onsite };
    const rgf = await GpuRgf.create(ctx, model, { maxBatch, maxEnergies, ...opts.rgf });
    return new GpuNegfSolver(ctx, setup, sys, rgf, grid, passes, initialPanels, { rtol, maxRealPoints });
  }

  /**
   * The energies and weights of each pass: main, then check and count when run, then (adaptive
   * mode) the K15 and G7 passes of every panel evaluated for the last batch solved.
   */
  passEnergies(): RgfEnergies[] {
    return [...this.passes.map((p) => p.e), ...this.lastPanelEnergies];
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

  /** Run passes back to back (each copied to its slot of `results`), one readback; sums(j, b) of pass j, configuration b. */
  private async runPasses(spins32: Float32Array, B: number, passes: Pass[]): Promise<(j: number, b: number) => PassSums> {
    const { rgf, ctx } = this;
    const stride = rgf.cap.maxBatch * rgf.layout.perConfig * 8;
    passes.forEach((p, j) => {
      rgf.enqueue(spins32, p.e, p.sigma, p.sigma);
      const enc = ctx.device.createCommandEncoder();
      enc.copyBufferToBuffer(rgf.output, 0, this.results, j * stride, B * rgf.layout.perConfig * 8);
      ctx.device.queue.submit([enc.finish()]);
    });
    const raw = await readF32(ctx, this.results, (passes.length * stride) / 4);
    return (j, b) => this.passSums(raw, j, b, stride / 4);
  }

  private async solveBatch(configs: NegfCase['spins'][], first: number): Promise<GpuNegfResult[]> {
    const t0 = performance.now();
    const { N } = this;
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
    const sums = await this.runPasses(spins32, B, this.passes);
    this.lastPanelEnergies = [];
    const win = this.adaptive ? await this.refineWindow(packed, spins32, sums) : null;
    const seconds = (performance.now() - t0) / 1000 / B;
    return packed.map((spins, b) => this.assemble(spins, sums, b, seconds, B, win));
  }

  /** [n_i, m_i (xyz), then the 8 lead currents] of the non-equilibrium part of a pass's sums */
  private windowOutputs(spins: Float64Array, s: PassSums): Float64Array {
    const { N } = this;
    const out = new Float64Array(4 * N + 8), tr = new Float64Array(8);
    for (let i = 0; i < N; i++) {
      spinTraces(s.A, 8 * i, tr);
      for (let mu = 0; mu < 4; mu++) out[4 * i + mu] = tr[2 * mu];
    }
    out.set(this.leadCurrents(spins, s), 4 * N);
    return out;
  }

  /** Evaluate panels (K15 and G7 pass each) for a batch, one readback per chunk of panelsPerChunk. */
  private async evaluatePanels(specs: PanelSpec[], packed: Float64Array[], spins32: Float32Array, scales: Scale[]): Promise<PanelResult[]> {
    const out: PanelResult[] = [];
    for (let c0 = 0; c0 < specs.length; c0 += this.panelsPerChunk) {
      const chunk = specs.slice(c0, c0 + this.panelsPerChunk);
      const pairs = chunk.map((p) => panelPasses(this.sys, p, this.grid.eta));
      const passes = pairs.flatMap((pp) => pp ?? []);
      this.lastPanelEnergies.push(...passes.map((p) => p.e));
      const sums = passes.length ? await this.runPasses(spins32, packed.length, passes) : undefined;
      let q = -1;
      chunk.forEach((spec, j) => {
        const res: PanelResult = { spec, sums: [], count: [], err: [], e: 0, floor: 0 };
        if (!pairs[j] || !sums) {
          // all weights vanish: an exact zero contribution with zero error
          const zero = this.zeroSums();
          packed.forEach((spins) => {
            res.sums.push(zero);
            res.count.push(0);
            res.err.push(this.windowOutputs(spins, zero).fill(0));
          });
          out.push(res);
          return;
        }
        q++;
        packed.forEach((spins, b) => {
          const k15 = sums(2 * q, b);
          const err = this.windowOutputs(spins, combine(k15, sums(2 * q + 1, b), -1));
          res.sums.push({ ...k15, G: new Float64Array(k15.G.length) });
          res.count.push(traceSum(k15.G, this.N));
          res.err.push(err);
          res.e = Math.max(res.e, normalisedMax(err, this.N, scales[b]));
          res.floor = Math.max(res.floor, F32_BUDGET * normalisedMax(this.windowOutputs(spins, k15), this.N, scales[b]));
        });
        out.push(res);
      });
    }
    return out;
  }

  /**
   * Adaptive bias-window integral of a batch (gpuAdaptive.ts): evaluate the initial panels, then
   * bisect the worst panels (error max over the batch) round by round until the summed normalised
   * error is ≤ rtol, no panel is above its f32 floor, or the Kronrod points reach maxRealPoints.
   */
  private async refineWindow(packed: Float64Array[], spins32: Float32Array, contour: (j: number, b: number) => PassSums): Promise<WindowSums | null> {
    if (this.initialPanels.length === 0) return null;
    const { N } = this;
    const unit: Scale = { n: 1, m: 1, I: 1 };
    let panels = await this.evaluatePanels(this.initialPanels, packed, spins32, packed.map(() => unit));
    let evaluated = panels.length, rounds = 0;
    const windowSum = (b: number) => panels.reduce((s, p) => combine(s, p.sums[b]), this.zeroSums());
    // scales of each configuration from the initial panels: max |n_i|, max |m_i|, max |lead current|
    const scales = packed.map((spins, b): Scale => {
      const s = combine(contour(0, b), windowSum(b));
      const d = siteDensities({ ...emptySums(this.sys.Lx, this.sys.Ly), G: s.G, A: s.A }, N);
      const I = this.leadCurrents(spins, s);
      const sc = { n: 0, m: 0, I: 0 };
      for (let i = 0; i < N; i++) {
        sc.n = Math.max(sc.n, Math.abs(d[4 * i]));
        for (let a = 1; a < 4; a++) sc.m = Math.max(sc.m, Math.abs(d[4 * i + a]));
      }
      for (const v of I) sc.I = Math.max(sc.I, Math.abs(v));
      const pos = (v: number) => (v > 0 ? v : 1);
      return { n: pos(sc.n), m: pos(sc.m || sc.n), I: pos(sc.I || sc.n) };
    });
    for (const p of panels) {
      p.e = Math.max(...p.err.map((err, b) => normalisedMax(err, N, scales[b])));
      p.floor = Math.max(...p.sums.map((s, b) => F32_BUDGET * normalisedMax(this.windowOutputs(packed[b], s), N, scales[b])));
    }
    const { rtol, maxRealPoints } = this.refine;
    for (;;) {
      const split = chooseSplits(panels.map((p) => p.e), panels.map((p) => p.floor), rtol, Math.floor((maxRealPoints - 15 * evaluated) / 30));
      if (split.length === 0) break;
      const halves = split.flatMap((j): PanelSpec[] => {
        const { a, b, inWindow } = panels[j].spec, m = (a + b) / 2;
        return [{ a, b: m, inWindow }, { a: m, b, inWindow }];
      });
      const kids = await this.evaluatePanels(halves, packed, spins32, scales);
      evaluated += kids.length;
      rounds++;
      const at = new Map(split.map((j, q) => [j, q]));
      panels = panels.flatMap((p, j) => (at.has(j) ? kids.slice(2 * at.get(j)!, 2 * at.get(j)! + 2) : [p]));
    }
    return {
      sums: packed.map((_, b) => windowSum(b)),
      count: packed.map((_, b) => panels.reduce((s, p) => s + p.count[b], 0)),
      absErr: packed.map((_, b) => panels.reduce((s, p) => s.map((v, c) => v + Math.abs(p.err[b][c])), new Float64Array(4 * N + 8))),
      panels: panels.length, evaluated, rounds,
    };
  }

  /** All-zero PassSums of this system (accumulator start, empty panels). */
  private zeroSums(): PassSums {
    return { G: new Float64Array(8 * this.N), A: new Float64Array(8 * this.N), J: new Float64Array(4 * (this.sys.Lx - 1)) };
  }

  /** f64 sums of pass j, configuration b (see PassSums) */
  private passSums(raw: Float32Array, j: number, b: number, strideF: number): PassSums {
    const { N } = this;
    const { Lx } = this.sys;
    const L = this.rgf.layout;
    const o = j * strideF + 2 * b * L.perConfig;
    const { G, A, J } = this.zeroSums();
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

  private assemble(spins: Float64Array, read: (j: number, b: number) => PassSums, b: number, seconds: number, B: number, win: WindowSums | null): GpuNegfResult {
    const { N, sys, passes, grid } = this;
    const { Lx } = sys;
    const at = (name: Pass['name']) => passes.findIndex((p) => p.name === name);
    const main0 = read(0, b);
    // adaptive: the window panels' sums join the main pass (which then holds the contour only)
    const main = win ? combine(main0, win.sums[b]) : main0;
    const sums: NegfSums = emptySums(sys.Lx, sys.Ly);
    sums.G.set(main.G);
    sums.A.set(main.A);
    sums.lead.set(this.leadCurrents(spins, main));
    const jc = at('check');
    if (jc >= 0) {
      const chk = read(jc, b);
      const lc = this.leadCurrents(spins, chk);
      const l0 = this.leadCurrents(spins, main0);
      for (let p = 0; p < 8 * N; p++) {
        sums.GErr[p] = main0.G[p] - chk.G[p];
        sums.AErr[p] = main0.A[p] - chk.A[p];
      }
      for (let p = 0; p < 8; p++) sums.leadErr[p] = l0[p] - lc[p];
    }
    const jn = at('count');
    if (jn >= 0) {
      sums.countTotal = traceSum(read(jn, b).G, N) + (win ? win.count[b] : 0);
    }
    const Kstatic = passes.reduce((n, p) => n + p.e.wL.length, 0);
    const real = win ? 15 * win.evaluated : passes[0].e.wL.length - this.contourPoints;
    const K = Kstatic + (win ? 22 * win.evaluated : 0);
    const window = !grid.window ? 'no bias window'
      : win ? `adaptive G7K15 bias window: ${win.panels} panels after ${win.rounds} rounds, ${win.evaluated} evaluated (K15 + G7 pass each)`
      : `fixed G7K15 bias window, ${real} points`;
    const r = assembleResult({ ...sys, spins }, sums, {
      method: `rgf-gpu-f32 batched; equilibrium contour at (muL+muR)/2 (${this.contourPoints} pts) + ${window}; ` +
        `static passes ${passes.map((p) => `${p.name} ${p.e.wL.length}`).join(', ')}`,
      energyPoints: K, contourPoints: this.contourPoints, realAxisPoints: real,
      eta: grid.eta, seconds, device: this.device,
    }, grid.window !== null);
    // quadrature estimate: contour (and fixed window) K15 − G7 from assembleResult; adaptive window:
    // per output, contour error + Σ over panels of |K15 − G7| (no cancellation between panels assumed)
    let quadratureError = jc >= 0 ? r.meta.errorEstimate : NaN;
    if (win && jc >= 0) {
      const ce = siteDensities(sums, N, true);
      const abs = win.absErr[b];
      quadratureError = 0;
      for (let c = 0; c < abs.length; c++) quadratureError = Math.max(quadratureError, (c < 4 * N ? Math.abs(ce[c]) : Math.abs(sums.leadErr[c - 4 * N])) + abs[c]);
    }
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
