/**
 * Kernel passes of the GPU NEGF solver and the adaptive refinement of its real-axis window
 * (host side; the GPU work is done by gpuSolver.ts).
 *
 * A pass is one GpuRgf run: a list of energies with weights (wG complex on G, wL, wR on A_L, A_R)
 * whose weighted sums the kernel returns per configuration. Adaptive refinement evaluates every
 * G7K15 panel of the bias window as two passes of its own, so each panel's sums come back
 * separately:
 *   K15  the 15 Kronrod points (wL, wR as in grid.ts `addRealPanel`; wG = −2i·wWin, whose
 *        Re Tr G sum is −Σ wWin Tr A, the panel's share of the scattering-state count)
 *   G7   the 7 embedded Gauss points with G7 weights (K15 − Err),
 * and K15 − G7 is the f64 solver's panel error (solver.ts `panelError`). Differences: the error of
 * a panel is the max, not the sum, over outputs and configurations of a batch, each output
 * normalised by its scale (max |n_i|, max |m_i|, max |lead current| of that configuration), and a
 * panel whose error is below the f32 resolution of its own sums (F32_BUDGET × their normalised
 * size) is not split, since bisection cannot reduce rounding. `chooseSplits` picks, per round, the
 * worst panels whose removal brings the summed normalised error below rtol/2.
 */
import type { RgfEnergies } from './gpuRgf.js';
import { leadSelfEnergy, type NegfSystem } from './model.js';
import { GridBuilder, type EnergyGrid } from './grid.js';

export interface Pass {
  name: 'main' | 'check' | 'count' | 'panel' | 'panelCheck';
  e: RgfEnergies;
  /** Σ(z_k) for both leads (they are identical), K·M·M complex f32 */
  sigma: Float32Array;
}

/** Select grid points and assign them pass weights (wG complex, wL, wR); null if none is left. */
export function makePass(
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

/** A real-axis panel [a, b] of the window integral (inWindow: part of the bias window proper). */
export interface PanelSpec {
  a: number;
  b: number;
  inWindow: boolean;
}

/**
 * The K15 and G7 passes of one panel (see the module doc), or null when every weight is exactly zero
 * (a bisected panel far in the Fermi tails, where f_L - f̄ and f_R - f̄ round to 0): such a panel
 * contributes nothing and has no error.
 */
export function panelPasses(sys: NegfSystem, p: PanelSpec, eta: number): [Pass, Pass] | null {
  const gb = new GridBuilder(sys.muL, sys.muR, sys.T, eta);
  gb.addRealPanel(p.a, p.b, p.inWindow);
  const g = gb.build();
  const k15 = makePass('panel', sys, g, (k) => [0, -2 * g.wWin[k], g.wL[k], g.wR[k]]);
  const g7 = makePass('panelCheck', sys, g, (k) => [0, 0, g.wL[k] - g.wLErr[k], g.wR[k] - g.wRErr[k]]);
  if (!k15 && !g7) return null;
  if (!k15 || !g7) throw new Error(`panel [${p.a}, ${p.b}]: the K15 and G7 rules disagree on which weights vanish`);
  return [k15, g7];
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
