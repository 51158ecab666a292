/**
 * GPU NEGF steady state (SPEC §2, §6), batched over spin configurations: the f64 solver's fixed
 * energy grid (grid.ts `buildEnergyGrid`) evaluated by the batched f32 RGF kernel (gpuRgf.ts), the
 * weighted sums mapped onto the f64 `NegfSums` and turned into observables by `assembleResult`.
 *
 * Grid: equilibrium contour at μ̄ = (muL+muR)/2 exactly as in `solveNegf`, plus the bias window:
 *   adaptive (default): `realPanels` (default 2) G7K15 panels per window sub-interval, the K15 and
 *     G7 sums of each from its 15 nodes, bisected per batch until the summed normalised
 *     K15 − G7 error is ≤ rtol (gpuAdaptive.ts; one kernel run and readback per refinement round);
 *     meta.quadratureError = per output, contour estimate + Σ_panels |K15 − G7|;
 *   fixed (`adaptive: false`): the same initial panels folded into the main set, one grid for
 *     every configuration and step (dynamics); the estimate is the signed K15 − G7 sum as in f64.
 *
 * Static weight sets (one group of energies: contour, arc and, in fixed mode, window points; each
 * energy evaluated once, gpuAdaptive.ts `makeGroup`):
 *   main   contour points (weights wG on G) and real-axis points (wL, wR on A_L, A_R);
 *   check  the embedded G7 rule of every panel (weights K15 − Err), so that main − check is the
 *          f64 solver's error sum Σ wErr·X (K15 − G7) for n_i, m_i and the lead currents;
 *   count  (bias window only) bound-state weight N_tot − N_sc: arc points with wG = wN, window
 *          points with wG = −2i·wWin, since Re(−2i·wWin Tr G) = wWin Tr A (A = i(G − G†); the η
 *          part of A differs from A_L + A_R by 2ηGG†, invisible at the grid's nodes).
 * Host round trips: the static group and the initial window panels go into one kernel run (one
 * submit, one readback); each refinement round is one more run with all of its new panels.
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
import { GpuRgf, type RgfEnergies, type RgfCapacity, type RgfKernel } from './gpuRgf.js';
import { buildSystem, packSpins, type NegfCase, type NegfSystem } from './model.js';
import { buildEnergyGrid, windowIntervals, type EnergyGrid, type GridOptions } from './grid.js';
import { assembleResult, emptySums, siteDensities, spectralBound, type NegfResult, type NegfSums } from './solver.js';
import { chooseSplits, groupEnergies, makeGroup, normalisedMax, panelGroup, type Group, type PanelSpec, type SetName, type WeightPick } from './gpuAdaptive.js';
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
  rgf?: Pick<RgfCapacity, 'scratchBytes' | 'workgroupSize' | 'kernel'>;
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

/** Sums of weight set s of a group for configuration b. */
type PanelSums = (s: number, b: number) => PassSums;

/** Output scales of one configuration (gpuAdaptive.ts `normalisedMax`). */
type Scale = { n: number; m: number; I: number };

/** Bytes of the kernel's weight-set sums (Kahan pairs) per run: bounds the panels per run. */
const RESULT_BYTES = 64 * 2 ** 20;

/** Host side of the GPU solver for one setup: grid, weight sets, kernel; solves batches of spin configurations. */
export class GpuNegfSolver {
  readonly N: number;
  /** the static grid: contour, window arc and (fixed mode) the real-axis panels */
  readonly grid: EnergyGrid;
  readonly device: string;
  /** adaptive window refinement (see gpuAdaptive.ts), or the fixed grid */
  readonly adaptive: boolean;
  /** the static weight sets (main, then check and count when run) over the static energies */
  private readonly staticGroup: Group;
  private readonly contourPoints: number;
  /** the RGF sweep kernel this solver runs (src/negf/gpuRgf.ts) */
  get kernel(): RgfKernel {
    return this.rgf.kernel;
  }
  /** initial window panels and their groups (null: all weights vanish) */
  private readonly initialGroups: (Group | null)[];
  private lastGroups: Group[] = [];
  /** kernel runs (each one submit and one readback) of the last batch */
  private lastRuns = 0;

  private constructor(
    readonly ctx: GpuContext,
    readonly setup: NegfSetup,
    private readonly sys: NegfSystem,
    private readonly rgf: GpuRgf,
    grid: EnergyGrid,
    staticGroup: Group,
    private readonly initialPanels: PanelSpec[],
    private readonly refine: { rtol: number; maxRealPoints: number },
  ) {
    this.N = sys.Lx * sys.Ly;
    this.grid = grid;
    this.staticGroup = staticGroup;
    this.adaptive = initialPanels.length > 0;
    this.device = describe(ctx.info);
    const main = staticGroup.sets[0];
    this.contourPoints = main.wL.reduce((n, w, k) => n + (w === 0 && main.wR[k] === 0 && (main.wG[2 * k] !== 0 || main.wG[2 * k + 1] !== 0) ? 1 : 0), 0);
    this.initialGroups = initialPanels.map((p) => panelGroup(sys, p, grid.eta));
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
    const picks: [SetName, WeightPick][] = [
      ['main', (k) => (grid.kind[k] === 0 ? [grid.wG[2 * k], grid.wG[2 * k + 1], 0, 0] : [0, 0, grid.wL[k], grid.wR[k]])],
    ];
    if (opts.errorEstimate ?? true) {
      picks.push(['check', (k) =>
        grid.kind[k] === 0
          ? [grid.wG[2 * k] - grid.wGErr[2 * k], grid.wG[2 * k + 1] - grid.wGErr[2 * k + 1], 0, 0]
          : [0, 0, grid.wL[k] - grid.wLErr[k], grid.wR[k] - grid.wRErr[k]]]);
    }
    if ((opts.boundStates ?? true) && grid.window) {
      picks.push(['count', (k) =>
        grid.kind[k] === 0 ? (nonzero(grid.wN, k) ? [grid.wN[2 * k], grid.wN[2 * k + 1], 0, 0] : null) : [0, -2 * grid.wWin[k], 0, 0]]);
    }
    const staticGroup = makeGroup(sys, grid, picks);
    if (!staticGroup) throw new Error('grid: no energy points');
    // capacity of one run: the static sets plus up to panelsPerRun panels (15 points, 2 sets each);
    // a refinement round adds at most maxRealPoints/15 panels
    const perConfig = 12 * sys.Lx * sys.Ly + 8 * (sys.Lx - 1);
    const panelsPerRun = Math.max(1, Math.min(Math.ceil(maxRealPoints / 15) + initialPanels.length, Math.floor(RESULT_BYTES / (2 * maxBatch * perConfig * 16))));
    const model = { Lx: sys.Lx, Ly: sys.Ly, periodicY: sys.lat.periodicY, t: sys.t, J: sys.J, onsite: sys.onsite };
    const rgf = await GpuRgf.create(ctx, model, {
      maxBatch, maxEnergies: staticGroup.z.length / 2 + 15 * panelsPerRun, maxSets: staticGroup.sets.length + 2 * panelsPerRun, ...opts.rgf,
    });
    return new GpuNegfSolver(ctx, setup, sys, rgf, grid, staticGroup, initialPanels, { rtol, maxRealPoints });
  }

  /**
   * The energies the kernel evaluated for the last batch, one entry per group (the static group,
   * then every window panel): weights nonzero exactly where G, A_L, A_R were computed.
   */
  passEnergies(): RgfEnergies[] {
    return this.lastGroups.map(groupEnergies);
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

  /**
   * Evaluate groups in as few kernel runs as the capacity allows (normally one: one submit, one
   * readback); sums(g, s, b) of set s of group g, configuration b.
   */
  private async runGroups(spins32: Float32Array, B: number, groups: Group[]): Promise<(g: number, s: number, b: number) => PassSums> {
    const { rgf } = this;
    const MM2 = 2 * this.sys.M * this.sys.M;
    const maxK = rgf.cap.maxEnergies, maxS = rgf.cap.maxSets ?? 1;
    const at: { raw: Float64Array; s0: number }[] = [];
    this.lastGroups.push(...groups);
    for (let g0 = 0; g0 < groups.length;) {
      let g1 = g0, K = 0, S = 0;
      while (g1 < groups.length && (g1 === g0 || (K + groups[g1].z.length / 2 <= maxK && S + groups[g1].sets.length <= maxS))) {
        K += groups[g1].z.length / 2;
        S += groups[g1].sets.length;
        g1++;
      }
      const z = new Float64Array(2 * K), sigma = new Float32Array(K * MM2);
      const sets = [];
      const first: number[] = [];
      for (let g = g0, k = 0; g < g1; g++) {
        const grp = groups[g];
        z.set(grp.z, 2 * k);
        sigma.set(grp.sigma, k * MM2);
        first.push(sets.length);
        for (const w of grp.sets) sets.push({ ...w, k0: k + w.k0 });
        k += grp.z.length / 2;
      }
      rgf.enqueueSets(spins32, z, sigma, sigma, sets);
      this.lastRuns++;
      const raw = await rgf.readSets();
      for (const s0 of first) at.push({ raw, s0 });
      g0 = g1;
    }
    return (g, s, b) => this.passSums(at[g].raw, at[g].s0 + s, b, B);
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
    this.lastGroups = [];
    this.lastRuns = 0;
    // round 0: the static sets and the initial window panels in one run
    const initial = this.initialGroups.filter((g): g is Group => g !== null);
    const sums = await this.runGroups(spins32, B, [this.staticGroup, ...initial]);
    const stat = (s: number, b: number) => sums(0, s, b);
    let q = 0;
    const initialSums = this.initialGroups.map((g) => (g ? 1 + q++ : -1)).map((g) => (g < 0 ? null : (s: number, b: number) => sums(g, s, b)));
    const win = this.adaptive ? await this.refineWindow(packed, spins32, stat, initialSums) : null;
    const seconds = (performance.now() - t0) / 1000 / B;
    return packed.map((spins, b) => this.assemble(spins, stat, b, seconds, B, win));
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

  /**
   * Panel results of a batch: sums[j](s, b) are the K15 (s = 0) and G7 (s = 1) sums of panel j,
   * null for a panel whose weights all vanish; without `sums` the panels are evaluated in one run.
   */
  private async evaluatePanels(
    specs: PanelSpec[], packed: Float64Array[], spins32: Float32Array, scales: Scale[],
    sums?: (PanelSums | null)[],
  ): Promise<PanelResult[]> {
    if (!sums) {
      const groups = specs.map((p) => panelGroup(this.sys, p, this.grid.eta));
      const live = groups.filter((g): g is Group => g !== null);
      const run = live.length ? await this.runGroups(spins32, packed.length, live) : null;
      let q = 0;
      sums = groups.map((g) => (g ? q++ : -1)).map((g) => (g < 0 || !run ? null : (s: number, b: number) => run(g, s, b)));
    }
    return specs.map((spec, j) => {
      const res: PanelResult = { spec, sums: [], count: [], err: [], e: 0, floor: 0 };
      const ps = sums![j];
      packed.forEach((spins, b) => {
        if (!ps) {
          // all weights vanish: an exact zero contribution with zero error
          const zero = this.zeroSums();
          res.sums.push(zero);
          res.count.push(0);
          res.err.push(this.windowOutputs(spins, zero).fill(0));
          return;
        }
        const k15 = ps(0, b);
        const err = this.windowOutputs(spins, combine(k15, ps(1, b), -1));
        res.sums.push({ ...k15, G: new Float64Array(k15.G.length) });
        res.count.push(traceSum(k15.G, this.N));
        res.err.push(err);
        res.e = Math.max(res.e, normalisedMax(err, this.N, scales[b]));
        res.floor = Math.max(res.floor, F32_BUDGET * normalisedMax(this.windowOutputs(spins, k15), this.N, scales[b]));
      });
      return res;
    });
  }

  /**
   * Adaptive bias-window integral of a batch (gpuAdaptive.ts): the initial panels (evaluated with
   * the static sets), then bisect the worst panels (error max over the batch) round by round, one
   * kernel run per round, until the summed normalised error is ≤ rtol, no panel is above its f32
   * floor, or the Kronrod points reach maxRealPoints.
   */
  private async refineWindow(packed: Float64Array[], spins32: Float32Array, contour: PanelSums, initial: (PanelSums | null)[]): Promise<WindowSums | null> {
    if (this.initialPanels.length === 0) return null;
    const { N } = this;
    const unit: Scale = { n: 1, m: 1, I: 1 };
    let panels = await this.evaluatePanels(this.initialPanels, packed, spins32, packed.map(() => unit), initial);
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

  /** f64 sums of weight set `set`, configuration b of a run's readSets() (see PassSums) */
  private passSums(raw: Float64Array, set: number, b: number, B: number): PassSums {
    const { N } = this;
    const { Lx } = this.sys;
    const L = this.rgf.layout;
    const o = 2 * (set * B + b) * L.perConfig;
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

  private assemble(spins: Float64Array, read: PanelSums, b: number, seconds: number, B: number, win: WindowSums | null): GpuNegfResult {
    const { N, sys, grid, staticGroup } = this;
    const { Lx } = sys;
    const at = (name: SetName) => staticGroup.sets.findIndex((p) => p.name === name);
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
    // every energy the kernel evaluated for this batch (K15 and G7 share their nodes)
    const Kstatic = staticGroup.z.length / 2;
    const K = this.lastGroups.reduce((n, g) => n + g.z.length / 2, 0);
    const real = win ? K - Kstatic : staticGroup.sets[0].wL.reduce((n, w, k) => n + (w !== 0 || staticGroup.sets[0].wR[k] !== 0 ? 1 : 0), 0);
    const window = !grid.window ? 'no bias window'
      : win ? `adaptive G7K15 bias window: ${win.panels} panels after ${win.rounds} rounds, ${win.evaluated} evaluated (${real} points, K15 and G7 sets on the same nodes)`
      : `fixed G7K15 bias window, ${real} points`;
    const r = assembleResult({ ...sys, spins }, sums, {
      method: `rgf-gpu-f32 batched (${this.kernel} sweep kernel); equilibrium contour at (muL+muR)/2 (${this.contourPoints} pts) + ${window}; ` +
        `static group ${Kstatic} points, sets ${staticGroup.sets.map((p) => p.name).join(', ')}; ${this.lastRuns} kernel runs (one readback each)`,
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
