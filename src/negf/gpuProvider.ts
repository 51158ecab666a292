/**
 * NEGF field provider on the GPU solver (gpuSolver.ts), for NEGF-driven dynamics and dataset
 * generation: the same contract as CpuNegfProvider (provider.ts) — F, F⊥, n and meta of one
 * configuration — with the f32 batched RGF kernels. `fieldsBatch` solves many configurations in
 * one batched run (dataset generation, ensembles).
 *
 * Grid: like CpuNegfProvider, a fixed grid by default (`adaptive: false`, realPanels 2): at zero bias
 * it is the equilibrium contour only; with a bias the window error is bounded by meta.errorEstimate
 * (use realPanels ≥ 8 or `adaptive: true` for disordered states under bias, see provider.ts).
 * Precision: f32 kernels, measured F agreement with the f64 provider ~1e-7 relative (tests).
 */
import type { GpuContext } from '../gpu/context.js';
import { GpuNegfSolver, type GpuNegfOptions } from './gpuSolver.js';
import type { NegfSetup } from './model.js';
import { fieldResult, unitSpins, type FieldProvider, type FieldResult } from './provider.js';

export class GpuNegfProvider implements FieldProvider {
  readonly N: number;
  private constructor(readonly solver: GpuNegfSolver) {
    this.N = solver.N;
  }

  static async create(ctx: GpuContext, setup: NegfSetup, opts: GpuNegfOptions = {}): Promise<GpuNegfProvider> {
    return new GpuNegfProvider(await GpuNegfSolver.create(ctx, setup, { adaptive: false, realPanels: 2, ...opts }));
  }

  async fields(spins: Float64Array | Float32Array): Promise<FieldResult> {
    return (await this.fieldsBatch([spins]))[0];
  }

  async fieldsBatch(configs: (Float64Array | Float32Array)[]): Promise<FieldResult[]> {
    const unit = configs.map((s) => unitSpins(s, this.N));
    const res = await this.solver.solve(unit);
    return res.map((r, b) => fieldResult(r, unit[b]));
  }

  destroy(): void {
    this.solver.destroy();
  }
}
