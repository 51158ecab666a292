/**
 * Field providers: the NEGF exchange field of a spin configuration, for adiabatic dynamics
 * (src/dynamics/driven.ts) and dataset generation (src/negf/datasetGen.ts).
 *
 * Contract (SPEC §2 conventions): `fields(spins)` takes packed xyz unit spins (3N, i = x + Lx*y)
 * and returns F_i = J m_i (3N), F⊥_i = F_i - (S_i·F_i) S_i (3N), n_i (N) and `meta`. A provider is
 * bound to one system and one pair of reservoirs (muL, muR, T): only the spins change between calls.
 *
 * GPU drop-in: a provider that keeps its result on the device implements `DeviceFieldProvider`
 * (it reads the engine's spin buffer and writes F as 3N f32 into LLEngine.externalFieldBuffer);
 * the driven integrator then skips the host round trip (see driven.ts).
 *
 * `CpuNegfProvider` runs the float64 RGF (rgf.ts) on a FIXED energy grid (`buildEnergyGrid`), built
 * once in the constructor (the grid depends on muL, muR, T and a spin-independent spectral bound
 * only). At zero bias (muL = muR, the presets) there is no window integral: the grid is exactly
 * solveNegf's equilibrium contour and the fields are identical. With a bias, the window is
 * integrated with `realPanels` GK15 panels per sub-interval instead of adaptive bisection
 * (tol 1e-7); `meta.errorEstimate` (K15 - G7) bounds the error, conservatively. Measured max|ΔF|
 * against the adaptive solver:
 *   16×8 AFM|FM front, J = 3.79, Γ = 2, T = 0.01, muL/muR = -3.0/-3.5, max|F| = 3.42:
 *     realPanels 1 / 2 / 4 → 7.3e-7 / 3.7e-9 / 3.7e-12 (203 / 263 / 383 points vs 533 adaptive;
 *     0.23 / 0.37 / 0.64 s vs 1.3 s per solve);
 *   6×4 random spins (metallic, sharp resonances), J = 2, T = 0.05, muL/muR = -0.6/-1.4:
 *     realPanels 2 / 4 / 8 / 16 → 2.3e-4 / 4.4e-6 / 1.9e-8 / 3e-14 (estimates 1.6e-3 / 3.1e-4 /
 *     1.7e-5 / 1.3e-7).
 * Default realPanels = 2 (fronts: ≲1e-8); use 8 or more for disordered states under bias.
 */
import { buildSystem, type NegfCase } from './model.js';
import { Rgf } from './rgf.js';
import { buildEnergyGrid, type EnergyGrid, type GridOptions } from './grid.js';
import { assembleResult, evaluateGrid, spectralBound, type NegfResult } from './solver.js';

export interface FieldMeta {
  /** energy points of one solve */
  energyPoints: number;
  /** a-posteriori quadrature error estimate (max over n, m components and lead currents) */
  errorEstimate: number;
  /** whether a state uncoupled from both leads lies inside the bias window (SPEC §2) */
  boundStateInWindow: boolean;
  seconds: number;
  device: string;
}

export interface FieldResult {
  /** F_i = J m_i, packed xyz (3N) */
  F: Float64Array;
  /** F⊥_i = F_i - (S_i·F_i) S_i (3N) */
  Fperp: Float64Array;
  /** n_i (N) */
  density: Float64Array;
  meta: FieldMeta;
}

export interface FieldProvider {
  /** number of sites */
  readonly N: number;
  fields(spins: Float64Array | Float32Array): Promise<FieldResult>;
}

/**
 * A provider whose result stays on the GPU: reads 3N f32 spins from `spins` and writes F (3N f32)
 * into `field` (LLEngine.externalFieldBuffer), all queued on the device.
 */
export interface DeviceFieldProvider extends FieldProvider {
  fieldsOnDevice(spins: GPUBuffer, field: GPUBuffer): Promise<FieldMeta>;
}

export function isDeviceProvider(p: FieldProvider): p is DeviceFieldProvider {
  return typeof (p as Partial<DeviceFieldProvider>).fieldsOnDevice === 'function';
}

import type { NegfSetup } from './model.js';
export type { NegfSetup };

/** Packed unit spins in float64 (f32 input renormalised; zero or non-finite spins are errors). */
export function unitSpins(s: ArrayLike<number>, N: number): Float64Array {
  if (s.length !== 3 * N) throw new Error(`spins must have length 3N = ${3 * N}, got ${s.length}`);
  const out = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    const n = Math.hypot(s[3 * i], s[3 * i + 1], s[3 * i + 2]);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`spins[${i}] must be a finite non-zero vector`);
    for (let a = 0; a < 3; a++) out[3 * i + a] = s[3 * i + a] / n;
  }
  return out;
}

/** FieldResult from a solver result and the (unit) spins it was computed for. */
export function fieldResult(res: Pick<NegfResult, 'field' | 'density' | 'meta'>, spins: Float64Array): FieldResult {
  const N = res.density.length;
  const F = new Float64Array(3 * N), Fperp = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    const f = res.field[i];
    const d = f[0] * spins[3 * i] + f[1] * spins[3 * i + 1] + f[2] * spins[3 * i + 2];
    for (let a = 0; a < 3; a++) {
      F[3 * i + a] = f[a];
      Fperp[3 * i + a] = f[a] - d * spins[3 * i + a];
    }
  }
  const m = res.meta;
  return {
    F, Fperp, density: Float64Array.from(res.density),
    meta: { energyPoints: m.energyPoints, errorEstimate: m.errorEstimate, boundStateInWindow: m.boundStateInWindow, seconds: m.seconds, device: m.device },
  };
}

/** float64 RGF on a fixed grid (see the file comment for its accuracy). */
export class CpuNegfProvider implements FieldProvider {
  readonly N: number;
  readonly grid: EnergyGrid;

  /** `grid.realPanels` defaults to 2 here (GK15 panels per bias-window sub-interval) */
  constructor(readonly setup: NegfSetup, grid: GridOptions = {}) {
    const { Lx, Ly } = setup.lattice;
    this.N = Lx * Ly;
    const probe = new Float64Array(3 * this.N);
    for (let i = 0; i < this.N; i++) probe[3 * i + 2] = 1;
    const sys = buildSystem({ ...setup, spins: probe });
    this.grid = buildEnergyGrid(sys.muL, sys.muR, sys.T, spectralBound(sys), { realPanels: 2, ...grid });
  }

  /** The full solver result (currents, bond currents, meta) on the fixed grid. */
  solve(spins: ArrayLike<number>): NegfResult {
    const t0 = performance.now();
    const sys = buildSystem({ ...this.setup, spins: unitSpins(spins, this.N) });
    const g = this.grid;
    let contour = 0;
    for (let k = 0; k < g.K; k++) contour += g.kind[k] === 0 ? 1 : 0;
    return assembleResult(sys, evaluateGrid(new Rgf(sys), g), {
      method: `rgf-f64; fixed grid: equilibrium contour at (muL+muR)/2 (${contour} pts) + ${g.K - contour} real-axis points`,
      energyPoints: g.K, contourPoints: contour, realAxisPoints: g.K - contour,
      eta: g.eta, seconds: (performance.now() - t0) / 1000, device: 'cpu-f64',
    }, g.window !== null);
  }

  async fields(spins: Float64Array | Float32Array): Promise<FieldResult> {
    const s = unitSpins(spins, this.N);
    return fieldResult(this.solve(s), s);
  }
}
