/**
 * Float64 NEGF steady state of one frozen spin configuration (SPEC §2, §6): the reference the GPU
 * kernels are tested against. Pipeline: energy grid (grid.ts) → per-point RGF (rgf.ts) →
 * weighted sums (`NegfSums`, the interface the GPU solver reproduces) → observables
 * (`assembleResult`). The real-axis window integral is refined adaptively on the host (global
 * G7K15 bisection) unless `adaptive: false`.
 *
 * Conventions: ρ_ij = <c†_j c_i>, n_i = Tr ρ_ii, m_i = Tr σ ρ_ii (no 1/2), F_i = J m_i,
 * τ_i = S_i × F_i; bond current from (x,y) to (x+1,y): I = -2t Im Tr ρ_{(x,y),(x+1,y)}, spin
 * current -2t Im Tr σ ρ_{..}; lead currents (into the sample, particle and Pauli spin):
 * I_L^μ = ∫dE/2π (f_L - f_R) Tr(σ^μ Γ_L G Γ_R G†), I_R^μ likewise with L↔R. Steady-state spin
 * balance gives Σ_i S_i × F_i = (I_L^s + I_R^s)/2 (derivation in docs/negf.md).
 */
import { type NegfCase, type NegfSystem, buildSystem } from './model.js';
import { Rgf, spinTraces } from './rgf.js';
import { type EnergyGrid, type GridOptions, type SpectralBound, GridBuilder, addEquilibriumContour, windowIntervals } from './grid.js';

/** Weighted sums over a grid (all blocks 2×2 complex, 8 doubles; see rgf.ts for layout). */
export interface NegfSums {
  /** Σ wG·G_ii and Σ wGErr·G_ii (N·8) */
  G: Float64Array;
  GErr: Float64Array;
  /** Σ (wL A_L + wR A_R)_ii and the error-weighted sum (N·8) */
  A: Float64Array;
  AErr: Float64Array;
  /** bond sums: Σ wG G_{i,i+x}, Σ wG G_{i+x,i}, Σ (wL A_L + wR A_R)_{i,i+x}; ((Lx-1)·Ly·8) */
  Gf: Float64Array;
  Gb: Float64Array;
  Ab: Float64Array;
  /** lead currents [I_L, I_L^x, I_L^y, I_L^z, I_R, ...] and their error-weighted sums */
  lead: Float64Array;
  leadErr: Float64Array;
  /** Re Σ wN Tr G (all states in the window) and Σ wWin Tr(A_L + A_R) (scattering states) */
  countTotal: number;
  countScatt: number;
}

export function emptySums(Lx: number, Ly: number): NegfSums {
  const N = Lx * Ly, nb = Math.max(0, Lx - 1) * Ly;
  return {
    G: new Float64Array(8 * N), GErr: new Float64Array(8 * N), A: new Float64Array(8 * N), AErr: new Float64Array(8 * N),
    Gf: new Float64Array(8 * nb), Gb: new Float64Array(8 * nb), Ab: new Float64Array(8 * nb),
    lead: new Float64Array(8), leadErr: new Float64Array(8), countTotal: 0, countScatt: 0,
  };
}

export function addSums(into: NegfSums, s: NegfSums, sign = 1): void {
  for (const k of ['G', 'GErr', 'A', 'AErr', 'Gf', 'Gb', 'Ab', 'lead', 'leadErr'] as const) {
    const a = into[k], b = s[k];
    for (let p = 0; p < a.length; p++) a[p] += sign * b[p];
  }
  into.countTotal += sign * s.countTotal;
  into.countScatt += sign * s.countScatt;
}

/** a += (wr + i wi)·b over complex interleaved arrays */
function cacc(a: Float64Array, b: Float64Array, wr: number, wi: number): void {
  if (wr === 0 && wi === 0) return;
  for (let p = 0; p < a.length; p += 2) {
    a[p] += wr * b[p] - wi * b[p + 1];
    a[p + 1] += wr * b[p + 1] + wi * b[p];
  }
}

/** Evaluate every point of a grid with the f64 RGF and form the weighted sums. */
export function evaluateGrid(rgf: Rgf, grid: EnergyGrid, into: NegfSums = emptySums(rgf.sys.Lx, rgf.sys.Ly)): NegfSums {
  const N = rgf.sys.Lx * rgf.sys.Ly;
  const tr = new Float64Array(8);
  for (let k = 0; k < grid.K; k++) {
    const zr = grid.z[2 * k], zi = grid.z[2 * k + 1];
    if (grid.kind[k] === 0) {
      const r = rgf.solveG(zr, zi);
      const wr = grid.wG[2 * k], wi = grid.wG[2 * k + 1];
      cacc(into.G, r.G, wr, wi);
      cacc(into.Gf, r.Gf, wr, wi);
      cacc(into.Gb, r.Gb, wr, wi);
      cacc(into.GErr, r.G, grid.wGErr[2 * k], grid.wGErr[2 * k + 1]);
      const nr = grid.wN[2 * k], ni = grid.wN[2 * k + 1];
      if (nr !== 0 || ni !== 0) {
        let gr = 0, gi = 0;
        for (let i = 0; i < N; i++) { spinTraces(r.G, 8 * i, tr); gr += tr[0]; gi += tr[1]; }
        into.countTotal += nr * gr - ni * gi;
      }
    } else {
      const r = rgf.solveA(zr, grid.eta);
      const wl = grid.wL[k], wrr = grid.wR[k];
      cacc(into.A, r.AL, wl, 0); cacc(into.A, r.AR, wrr, 0);
      cacc(into.Ab, r.ALb, wl, 0); cacc(into.Ab, r.ARb, wrr, 0);
      cacc(into.AErr, r.AL, grid.wLErr[k], 0); cacc(into.AErr, r.AR, grid.wRErr[k], 0);
      for (let mu = 0; mu < 4; mu++) {
        into.lead[mu] += (wl - wrr) * r.kLR[mu];
        into.lead[4 + mu] += (wrr - wl) * r.kRL[mu];
        into.leadErr[mu] += (grid.wLErr[k] - grid.wRErr[k]) * r.kLR[mu];
        into.leadErr[4 + mu] += (grid.wRErr[k] - grid.wLErr[k]) * r.kRL[mu];
      }
      if (grid.wWin[k] !== 0) {
        let s = 0;
        for (let i = 0; i < N; i++) { s += r.AL[8 * i] + r.AL[8 * i + 6] + r.AR[8 * i] + r.AR[8 * i + 6]; }
        into.countScatt += grid.wWin[k] * s;
      }
    }
  }
  return into;
}

/** 2×2 block of ρ_ii = I/2 + S + S† + A (or its error: S + S† + A, no I/2) into out (8 doubles) */
function rhoBlock(S: Float64Array, A: Float64Array, o: number, half: number, out: Float64Array): Float64Array {
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 2; b++) {
      const p = o + 2 * (2 * a + b), q = o + 2 * (2 * b + a);
      out[2 * (2 * a + b)] = S[p] + S[q] + A[p] + (a === b ? half : 0);
      out[2 * (2 * a + b) + 1] = S[p + 1] - S[q + 1] + A[p + 1];
    }
  }
  return out;
}

/** [n, mx, my, mz] of each site from the sums (value or error, `err` selects) */
export function siteDensities(sums: NegfSums, N: number, err = false): Float64Array {
  const out = new Float64Array(4 * N), blk = new Float64Array(8), tr = new Float64Array(8);
  for (let i = 0; i < N; i++) {
    rhoBlock(err ? sums.GErr : sums.G, err ? sums.AErr : sums.A, 8 * i, err ? 0 : 0.5, blk);
    spinTraces(blk, 0, tr);
    for (let mu = 0; mu < 4; mu++) out[4 * i + mu] = tr[2 * mu];
  }
  return out;
}

export interface NegfResult {
  density: number[];
  spinDensity: number[][];
  field: number[][];
  torque: number[][];
  currentL: number;
  currentR: number;
  spinCurrentL: number[];
  spinCurrentR: number[];
  /** particle current through each column bond x → x+1 summed over y (length Lx-1) */
  bondCurrents: number[];
  /** Pauli spin current through each column bond (length Lx-1) */
  bondSpinCurrents: number[][];
  /** per-bond particle current (x,y) → (x+1,y), index x + (Lx-1)·y */
  bondCurrentsXY: number[];
  meta: {
    method: string;
    energyPoints: number;
    contourPoints: number;
    realAxisPoints: number;
    /** max |error| estimate over n_i, m_i components and lead currents */
    errorEstimate: number;
    eta: number;
    /** estimated number of states in the bias window not coupled to either lead */
    boundStateWeightInWindow: number;
    boundStateInWindow: boolean;
    seconds: number;
    /** 'cpu-f64' for the float64 solver, the adapter description for the GPU solver */
    device: string;
  };
}

/** Turn accumulated sums into the SPEC §6 observables. */
export function assembleResult(sys: NegfSystem, sums: NegfSums, meta: Omit<NegfResult['meta'], 'errorEstimate' | 'boundStateWeightInWindow' | 'boundStateInWindow'>, hasWindow: boolean): NegfResult {
  const { Lx, Ly, J, t, spins } = sys;
  const N = Lx * Ly;
  const d = siteDensities(sums, N);
  const e = siteDensities(sums, N, true);
  const density: number[] = [], spinDensity: number[][] = [], field: number[][] = [], torque: number[][] = [];
  let err = 0;
  for (let i = 0; i < N; i++) {
    density.push(d[4 * i]);
    const m = [d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]];
    spinDensity.push(m);
    const F = m.map((v) => J * v);
    field.push(F);
    const [sx, sy, sz] = [spins[3 * i], spins[3 * i + 1], spins[3 * i + 2]];
    torque.push([sy * F[2] - sz * F[1], sz * F[0] - sx * F[2], sx * F[1] - sy * F[0]]);
    for (let mu = 0; mu < 4; mu++) err = Math.max(err, Math.abs(e[4 * i + mu]));
  }
  for (let p = 0; p < 8; p++) err = Math.max(err, Math.abs(sums.leadErr[p]));
  // bonds: ρ_{i,i+x} = S_f + (S_b)† + A_b
  const nb = Math.max(0, Lx - 1);
  const bondCurrents = new Array<number>(nb).fill(0);
  const bondSpinCurrents = Array.from({ length: nb }, () => [0, 0, 0]);
  const bondCurrentsXY: number[] = [];
  const blk = new Float64Array(8), tr = new Float64Array(8);
  for (let y = 0; y < Ly; y++) {
    for (let x = 0; x < nb; x++) {
      const o = 8 * (x + nb * y);
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const p = o + 2 * (2 * a + b), q = o + 2 * (2 * b + a);
          blk[2 * (2 * a + b)] = sums.Gf[p] + sums.Gb[q] + sums.Ab[p];
          blk[2 * (2 * a + b) + 1] = sums.Gf[p + 1] - sums.Gb[q + 1] + sums.Ab[p + 1];
        }
      }
      spinTraces(blk, 0, tr);
      const I = -2 * t * tr[1];
      bondCurrentsXY[x + nb * y] = I;
      bondCurrents[x] += I;
      for (let c = 0; c < 3; c++) bondSpinCurrents[x][c] += -2 * t * tr[2 * (c + 1) + 1];
    }
  }
  const bw = hasWindow ? sums.countTotal - sums.countScatt : 0;
  return {
    density, spinDensity, field, torque,
    currentL: sums.lead[0], currentR: sums.lead[4],
    spinCurrentL: [sums.lead[1], sums.lead[2], sums.lead[3]],
    spinCurrentR: [sums.lead[5], sums.lead[6], sums.lead[7]],
    bondCurrents, bondSpinCurrents, bondCurrentsXY,
    meta: { ...meta, errorEstimate: err, boundStateWeightInWindow: bw, boundStateInWindow: bw > 0.5 },
  };
}

/** A bound on |E - μ̄| over the poles of G (used to place the contour tail). */
export function spectralBound(sys: NegfSystem): SpectralBound {
  const { t, J, onsite, Ly, leads, muL, muR } = sys;
  let v = 0;
  for (const o of onsite) v = Math.max(v, Math.abs(o));
  const hop = Math.abs(t) * (Ly > 1 ? 4 : 2);
  const lead = leads.kind === 'wide-band' ? leads.gamma : 4 * Math.abs(leads.tLead ?? t) + (t * t) / Math.abs(leads.tLead ?? t);
  return { radius: Math.abs((muL + muR) / 2) + hop + Math.abs(J) + v + lead };
}

export interface SolveOptions extends GridOptions {
  /** adaptive refinement of the real-axis window (default true) */
  adaptive?: boolean;
  /** absolute tolerance on the summed K15-G7 error of the window integral (default 1e-7) */
  tol?: number;
  /** cap on real-axis points in adaptive mode (default 3000) */
  maxRealPoints?: number;
}

interface Panel { a: number; b: number; inWindow: boolean; sums: NegfSums; err: number; }

function panelError(s: NegfSums, N: number): number {
  const e = siteDensities(s, N, true);
  let m = 0;
  for (const v of e) m += Math.abs(v);
  for (const v of s.leadErr) m += Math.abs(v);
  return m;
}

/** Steady state of one case (SPEC §6) with the f64 RGF. */
export function solveNegf(c: NegfCase, opt: SolveOptions = {}): NegfResult {
  const t0 = performance.now();
  const sys = buildSystem(c);
  const { Lx, Ly } = sys;
  const N = Lx * Ly;
  const rgf = new Rgf(sys);
  const eta = opt.eta ?? 1e-8;
  const gb = new GridBuilder(sys.muL, sys.muR, sys.T, eta);
  addEquilibriumContour(gb, spectralBound(sys), opt);
  const hasWindow = sys.muL !== sys.muR;
  if (hasWindow) gb.addWindowArc(Math.min(sys.muL, sys.muR), Math.max(sys.muL, sys.muR));
  const contour = gb.build();
  const sums = evaluateGrid(rgf, contour);
  let realPoints = 0;
  const np = opt.realPanels ?? 4;
  const evalPanel = (a: number, b: number, inWindow: boolean): Panel => {
    const g = new GridBuilder(sys.muL, sys.muR, sys.T, eta);
    g.addRealPanel(a, b, inWindow);
    const s = evaluateGrid(rgf, g.build());
    realPoints += 15;
    return { a, b, inWindow, sums: s, err: panelError(s, N) };
  };
  const panels: Panel[] = [];
  for (const { a, b, inWindow } of windowIntervals(sys.muL, sys.muR, sys.T)) {
    for (let p = 0; p < np; p++) panels.push(evalPanel(a + ((b - a) * p) / np, a + ((b - a) * (p + 1)) / np, inWindow));
  }
  if (opt.adaptive ?? true) {
    const tol = opt.tol ?? 1e-7, maxPts = opt.maxRealPoints ?? 3000;
    while (panels.length && realPoints + 30 <= maxPts) {
      let worst = 0, total = 0;
      panels.forEach((p, j) => { total += p.err; if (p.err > panels[worst].err) worst = j; });
      if (total <= tol) break;
      const p = panels[worst], m = (p.a + p.b) / 2;
      panels.splice(worst, 1, evalPanel(p.a, m, p.inWindow), evalPanel(m, p.b, p.inWindow));
    }
  }
  for (const p of panels) addSums(sums, p.sums);
  return assembleResult(sys, sums, {
    method: `rgf-f64; equilibrium contour at (muL+muR)/2 (${contour.K} pts) + ${opt.adaptive ?? true ? 'adaptive' : 'fixed'} G7K15 bias window (${panels.length} panels)`,
    energyPoints: contour.K + realPoints, contourPoints: contour.K, realAxisPoints: realPoints,
    eta, seconds: (performance.now() - t0) / 1000, device: 'cpu-f64',
  }, hasWindow);
}

/**
 * Grand potential difference Ω(spinsA) - Ω(spinsB) at μ = (muL+muR)/2 (equilibrium), from
 * Ω = -∫dE f(E) N(E), N(E) = -(1/π) Im ln det G⁻¹(E+i0) + const: ΔΩ = -Σ_k 2 Re(w_k ΔL(z_k)),
 * ΔL = ln det G_A⁻¹ - ln det G_B⁻¹ summed per slice with each slice's difference unwrapped to
 * (-π, π] (valid for nearby configurations). Uses the same equilibrium contour as ρ_eq.
 */
export function grandPotentialDifference(c: NegfCase, spinsB: NegfCase['spins'], opt: GridOptions = {}): number {
  const sysA = buildSystem(c);
  const sysB = buildSystem({ ...c, spins: spinsB });
  const ra = new Rgf(sysA), rb = new Rgf(sysB);
  const gb = new GridBuilder(sysA.muL, sysA.muR, sysA.T, opt.eta ?? 1e-8);
  addEquilibriumContour(gb, spectralBound(sysA), opt);
  const grid = gb.build();
  let omega = 0;
  for (let k = 0; k < grid.K; k++) {
    const zr = grid.z[2 * k], zi = grid.z[2 * k + 1];
    const la = ra.logDetSlices(zr, zi), lb = rb.logDetSlices(zr, zi);
    let dr = 0, di = 0;
    for (let x = 0; x < sysA.Lx; x++) {
      dr += la[2 * x] - lb[2 * x];
      let d = la[2 * x + 1] - lb[2 * x + 1];
      d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
      di += d;
    }
    omega -= 2 * (grid.wG[2 * k] * dr - grid.wG[2 * k + 1] * di);
  }
  return omega;
}
