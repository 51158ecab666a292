/**
 * Kernel work of the GPU NEGF solver and the adaptive refinement of its real-axis window (host side;
 * the GPU work is done by gpuSolver.ts).
 *
 * A group is a list of energies with one or more weight sets over them (wG complex on G, wL, wR on
 * A_L, A_R); the kernel evaluates each energy once and returns every set's weighted sums per
 * configuration (gpuRgf.ts `enqueueSets`), and any number of groups share one kernel run. Adaptive
 * refinement evaluates every G7K15 panel of the bias window as a group of its own, so each panel's
 * sums come back separately, with two sets on the panel's 15 nodes:
 *   K15  the Kronrod weights (wL, wR as in grid.ts `addRealPanel`; wG = −2i·wWin, whose Re Tr G sum
 *        is −Σ wWin Tr A, the panel's share of the scattering-state count)
 *   G7   the embedded Gauss weights (K15 − Err; zero on the 8 Kronrod-only nodes),
 * and K15 − G7 is the f64 solver's panel error (solver.ts `panelError`). Differences: the error of
 * a panel is the max, not the sum, over outputs and configurations of a batch, each output
 * normalised by its scale (max |n_i|, max |m_i|, max |lead current| of that configuration), and a
 * panel whose error is below the f32 resolution of its own sums (F32_BUDGET × their normalised
 * size) is not split, since bisection cannot reduce rounding. `chooseSplits` picks, per round, the
 * worst panels whose removal brings the summed normalised error below rtol/2.
 */
import type { RgfEnergies, RgfWeightSet } from './gpuRgf.js';
import { leadSelfEnergy, type NegfSystem } from './model.js';
import { GridBuilder, type EnergyGrid } from './grid.js';

export type SetName = 'main' | 'check' | 'count' | 'panel' | 'panelCheck';

/** Weights of one set over all energies of its group: [wG re, wG im, wL, wR] or null (all zero). */
export type WeightPick = (k: number) => [number, number, number, number] | null;

export interface Group {
  /** energies (re, im interleaved), K points */
  z: Float64Array;
  /** Σ(z_k) for both leads (they are identical), K·M·M complex f32 */
  sigma: Float32Array;
  /** weight sets over all K energies of the group (k0 relative to the group) */
  sets: (RgfWeightSet & { name: SetName })[];
}

/**
 * The grid points with a nonzero weight in any of the named sets, and those sets over them; null if
 * no point is left.
 */
export function makeGroup(sys: NegfSystem, g: EnergyGrid, picks: [SetName, WeightPick][]): Group | null {
  const ks: number[] = [];
  const w = picks.map(() => [] as [number, number, number, number][]);
  for (let k = 0; k < g.K; k++) {
    const row = picks.map(([, pick]): [number, number, number, number] => pick(k) ?? [0, 0, 0, 0]);
    if (row.every((v) => v.every((x) => x === 0))) continue;
    ks.push(k);
    row.forEach((v, q) => w[q].push(v));
  }
  const K = ks.length;
  if (K === 0) return null;
  const MM = sys.M * sys.M;
  const z = new Float64Array(2 * K);
  const sigma = new Float32Array(2 * K * MM);
  ks.forEach((k, j) => {
    z[2 * j] = g.z[2 * k];
    z[2 * j + 1] = g.z[2 * k + 1];
    sigma.set(leadSelfEnergy(sys, g.z[2 * k], g.z[2 * k + 1]), 2 * j * MM);
  });
  const sets = picks.map(([name], q) => ({
    name, k0: 0,
    wG: Float64Array.from(w[q].flatMap((v) => [v[0], v[1]])),
    wL: Float64Array.from(w[q].map((v) => v[2])),
    wR: Float64Array.from(w[q].map((v) => v[3])),
  }));
  return { z, sigma, sets };
}

/**
 * The energies a group makes the kernel evaluate, with weights nonzero exactly where it computes
 * G, A_L, A_R (for flop counts): per energy the sum of |weights| over the sets.
 */
export function groupEnergies(g: Group): RgfEnergies {
  const K = g.z.length / 2;
  const e: RgfEnergies = { z: g.z, wG: new Float64Array(2 * K), wL: new Float64Array(K), wR: new Float64Array(K) };
  for (const s of g.sets) {
    for (let k = 0; k < K; k++) {
      e.wG[2 * k] += Math.abs(s.wG[2 * k]) + Math.abs(s.wG[2 * k + 1]);
      e.wL[k] += Math.abs(s.wL[k]);
      e.wR[k] += Math.abs(s.wR[k]);
    }
  }
  return e;
}

/** A real-axis panel [a, b] of the window integral (inWindow: part of the bias window proper). */
export interface PanelSpec {
  a: number;
  b: number;
  inWindow: boolean;
}

/**
 * The group of one panel (sets K15 and G7, see the module doc), or null when every weight is exactly
 * zero (a bisected panel far in the Fermi tails, where f_L - f̄ and f_R - f̄ round to 0): such a
 * panel contributes nothing and has no error.
 */
export function panelGroup(sys: NegfSystem, p: PanelSpec, eta: number): Group | null {
  const gb = new GridBuilder(sys.muL, sys.muR, sys.T, eta);
  gb.addRealPanel(p.a, p.b, p.inWindow);
  const g = gb.build();
  return makeGroup(sys, g, [
    ['panel', (k) => [0, -2 * g.wWin[k], g.wL[k], g.wR[k]]],
    ['panelCheck', (k) => [0, 0, g.wL[k] - g.wLErr[k], g.wR[k] - g.wRErr[k]]],
  ]);
}

/** Normalised max of a vector of outputs [n_i, m_i (xyz) for i < N, then 8 lead currents]. */
export function normalisedMax(v: Float64Array, N: number, scale: { n: number; m: number; I: number }): number {
  let e = 0;
  for (let i = 0; i < N; i++) {
    e = Math.max(e, Math.abs(v[4 * i]) / scale.n);
    for (let a = 1; a < 4; a++) e = Math.max(e, Math.abs(v[4 * i + a]) / scale.m);
  }
  for (let c = 4 * N; c < v.length; c++) e = Math.max(e, Math.abs(v[c]) / scale.I);
  return e;
}

/**
 * Panels to bisect this round: the worst splittable ones (err > floor) in decreasing order until
 * the error left in the others is ≤ rtol/2, at most maxSplits; none when Σ err ≤ rtol.
 */
export function chooseSplits(err: number[], floor: number[], rtol: number, maxSplits: number): number[] {
  let rest = err.reduce((s, e) => s + e, 0);
  if (rest <= rtol) return [];
  const order = err.map((_, j) => j).filter((j) => err[j] > floor[j]).sort((p, q) => err[q] - err[p]);
  const out: number[] = [];
  for (const j of order) {
    if (out.length >= maxSplits || rest <= rtol / 2) break;
    out.push(j);
    rest -= err[j];
  }
  return out;
}
