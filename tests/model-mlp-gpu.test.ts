// GPU MLP kernels vs the float64 twin (forward, input gradient, energy/double backward, Adam,
// gradient norm) on both GEMM paths, a width-1024 layer, and a tiny force-regression smoke test.
//
// Tolerances (max |gpu - twin| / max |twin| over the output; the twin runs on the same f32-rounded
// θ and inputs, so only f32 arithmetic differs): forward/input gradient are GEMM chains of depth
// ≤ 1024 with O(1) activations, error ~ few·sqrt(K)·6e-8 ≲ 1e-5 -> bound 1e-4 (2e-4 for K = 1024).
// Weight gradients sum over S·R ≤ 3·100 rows of products of O(1) terms with cancellation between
// rows, so the bound is relative to the largest component: 5e-4.
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, storageBuffer, readF32, type GpuContext } from '../src/gpu/index.js';
import { MlpGpu } from '../src/model/mlp.js';
import { MlpTwin } from '../src/model/mlpTwin.js';
import { initParams, paramEntries, type MlpArch, type Activation } from '../src/model/weights.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

function rand(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
const f32 = (n: number, rnd: () => number, scale = 2) => Float32Array.from({ length: n }, () => scale * rnd());
const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
function relErr(gpu: ArrayLike<number>, ref: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(gpu[i] - ref[i]));
  return e / maxAbs(ref);
}

/** θ with random biases (init sets them to 0), rounded to f32 so GPU and twin share it exactly. */
function thetaFor(arch: MlpArch, seed: number): Float32Array {
  const th = Float32Array.from(initParams(arch, seed));
  const rnd = rand(seed + 17);
  for (const e of paramEntries(arch)) if (e.name.endsWith('bias')) for (let k = 0; k < e.size; k++) th[e.offset + k] = 0.4 * rnd();
  return th;
}

async function compareAll(arch: MlpArch, R: number, tiled: boolean) {
  const D = arch.inputDim;
  const theta = thetaFor(arch, 21);
  const rnd = rand(5);
  const x = f32(R * D, rnd), U = f32(2 * R * D, rnd), yBar = f32(2 * R, rnd);
  const mlp = await MlpGpu.create(ctx, arch, { maxRows: R + 7, theta, gemm: tiled ? 'tiled' : 'direct' });
  const twin = new MlpTwin(arch, theta);
  const xb = storageBuffer(ctx, x), ub = storageBuffer(ctx, U), yb = storageBuffer(ctx, yBar);
  const UE = U.subarray(0, R * D), UP = U.subarray(R * D);
  const err: Record<string, number> = {};

  mlp.forward(xb, R);
  err.forward = relErr(await readF32(ctx, mlp.y, 2 * R), twin.forward(x, R).y);
  mlp.inputGrad(xb, R);
  err.inputGrad = relErr(await readF32(ctx, mlp.g, 2 * R * D), twin.inputGrad(x, R));
  mlp.doubleBackward(xb, ub, { buffer: ub, offset: R * D }, R, yb);
  err.doubleBackward = relErr(await mlp.readGrad(), twin.doubleBackward(x, UE, UP, R, yBar));
  mlp.doubleBackward(xb, ub, { buffer: ub, offset: R * D }, R);
  const gForce = twin.doubleBackward(x, UE, UP, R);
  err.doubleBackwardForceOnly = relErr(await mlp.readGrad(), gForce);
  mlp.energyBackward(xb, yb, R);
  const gE = await mlp.readGrad();
  err.energyBackward = relErr(gE, twin.energyBackward(x, yBar, R));

  // Adam (with clipping active and weight decay) on the GPU grad, twin fed the same grad
  const norm = await mlp.gradNorm();
  err.gradNorm = Math.abs(norm - Math.hypot(...gE)) / Math.hypot(...gE);
  const hyp = { lr: 3e-3, beta1: 0.85, beta2: 0.99, eps: 1e-7, weightDecay: 0.05, clipNorm: 0.5 * norm };
  mlp.adamStep(hyp);
  twin.adamStep(gE, hyp);
  mlp.adamStep(hyp);
  twin.adamStep(gE, hyp);
  const th2 = await mlp.getFlat();
  // Adam moves each θ by ≤ ~lr per step; compare the displacement, relative to its max
  err.adam = relErr(th2.map((t, i) => t - theta[i]), twin.theta.map((t, i) => t - theta[i]));
  return { err };
}

describe('MLP GPU kernels vs float64 twin', () => {
  const small = (activation: Activation): MlpArch => ({ inputDim: 12, hidden: [16, 16], activation });
  // the tiled path is activation-independent: SiLU covers it (and the width-1024 test below)
  const cases: [Activation, boolean][] = [['silu', false], ['silu', true], ['tanh', false], ['relu', false]];
  for (const [act, tiled] of cases) {
    it(`${act}, ${tiled ? 'tiled' : 'direct'} GEMM: forward, input grad, double/energy backward, Adam, grad norm`, async () => {
      const { err } = await compareAll(small(act), 100, tiled);
      console.log(`mlp gpu ${act} ${tiled ? 'tiled' : 'direct'}:`, Object.entries(err).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
      expect(err.forward).toBeLessThan(1e-4);
      expect(err.inputGrad).toBeLessThan(1e-4);
      expect(err.doubleBackward).toBeLessThan(5e-4);
      expect(err.doubleBackwardForceOnly).toBeLessThan(5e-4);
      expect(err.energyBackward).toBeLessThan(5e-4);
      expect(err.gradNorm).toBeLessThan(1e-5);
      // Adam's step is lr·m̂/(sqrt(v̂)+eps): f32 rounding of θ (|θ| ≲ 1, ulp 6e-8) vs steps ~ lr
      expect(err.adam).toBeLessThan(1e-4);
    });
  }

  it('width-1024 hidden layer (large tiles, split-K weight gradient), both paths', async () => {
    const arch: MlpArch = { inputDim: 12, hidden: [1024, 24], activation: 'silu' };
    for (const tiled of [false, true]) {
      const { err } = await compareAll(arch, 6, tiled);
      console.log(`mlp gpu 1024 ${tiled ? 'tiled' : 'direct'}:`, Object.entries(err).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
      expect(err.forward).toBeLessThan(2e-4);
      expect(err.inputGrad).toBeLessThan(2e-4);
      expect(err.doubleBackward).toBeLessThan(5e-4);
      expect(err.energyBackward).toBeLessThan(5e-4);
      expect(err.adam).toBeLessThan(1e-4);
    }
  });

  it('weights round trip by name and bad input names the field', async () => {
    const arch = small('silu');
    const mlp = await MlpGpu.create(ctx, arch, { maxRows: 8, seed: 3 });
    const w = await mlp.getWeights();
    expect(Object.keys(w)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias']);
    expect(Array.from(await mlp.getFlat())).toEqual(Array.from(Float32Array.from(initParams(arch, 3))));
    w['layers.1.bias'][2] = 7;
    mlp.setWeights(w);
    expect((await mlp.getWeights())['layers.1.bias'][2]).toBe(7);
    const x = storageBuffer(ctx, 8 * 12 * 4);
    expect(() => mlp.forward(x, 9)).toThrow(/^R must/);
    expect(() => mlp.forward({ buffer: x, offset: 12 }, 8)).toThrow(/^x:/);
    expect(() => mlp.doubleBackward(x, x, { buffer: x, offset: 1 }, 8)).toThrow(/^UP:/);
    expect(() => mlp.setWeights({ ...w, 'layers.9.bias': [1] })).toThrow(/layers\.9\.bias/);
    await expect(MlpGpu.create(ctx, arch, { maxRows: 0 })).rejects.toThrow(/maxRows/);
  });

  it('training smoke: Adam fits gE to the gradient of a random quadratic potential (loss drops > 100x)', async () => {
    // target: V(x) = ½ xᵀAx + bᵀx, force-like target gE* = Ax + b; loss = mean_r |gE - gE*|²,
    // U^E = ∂loss/∂gE = 2(gE - gE*)/R, U^Φ = 0. The whole loop runs on the GPU except the loss.
    const D = 4, R = 256;
    const arch: MlpArch = { inputDim: D, hidden: [32, 32], activation: 'silu' };
    const rnd = rand(8);
    const A = Array.from({ length: D }, () => new Float64Array(D));
    for (let i = 0; i < D; i++) for (let j = 0; j <= i; j++) A[i][j] = A[j][i] = rnd();
    const b = Float64Array.from({ length: D }, () => 0.5 * rnd());
    const x = f32(R * D, rnd, 2);
    const target = new Float32Array(R * D);
    for (let r = 0; r < R; r++) for (let i = 0; i < D; i++) {
      let s = b[i];
      for (let j = 0; j < D; j++) s += A[i][j] * x[r * D + j];
      target[r * D + i] = s;
    }
    const mlp = await MlpGpu.create(ctx, arch, { maxRows: R, seed: 1 });
    const xb = storageBuffer(ctx, x), ub = storageBuffer(ctx, 2 * R * D * 4);
    const U = new Float32Array(2 * R * D);
    const losses: number[] = [];
    const steps = 400;
    for (let it = 0; it < steps; it++) {
      mlp.inputGrad(xb, R);
      const g = await readF32(ctx, mlp.g, R * D);
      let loss = 0;
      for (let k = 0; k < R * D; k++) {
        const d = g[k] - target[k];
        loss += (d * d) / R;
        U[k] = (2 * d) / R;
      }
      losses.push(loss);
      ctx.device.queue.writeBuffer(ub, 0, U);
      mlp.doubleBackward(xb, ub, { buffer: ub, offset: R * D }, R);
      mlp.adamStep({ lr: 1e-2 * 0.5 * (1 + Math.cos((Math.PI * it) / steps)) });
    }
    const tail = Math.min(...losses.slice(-10));
    console.log(`mlp training smoke: loss ${losses[0].toExponential(2)} -> ${tail.toExponential(2)} (${(losses[0] / tail).toFixed(0)}x)`);
    expect(losses[0] / tail).toBeGreaterThan(100);
  });
});
