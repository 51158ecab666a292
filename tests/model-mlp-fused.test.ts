// Fused per-row input gradient (shaders/model/mlp_fused.wgsl via MlpGpu `fused`) vs the float64
// twin: y (all P outputs) and both input gradients, for every activation, P = 2 and the bond-torque
// head P = 10, odd widths, a row count that is a multiple of neither the rows per invocation (4) nor
// the rows per workgroup (256), x read at an offset; the layered path on the same net (the default
// moved small nets off it, so tests/model-mlp-gpu.test.ts's input-gradient checks of small nets now
// run the fused kernel); the path selection; and MlField with the fused and the layered MLP.
//
// Tolerances: as tests/model-mlp-gpu.test.ts — max |gpu - twin| / max |twin| over the output; the
// twin runs on the same f32-rounded θ and x, so only f32 arithmetic differs. Every value is an fma
// chain of depth ≤ 64 over O(1) terms, error ~ few·sqrt(K)·6e-8 ≲ 1e-6 (measured ≤ 7e-7)
// -> bound 1e-5 (an indexing error gives O(1)). MlField: the two paths differ only in the MLP's
// summation order, so their fields agree to f32 rounding of the GEMM chains relative to max|h|:
// bound 1e-5 (the f64-twin check of the field itself is tests/model-field.test.ts at 1e-4).
import { describe, it, expect, beforeAll, afterEach, vi } from 'vitest';
import { getGpu, storageBuffer, readF32, type GpuContext } from '../src/gpu/index.js';
import { MlpGpu, resolveFused, fusedEligible } from '../src/model/mlp.js';
import { MlpTwin } from '../src/model/mlpTwin.js';
import { initParams, outputCount, TORQUE_OUTPUTS, type MlpArch, type Activation } from '../src/model/weights.js';
import { Lattice } from '../src/lattice/lattice.js';
import { descriptorPreset } from '../src/model/descriptor.js';
import { MlField, randomFieldModel, randomUnitSpins } from '../src/model/field.js';
import { maxAbs, maxAbsDiff } from './helpers/vec.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** Deterministic pseudo-random values in [-0.5, 0.5) (fractional part of a scaled sine). */
const noise = (i: number, seed: number) => {
  const v = 43758.5453 * Math.sin(12.9898 * i + 78.233 * seed);
  return v - Math.floor(v) - 0.5;
};
const relErr = (gpu: ArrayLike<number>, ref: ArrayLike<number>) => maxAbsDiff(gpu, ref) / maxAbs(ref);

/**
 * θ rounded to f32 so GPU and twin share it exactly: initParams with its zero entries (biases, the
 * bond-torque head's rows) replaced by random values, so every output depends on x.
 */
function thetaFor(arch: MlpArch, seed: number): Float32Array {
  return Float32Array.from(initParams(arch, seed), (t, i) => (t === 0 ? 0.8 * noise(i, seed + 17) : t));
}

/** y and G of R rows read at an element offset of x, vs the twin (fused or layered path). */
async function compareInputGrad(arch: MlpArch, R: number, fused = true) {
  const D = arch.inputDim, P = outputCount(arch);
  const theta = thetaFor(arch, 21);
  const off = 3; // x read through a view at an offset
  const xAll = Float32Array.from({ length: off + R * D }, (_, i) => 4 * noise(i, 5));
  const x = xAll.subarray(off);
  const mlp = await MlpGpu.create(ctx, arch, { maxRows: R + 5, theta, fused });
  expect(mlp.fused).toBe(fused);
  const twin = new MlpTwin(arch, theta);
  const xb = storageBuffer(ctx, xAll);
  mlp.inputGrad({ buffer: xb, offset: off }, R);
  const err = {
    y: relErr(await readF32(ctx, mlp.y, P * R), twin.forward(x, R).y),
    gE: relErr(await readF32(ctx, mlp.g, R * D), twin.inputGrad(x, R).subarray(0, R * D)),
    gP: relErr(await readF32(ctx, mlp.g, R * D, 4 * R * D), twin.inputGrad(x, R).subarray(R * D)),
  };
  xb.destroy();
  mlp.destroy();
  return err;
}

describe('fused MLP input gradient vs float64 twin', () => {
  const cases: [Activation, number[], number | undefined][] = [
    ['silu', [7, 5], undefined],
    ['tanh', [7, 5], TORQUE_OUTPUTS],
    ['relu', [7, 5], TORQUE_OUTPUTS],
    ['silu', [32, 3, 9, 31], TORQUE_OUTPUTS], // the limits: 4 layers, width 32
    ['tanh', [1], undefined],
  ];
  for (const [activation, hidden, outputs] of cases) {
    it(`${activation}, D = 13, hidden [${hidden}], P = ${outputs ?? 2}, R = 70`, async () => {
      const err = await compareInputGrad({ inputDim: 13, hidden, activation, outputs }, 70);
      console.log(`mlp fused ${activation} [${hidden}] P=${outputs ?? 2}:`, Object.entries(err).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
      expect(err.y).toBeLessThan(1e-5);
      expect(err.gE).toBeLessThan(1e-5);
      expect(err.gP).toBeLessThan(1e-5);
    });
  }

  it('the layered path on the same small net agrees too (it stays the fallback and the training path)', async () => {
    const err = await compareInputGrad({ inputDim: 13, hidden: [7, 5], activation: 'silu', outputs: TORQUE_OUTPUTS }, 70, false);
    expect(Math.max(err.y, err.gE, err.gP)).toBeLessThan(1e-5);
  });

  it('path selection: option, NEQSPIN_MLP_FUSED, eligibility', async () => {
    const small: MlpArch = { inputDim: 5, hidden: [8, 8], activation: 'silu' };
    const wide: MlpArch = { inputDim: 5, hidden: [8, 33], activation: 'silu' };
    expect(fusedEligible(small)).toBe(true);
    expect(fusedEligible(wide)).toBe(false);
    expect(fusedEligible({ ...small, hidden: [] })).toBe(false);
    expect(fusedEligible({ ...small, hidden: [8, 8, 8, 8, 8] })).toBe(false);
    expect(fusedEligible({ ...small, hidden: [32, 32, 32, 32] })).toBe(true);
    expect(fusedEligible({ ...small, hidden: [32, 33] })).toBe(false);
    vi.stubEnv('NEQSPIN_MLP_FUSED', undefined);
    expect(resolveFused(wide)).toBe(false);
    expect(resolveFused(small, { fused: false })).toBe(false);
    expect(() => resolveFused(wide, { fused: true })).toThrow(/^fused: .*hidden \[8, 33\]/);
    vi.stubEnv('NEQSPIN_MLP_FUSED', '0');
    expect(resolveFused(small)).toBe(false);
    expect(resolveFused(small, { fused: true })).toBe(true);
    vi.stubEnv('NEQSPIN_MLP_FUSED', '1');
    expect(resolveFused(small)).toBe(true);
    expect(() => resolveFused(wide)).toThrow(/^NEQSPIN_MLP_FUSED: /);
    vi.stubEnv('NEQSPIN_MLP_FUSED', 'yes');
    expect(() => resolveFused(small)).toThrow(/^NEQSPIN_MLP_FUSED must be 0 or 1/);
  });
});

describe('MlField with the fused MLP', () => {
  it('fused and layered input gradients give the same field (P = 10 bond-torque head, 2 chunks)', async () => {
    const model = randomFieldModel({ lattice: { Lx: 8, Ly: 6, periodicY: true }, descriptor: descriptorPreset('default'), hidden: [16, 12] });
    model.arch = { ...model.arch, outputs: TORQUE_OUTPUTS };
    model.weights = thetaFor(model.arch, 4); // initParams zeroes the head's rows
    const lat = new Lattice({ Lx: 9, Ly: 8, periodicY: true });
    const s = randomUnitSpins(lat.N, 7);
    const h: Record<string, Float32Array> = {};
    for (const flag of ['1', '0']) {
      vi.stubEnv('NEQSPIN_MLP_FUSED', flag); // MlField passes no `fused` option: the environment decides
      const f = await MlField.create(ctx, model, lat, { maxRows: 40 });
      expect(f.mlp.fused).toBe(flag === '1');
      expect(f.chunks).toBe(2);
      h[flag] = await f.fieldOf(s);
      f.destroy();
    }
    const err = relErr(h['1'], h['0']);
    console.log(`MlField fused vs layered: max|Δh|/max|h| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });
});
