/**
 * ML-driven Landau-Lifshitz dynamics (SPEC §3-4): the field driving spin i is the local terms of
 * the engine (Zeeman, anisotropies, Heisenberg exchange) plus the two-potential model's field
 *
 *     h_i[S_n] = -(∂E/∂S_i)⊥ - S_i × ∂Φ/∂S_i        (src/model/field.ts)
 *
 * recomputed from the current spins S_n before every step ON THE GPU: MlField.encode is recorded
 * through the engine's step hook into the same compute pass as the step, writing
 * LLEngine.externalFieldBuffer, so `run(n, {sampleEvery})` records n steps (field + step) per submit
 * with no per-step read-back, and samples are the engine's GPU samples.
 *
 * Time discretisation: as for NEGF driving (driven.ts), the model field is F[S_n], frozen over the
 * stages of step n. With the midpoint integrator this is the authors' scheme
 * (Hm = (dt/2)(1.5 h1_n - 0.5 h1_{n-1}), h1 built from F[S_n]); with Heun/Depondt the model part
 * is then first order in dt (the local terms keep their order).
 *
 * Energy: with Φ switched off (useP false) and α = 0 the model field is conservative and the motion
 * precesses on a level set of E_total = E_ML + E_local (E_ML = Σ_i ε_i); the midpoint scheme keeps
 * it to O(dt²) without drift (tested). With α > 0 and Φ off, E_total decreases. Φ on need not
 * conserve anything (it models the nonequilibrium drive).
 *
 * MlDrivenTwin is the float64 reference: LLTwin driven by the f64 field twin, same step rule.
 */
import type { GpuContext } from '../gpu/context.js';
import type { Lattice } from '../lattice/lattice.js';
import { MlField, mlFieldTwin, mlFieldF64, mlEnergyF64, type MlFieldModel, type MlFieldOptions } from '../model/field.js';
import type { TwinModel } from '../model/trainTwin.js';
import { LLEngine, type LLSample, type RunOptions } from './engine.js';
import { LLTwin } from './twin.js';
import type { LLParamsInput } from './params.js';

/** Potentials of a configuration: model E = Σ ε, Φ = Σ φ, and the engine's local-term energy. */
export interface MlEnergies {
  E: number;
  Phi: number;
  local: number;
}

export class MlDrivenLL {
  private constructor(
    readonly engine: LLEngine,
    readonly field: MlField,
  ) {}

  /** Engine + field for `model` on `lattice` (the model may have been trained on another size). */
  static async create(ctx: GpuContext, lattice: Lattice, model: MlFieldModel, params: LLParamsInput, opts: MlFieldOptions = {}): Promise<MlDrivenLL> {
    const [engine, field] = await Promise.all([LLEngine.create(ctx, lattice, params), MlField.create(ctx, model, lattice, opts)]);
    return MlDrivenLL.attach(engine, field);
  }

  /** Drive an existing engine with `field` (installs the step hook and enables the external field). */
  static attach(engine: LLEngine, field: MlField): MlDrivenLL {
    const a = engine.lattice, b = field.layout.lattice;
    if (a.Lx !== b.Lx || a.Ly !== b.Ly || a.periodicY !== b.periodicY) {
      throw new Error(`field.lattice ${b.Lx}x${b.Ly} (periodicY ${b.periodicY}) must equal the engine lattice ${a.Lx}x${a.Ly} (periodicY ${a.periodicY})`);
    }
    engine.setStepHook((pass, spins) => field.encode(pass, spins, engine.externalFieldBuffer));
    engine.enableExternalField(true);
    return new MlDrivenLL(engine, field);
  }

  get step(): number {
    return this.engine.step;
  }

  setSpins(s: ArrayLike<number>, step?: number): void {
    this.engine.setSpins(s, step);
  }

  getSpins(): Promise<Float32Array> {
    return this.engine.getSpins();
  }

  /** Advance n steps (model field recomputed on the GPU before each); samples as LLEngine.run. */
  run(n: number, opts: RunOptions = {}): Promise<{ samples: LLSample[] }> {
    return this.engine.run(n, opts);
  }

  /** Model potentials (GPU, per-site f32 summed in f64) and local energy of the current state. */
  async energy(): Promise<MlEnergies> {
    const { E, Phi } = await this.field.energy(this.engine.spinBuffer);
    return { E, Phi, local: await this.engine.energy() };
  }

  /** Stop driving: remove the hook and the external field (engine and field stay usable). */
  detach(): void {
    this.engine.setStepHook(null);
    this.engine.enableExternalField(false);
  }

  destroy(): void {
    this.detach();
    this.engine.destroy();
    this.field.destroy();
  }
}

/** Float64 twin of MlDrivenLL: LLTwin with the external field h_f64[S_n] set before every step. */
export class MlDrivenTwin {
  readonly twin: LLTwin;
  readonly model: TwinModel;

  constructor(lattice: Lattice, model: MlFieldModel, params: LLParamsInput, opts: Pick<MlFieldOptions, 'allowColumnExtrapolation'> = {}) {
    this.twin = new LLTwin(lattice, params);
    this.model = mlFieldTwin(model, lattice, opts);
  }

  get step(): number {
    return this.twin.step;
  }

  setSpins(s: ArrayLike<number>): void {
    this.twin.setSpins(s);
  }

  getSpins(): Float64Array {
    return this.twin.getSpins();
  }

  run(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`run.nSteps must be a non-negative integer, got ${n}`);
    for (let k = 0; k < n; k++) {
      this.twin.setExternalField(mlFieldF64(this.model, this.twin.getSpins()));
      this.twin.run(1);
    }
  }

  energy(): MlEnergies {
    return { ...mlEnergyF64(this.model, this.twin.getSpins()), local: this.twin.energy() };
  }
}
