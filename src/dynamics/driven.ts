/**
 * NEGF-driven Landau-Lifshitz dynamics with adiabatic electrons (SPEC §3): at every step the
 * external field is the NEGF exchange field of the current spins, F_i = F_i[S_n], so
 * H_i = (local terms) + F_i. Each step: read the spins, solve, upload F as the external field,
 * advance one step. With the midpoint integrator this is exactly the authors' scheme:
 * Hm = (dt/2)(1.5 h1_n - 0.5 h1_{n-1}), h1_n built from F[S_n] (the engine keeps h1_{n-1}).
 *
 * Backends: the GPU engine (LLEngine, f32) or its float64 twin (LLTwin); both expose the same
 * setExternalField / getSpins / run. With a host provider (CpuNegfProvider) every step is a
 * device→host→device round trip (negligible next to the solve). With a DeviceFieldProvider and the
 * GPU engine the field is written straight into LLEngine.externalFieldBuffer (no round trip); host
 * samples then need one spin read-back per sample only.
 *
 * Samples (`run(n, {sampleEvery})`) have the LLEngine.run format and semantics (one after every
 * `sampleEvery`-th step of the run), computed on the host in float64 from the read-back spins.
 */
import type { Lattice } from '../lattice/lattice.js';
import { columnAverages, magnetisation } from '../lattice/observables.js';
import { type DeviceFieldProvider, type FieldProvider, type FieldResult, isDeviceProvider } from '../negf/provider.js';
import { LLEngine, type LLSample } from './engine.js';
import type { LLTwin } from './twin.js';

export interface DrivenRunOptions {
  sampleEvery?: number;
  /**
   * Called before each step with the step counter, the spins S_n and the field F[S_n] driving
   * that step (host providers only).
   */
  onField?: (step: number, spins: Float64Array | Float32Array, field: FieldResult) => void | Promise<void>;
}

/** Host sample of a configuration in the LLEngine sample format. */
export function hostSample(lat: Lattice, s: ArrayLike<number>, step: number): LLSample {
  const col = columnAverages(lat, s);
  let cMean = 0;
  for (let x = 0; x < lat.Lx; x++) cMean += col.c[x] / lat.Lx;
  return { step, m: magnetisation(s), cMean, sx: Float32Array.from(col.sx), sy: Float32Array.from(col.sy), sz: Float32Array.from(col.sz), c: Float32Array.from(col.c) };
}

export class NegfDrivenLL {
  /** field of the last solve (host providers) */
  last?: FieldResult;
  /** wall-clock seconds spent in the provider */
  solveSeconds = 0;
  /** number of solves */
  solves = 0;

  constructor(
    readonly backend: LLEngine | LLTwin,
    readonly provider: FieldProvider,
  ) {
    if (provider.N !== backend.lattice.N) throw new Error(`provider.N (${provider.N}) must equal the lattice size ${backend.lattice.N}`);
  }

  get step(): number {
    return this.backend.step;
  }

  /** Advance n steps; the field is recomputed before every step. */
  async run(n: number, opts: DrivenRunOptions = {}): Promise<{ samples: LLSample[] }> {
    if (!Number.isInteger(n) || n < 0) throw new Error(`run.nSteps must be a non-negative integer, got ${n}`);
    const every = opts.sampleEvery ?? 0;
    if (!Number.isInteger(every) || every < 0) throw new Error(`run.sampleEvery must be a non-negative integer, got ${every}`);
    const b = this.backend, lat = b.lattice;
    const onDevice = isDeviceProvider(this.provider) && b instanceof LLEngine && !opts.onField;
    const samples: LLSample[] = [];
    const start = b.step;
    for (let k = 0; k <= n; k++) {
      const wantSample = k > 0 && every > 0 && k % every === 0;
      if (k === n && !wantSample) break;
      const s = onDevice && !wantSample ? undefined : await b.getSpins();
      if (wantSample) samples.push(hostSample(lat, s!, start + k));
      if (k === n) break;
      const t0 = performance.now();
      if (onDevice) {
        const eng = b as LLEngine;
        await (this.provider as DeviceFieldProvider).fieldsOnDevice(eng.spinBuffer, eng.externalFieldBuffer);
        eng.enableExternalField(true);
      } else {
        const f = await this.provider.fields(s!);
        this.last = f;
        await opts.onField?.(b.step, s!, f);
        b.setExternalField(f.F);
      }
      this.solveSeconds += (performance.now() - t0) / 1000;
      this.solves++;
      await b.run(1);
    }
    return { samples };
  }
}
