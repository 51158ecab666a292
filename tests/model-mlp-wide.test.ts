// The 'wide' register-blocked GEMM variant of MlpGpu (shaders/model/matmul_wide.wgsl) vs the float64
// twin and vs the other GEMM paths, forced on lavapipe at small sizes that are NOT multiples of the
// tiles: input width 539 (K not a multiple of the 8-deep slab, the raw input gradient has N = 539 =
// 4 column tiles of 128 + 27), hidden widths 72 (S = 1: one 128-tile, S = 2 and 3: 64-tiles + edge)
// and 40 (BN = 64 edge), output width 2 (narrow: 64-invocation direct core), R = 131 rows (two row tiles,
// edge of 3), weight gradients of depth S·R = 131 / 393 in split-K chunks; plus the field pipeline
// with the variant forced through NEQSPIN_MLP_GEMM, and the variant resolution.
//
// Tolerances: as tests/model-mlp-gpu.test.ts (twin on the same f32 θ and inputs; max error relative
// to max |twin|): forward / input gradient 2e-4 (GEMM depth ≤ 539, ~sqrt(K)·6e-8 per GEMM), weight
// gradients 5e-4 (sums over ≤ 393 rows with cancellation). Wide vs direct: every path sums each
// output element in the same ascending-k fma order, so y and G agree to the last bit (measured 0 on
// lavapipe); the weight gradients differ only through the split-K partition, which depends on the
// tile geometry (measured ≤ 1.1e-7). Asserted ≤ 1e-6 relative for all four.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { getGpu, storageBuffer, readF32, type GpuContext } from '../src/gpu/index.js';
import { MlpGpu, resolveGemm, type GemmVariant } from '../src/model/mlp.js';
import { MlpTwin } from '../src/model/mlpTwin.js';
import { initParams, paramEntries, type MlpArch } from '../src/model/weights.js';
import { Lattice } from '../src/lattice/lattice.js';
import { descriptorPreset } from '../src/model/descriptor.js';
import { MlField, mlFieldTwin, mlFieldF64, randomFieldModel, randomUnitSpins } from '../src/model/field.js';
import { maxAbs, maxAbsDiff } from './helpers/vec.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});
const envBefore = process.env.NEQSPIN_MLP_GEMM;
afterEach(() => {
  if (envBefore === undefined) delete process.env.NEQSPIN_MLP_GEMM;
  else process.env.NEQSPIN_MLP_GEMM = envBefore;
});

function rand(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
const rel = (a: ArrayLike<number>, ref: ArrayLike<number>) => maxAbsDiff(a, ref) / maxAbs(ref);

const ARCH: MlpArch = { inputDim: 539, hidden: [72, 40], activation: 'silu' };
const R = 131;
// lavapipe compiles each wide pipeline (fully unrolled register blocks) in 2-7 s of CPU when Mesa's
// shader cache is cold (~66 s of CPU for this file, 11 wide pipelines); warm, the file runs in ~9 s.
const COLD_CACHE_MS = 300_000;

/** θ with random biases, f32-rounded (shared exactly by GPU and twin). */
function theta(): Float32Array {
  const th = Float32Array.from(initParams(ARCH, 4));
  const rnd = rand(9);
  for (const e of paramEntries(ARCH)) if (e.name.endsWith('bias')) for (let k = 0; k < e.size; k++) th[e.offset + k] = 0.4 * rnd();
  return th;
}

/** Outputs of every operation on one variant: y, G, double-backward grad (with Ȳ), energy grad. */
async function run(gemm: GemmVariant, th: Float32Array, x: Float32Array, U: Float32Array, yBar: Float32Array) {
  const D = ARCH.inputDim;
  const mlp = await MlpGpu.create(ctx, ARCH, { maxRows: R, theta: th, gemm });
  expect(mlp.gemm).toBe(gemm);
  const xb = storageBuffer(ctx, x), ub = storageBuffer(ctx, U), yb = storageBuffer(ctx, yBar);
  mlp.forward(xb, R);
  const y = await readF32(ctx, mlp.y, 2 * R);
  mlp.inputGrad(xb, R);
  const g = await readF32(ctx, mlp.g, 2 * R * D);
  mlp.doubleBackward(xb, ub, { buffer: ub, offset: R * D }, R, yb);
  const dbl = await mlp.readGrad();
  mlp.energyBackward(xb, yb, R);
  const en = await mlp.readGrad();
  for (const b of [xb, ub, yb]) b.destroy();
  mlp.destroy();
  return { y, g, dbl, en };
}

describe("MlpGpu 'wide' GEMM variant", () => {
  it('edge tiles (539-72-40-2, R = 131): all operations vs the f64 twin and vs the direct path', async () => {
    const D = ARCH.inputDim;
    const rnd = rand(3);
    const f32 = (n: number) => Float32Array.from({ length: n }, () => 2 * rnd());
    const th = theta(), x = f32(R * D), U = f32(2 * R * D), yBar = f32(2 * R);
    const twin = new MlpTwin(ARCH, th);
    const ref = {
      y: twin.forward(x, R).y,
      g: twin.inputGrad(x, R),
      dbl: twin.doubleBackward(x, U.subarray(0, R * D), U.subarray(R * D), R, yBar),
      en: twin.energyBackward(x, yBar, R),
    };
    const wide = await run('wide', th, x, U, yBar);
    const err = { y: rel(wide.y, ref.y), g: rel(wide.g, ref.g), dbl: rel(wide.dbl, ref.dbl), en: rel(wide.en, ref.en) };
    console.log('wide vs f64 twin:', Object.entries(err).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
    expect(err.y).toBeLessThan(2e-4);
    expect(err.g).toBeLessThan(2e-4);
    expect(err.dbl).toBeLessThan(5e-4);
    expect(err.en).toBeLessThan(5e-4);
    const o = await run('direct', th, x, U, yBar);
    const d = { y: rel(wide.y, o.y), g: rel(wide.g, o.g), dbl: rel(wide.dbl, o.dbl), en: rel(wide.en, o.en) };
    console.log('wide vs direct:', Object.entries(d).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
    for (const v of Object.values(d)) expect(v).toBeLessThanOrEqual(1e-6);
  }, COLD_CACHE_MS);

  // hidden widths as ARCH, so that only the raw input-gradient pipeline (N = 54, 64-wide tile) is new
  it('MlField with the variant forced by NEQSPIN_MLP_GEMM=wide (D = 54 → raw input gradient N = 54 on a 64-tile)', async () => {
    process.env.NEQSPIN_MLP_GEMM = 'wide';
    const spec = { Lx: 9, Ly: 7, periodicY: true };
    const model = randomFieldModel({ lattice: spec, descriptor: descriptorPreset('default'), hidden: ARCH.hidden, seed: 2 });
    const lat = new Lattice(spec);
    const f = await MlField.create(ctx, model, lat, { maxRows: 40 }); // 2 chunks, the last padded
    expect(f.mlp.gemm).toBe('wide');
    const s = randomUnitSpins(lat.N, 5);
    const err = rel(await f.fieldOf(s), mlFieldF64(mlFieldTwin(model, lat), s));
    f.destroy();
    console.log(`field (wide): max|h - h_f64|/max|h_f64| = ${err.toExponential(2)}`);
    // as tests/model-field.test.ts
    expect(err).toBeLessThan(1e-4);
  }, COLD_CACHE_MS);

  it('variant resolution: adapter default, env var, options, bad names', () => {
    delete process.env.NEQSPIN_MLP_GEMM;
    // wide on software adapters (faster on lavapipe), direct on hardware GPUs (faster on an H100)
    expect(resolveGemm(ctx)).toBe(ctx.info.software ? 'wide' : 'direct');
    process.env.NEQSPIN_MLP_GEMM = 'tiled';
    expect(resolveGemm(ctx)).toBe('tiled');
    expect(resolveGemm(ctx, { gemm: 'direct' })).toBe('direct');
    process.env.NEQSPIN_MLP_GEMM = 'fast';
    expect(() => resolveGemm(ctx)).toThrow(/^NEQSPIN_MLP_GEMM must be one of/);
    expect(() => resolveGemm(ctx, { gemm: 'x' as GemmVariant })).toThrow(/^gemm must be one of/);
  });
});
