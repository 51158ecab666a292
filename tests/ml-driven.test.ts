// ML-driven LL on the GPU (MlDrivenLL: model field recomputed on the device before every step via
// LLEngine's step hook) vs the float64 twin (MlDrivenTwin), and physics invariants.
//
// Tolerances:
// - trajectory: the GPU and twin fields differ by ~1e-6 relative (f32, see model-field.test.ts)
//   and the step adds ~1e-7 per update; over 20 steps with dt·max|h| ≲ 0.3 the deviation grows
//   at most mildly: bound max|ΔS| ≤ 1e-5 (measured ~3e-7, printed).
// - |S| = 1: every update renormalises in f32: ||S| - 1| ≤ 1e-6.
// - energy (Φ off, α = 0, no noise, midpoint, model scaled to max|h| = 1, dt = 0.02, t = 4):
//   E_total = E_ML + E_local is conserved by the exact flow; the scheme's error is O(dt²).
//   Bounds: max_t |E(t) - E(0)| ≤ 1e-3 × (energy dissipated by the same run with α = 0.1), and
//   halving dt reduces it ≥ 3× (second order); E evaluated in f64 from the GPU spins.
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, type GpuContext } from '../src/gpu/index.js';
import { Lattice } from '../src/lattice/lattice.js';
import { descriptorPreset } from '../src/model/descriptor.js';
import { mlFieldTwin, mlEnergyF64, randomFieldModel, randomUnitSpins, type MlFieldModel } from '../src/model/field.js';
import { LLEngine } from '../src/dynamics/engine.js';
import { MlDrivenLL, MlDrivenTwin } from '../src/dynamics/mlDriven.js';
import { localEnergy } from '../src/dynamics/fields.js';
import { resolveParams, type LLParamsInput } from '../src/dynamics/params.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

const spec = { Lx: 8, Ly: 6, periodicY: true };
const model = (useP: boolean): MlFieldModel => randomFieldModel({ lattice: spec, descriptor: descriptorPreset('default'), hidden: [16, 16], useP, seed: 5, fieldScale: 1 });

describe('LLEngine step hook', () => {
  it('is called once per step, in the step pass, with the buffer of the current state', async () => {
    const lat = new Lattice(spec);
    const eng = await LLEngine.create(ctx, lat, { alpha: 0.1, dt: 0.05 });
    const seen: GPUBuffer[] = [];
    const a = eng.spinBuffer;
    eng.setStepHook((_pass, s) => seen.push(s));
    await eng.run(5);
    const b = eng.spinBuffer; // after an odd number of steps the state is in the other buffer
    expect(b).not.toBe(a);
    expect(seen).toEqual([a, b, a, b, a]);
    eng.setStepHook(null);
    await eng.run(2);
    expect(seen.length).toBe(5);
    eng.destroy();
  });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k] - b[k]));
  return d;
}

describe('MlDrivenLL vs MlDrivenTwin', () => {
  for (const integrator of ['midpoint', 'heun'] as const) {
    it(`${integrator}: 20 steps with local terms, Φ on`, async () => {
      const lat = new Lattice(spec);
      const params: LLParamsInput = { alpha: 0.1, dt: 0.05, integrator, JH: 0.5, B: [0, 0, 0.2] };
      const m = model(true);
      const gpu = await MlDrivenLL.create(ctx, lat, m, params, { maxRows: 20 }); // 3 chunks per field
      const twin = new MlDrivenTwin(lat, m, params);
      const s0 = randomUnitSpins(lat.N, 21);
      gpu.setSpins(s0);
      twin.setSpins(s0);
      const { samples } = await gpu.run(20, { sampleEvery: 10 });
      twin.run(20);
      const s = await gpu.getSpins();
      const d = maxDiff(s, twin.getSpins());
      console.log(`${integrator}: max|S_gpu - S_f64| after 20 steps = ${d.toExponential(2)}, moved ${maxDiff(s, s0).toFixed(3)}`);
      expect(maxDiff(s, s0)).toBeGreaterThan(0.05); // the spins actually moved
      expect(d).toBeLessThan(1e-5);
      let norm = 0;
      for (let i = 0; i < lat.N; i++) norm = Math.max(norm, Math.abs(Math.hypot(s[3 * i], s[3 * i + 1], s[3 * i + 2]) - 1));
      expect(norm).toBeLessThan(1e-6);
      expect(samples.map((x) => x.step)).toEqual([10, 20]);
      gpu.destroy();
    });
  }
});

describe('energy of the ML-driven dynamics (Φ off)', () => {
  async function energyTrace(alpha: number, useP: boolean, dt: number, steps: number, every: number): Promise<number[]> {
    const lat = new Lattice(spec);
    const params: LLParamsInput = { alpha, dt, integrator: 'midpoint', JH: 0.3 };
    const m = model(useP);
    const twin = mlFieldTwin(m, lat);
    const p = resolveParams(params);
    const gpu = await MlDrivenLL.create(ctx, lat, m, params);
    gpu.setSpins(randomUnitSpins(lat.N, 33));
    const total = async () => {
      const s = await gpu.getSpins();
      return mlEnergyF64(twin, s).E + localEnergy(lat, p, s);
    };
    const E = [await total()];
    for (let k = 0; k < steps; k += every) {
      await gpu.run(every);
      E.push(await total());
    }
    gpu.destroy();
    return E;
  }

  it('α = 0 conserves E_ML + E_local; α > 0 dissipates it monotonically; Φ on does not conserve it', async () => {
    const cons = await energyTrace(0, false, 0.02, 200, 20);
    const fine = await energyTrace(0, false, 0.01, 400, 40); // same times, dt/2
    const diss = await energyTrace(0.1, false, 0.02, 200, 20);
    const driven = await energyTrace(0, true, 0.02, 200, 20);
    const dissipated = diss[0] - diss[diss.length - 1];
    const drift = Math.max(...cons.map((e) => Math.abs(e - cons[0])));
    const driftFine = Math.max(...fine.map((e) => Math.abs(e - fine[0])));
    const drivenChange = Math.max(...driven.map((e) => Math.abs(e - driven[0])));
    console.log(`E(0) = ${cons[0].toFixed(4)}; α=0 max|ΔE| = ${drift.toExponential(2)} (dt/2: ${driftFine.toExponential(2)}); α=0.1 dissipated ${dissipated.toExponential(2)}; Φ on, α=0 max|ΔE| = ${drivenChange.toExponential(2)}`);
    expect(dissipated).toBeGreaterThan(0);
    for (let k = 1; k < diss.length; k++) expect(diss[k]).toBeLessThan(diss[k - 1]);
    expect(drift).toBeLessThan(1e-3 * dissipated);
    expect(driftFine).toBeLessThan(drift / 3); // a discretisation error O(dt²), not a non-conservative field
    expect(drivenChange).toBeGreaterThan(10 * drift);
  });
});
