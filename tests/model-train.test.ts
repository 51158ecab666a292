/**
 * Training pipeline of the two-potential force model (src/model/train.ts, shaders/model/loss.wgsl)
 * on synthetic data from a known teacher (src/model/synthetic.ts), model files (modelFile.ts).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getGpu, storageBuffer, readF32, submit, Kernel, Uniform, type GpuContext } from '../src/gpu/index.js';
import { descriptorPreset, DescriptorLayout } from '../src/model/descriptor.js';
import { grid } from '../src/model/descriptor-gpu.js';
import { MlpTwin } from '../src/model/mlpTwin.js';
import { initParams, unflatten, type MlpArch } from '../src/model/weights.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { makeSyntheticDataset, type SyntheticOptions } from '../src/model/synthetic.js';
import { lossGradF64, lossAndGradF64, type TwinModel } from '../src/model/trainTwin.js';
import { Trainer, trainModel, checkTrainConfig, DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainCheckpoint } from '../src/model/train.js';
import { saveModel, loadModel } from '../src/model/modelFile.js';
import { siteRegions, evaluateFields, parityPlotSvg } from '../src/model/trainReport.js';
import { JobDir } from '../src/io/job.js';
import type { Dataset } from '../src/io/dataset.js';
import { Lattice } from '../src/lattice/lattice.js';
import { maxAbs, maxAbsDiff, gaussians } from './helpers/vec.js';

const LATTICE = { Lx: 6, Ly: 4, periodicY: true };
const DESC = descriptorPreset('default');

function synth(over: Partial<SyntheticOptions> = {}) {
  return makeSyntheticDataset({
    lattice: LATTICE,
    descriptor: DESC,
    teacher: { hidden: [8], activation: 'silu', seed: 7, useE: true, useP: true },
    trajectories: 5,
    snapshotsPerTrajectory: 3,
    disorder: 0.8,
    seed: 3,
    split: { val: 0.2, test: 0.2 },
    ...over,
  });
}
const asDataset = (s: ReturnType<typeof synth>): Dataset => ({ meta: { ...s.info, count: s.data.trajectory.length } as Dataset['meta'], data: s.data });

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

const randn = (n: number, seed: number) => gaussians(n, seed, 9);

describe('loss gradient kernel (shaders/model/loss.wgsl) vs lossGradF64', () => {
  it('matches the twin for a batch of 2 snapshots with region weights', async () => {
    const N = 24, rows = 2 * N;
    const h = Float32Array.from(randn(3 * rows, 1)), t = Float32Array.from(randn(3 * rows, 2));
    const w = Float32Array.from(siteRegions(6, 4, 2), (r) => (r === 0 ? 1 : 2.5));
    const ref = lossGradF64(h, t, w, rows);
    const k = await Kernel.get(ctx, 'model/loss.wgsl', 'main');
    const gr = grid(ctx, rows);
    const u = new Uniform(ctx, k.uniformLayout('p')).set({ rows, N, scale: 2 / ref.W, gridX: gr.gridX });
    const out = storageBuffer(ctx, 3 * rows * 4);
    submit(ctx, (pass) => k.dispatch(pass, k.bind({ p: u.buffer, h: storageBuffer(ctx, h), tgt: storageBuffer(ctx, t), weight: storageBuffer(ctx, w), dLdh: out }), gr.nx, gr.ny));
    const got = await readF32(ctx, out, 3 * rows);
    // one f32 subtraction and two products: relative error ≲ 3·2^-24 of |dL/dh|
    expect(maxAbsDiff(got, ref.dLdh)).toBeLessThan(4e-7 * maxAbs(ref.dLdh));
    // and the twin's dL/dh is the derivative of its loss (central difference, exact for a quadratic)
    const e = 5, dh = 1e-3;
    const hp = Float64Array.from(h), hm = Float64Array.from(h);
    hp[e] += dh;
    hm[e] -= dh;
    expect((lossGradF64(hp, t, w, rows).loss - lossGradF64(hm, t, w, rows).loss) / (2 * dh)).toBeCloseTo(ref.dLdh[e], 9);
  });
});

describe('training step gradient: GPU pipeline vs float64 twins', () => {
  for (const useP of [true, false]) {
    it(`dL/dθ of a 2-snapshot batch agrees (useP=${useP})`, async () => {
      const s = synth({ trajectories: 2, snapshotsPerTrajectory: 1 });
      const lat = new Lattice(LATTICE);
      const layout = DescriptorLayout.build(lat, DESC);
      const arch: MlpArch = { inputDim: layout.D, hidden: [12, 8], activation: 'silu' };
      const theta = Float32Array.from(initParams(arch, 5));
      const w = Float32Array.from(siteRegions(6, 4, 2), (r) => (r === 0 ? 1 : 3));
      // targets: the teacher's field plus noise, so the loss and its gradient are O(1)
      const target = Float32Array.from(s.data.fieldPerp, (v, k) => 0.5 * v + 0.3 * randn(1, 100 + k)[0]);
      const tw: TwinModel = { layout, norm: s.teacher.norm, mlp: new MlpTwin(arch, theta), opts: { useE: true, useP } };
      const ref = lossAndGradF64(tw, s.data.spins, target, w, 2);
      const tr = await Trainer.create(ctx, layout, { arch, useE: true, useP, seed: 0, theta }, 2, w);
      tr.setNormalisation(s.teacher.norm);
      tr.setBatch(s.data.spins, target, 2);
      const g = await tr.gradient();
      // f32 through descriptor, MLP (depth ≤ 54), assembly (≤ ~150 terms) and the θ-reduction over
      // 48 rows: ~sqrt(K)·2^-24 ≈ 1e-6 relative per stage; 1e-5 of max|g| leaves room for cancellation
      const scale = maxAbs(ref.grad);
      expect(scale).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(g, ref.grad)).toBeLessThan(1e-5 * scale); // measured 1.4e-7
      // the twin gradient is the derivative of the twin loss (directional central difference)
      const v = randn(theta.length, 11), eps = 1e-5;
      const at = (sgn: number) => lossAndGradF64({ ...tw, mlp: new MlpTwin(arch, Float64Array.from(theta, (x, k) => x + sgn * eps * v[k])) }, s.data.spins, target, w, 2).loss;
      const fd = (at(1) - at(-1)) / (2 * eps);
      const an = ref.grad.reduce((a, x, k) => a + x * v[k], 0);
      // O(eps²) truncation + f64 rounding / eps: measured ≤ 2e-8 relative
      expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.abs(an) + 1e-9);
      tr.destroy();
    });
  }
});

describe('training on a known teacher (synthetic 6×4 data)', () => {
  const ds = asDataset(synth());
  // student = teacher family with more capacity; 100 epochs × 3 batches of 3 snapshots
  const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, hidden: [16, 16], epochs: 100, batch: 3, lr: 1e-2, seed: 1 };
  let full: Awaited<ReturnType<typeof trainModel>>;

  it('the two-potential model overfits the training set (loss drop > 100×)', async () => {
    full = (await trainModel(ctx, ds, cfg))!;
    const first = full.history[0].trainLoss!, last = full.history.at(-1)!.trainLoss!;
    // baseline: the loss after the first epoch (the initial loss is larger still); measured ≈ 290×
    expect(first / last).toBeGreaterThan(100);
    expect(full.evaluatedOn).toBe('test');
    expect(full.evaluation.all.samples).toBe(3 * 24);
  });

  it('the E-only ablation cannot fit a teacher with a Φ part', async () => {
    const eOnly = (await trainModel(ctx, ds, { ...cfg, useP: false }))!;
    const ratio = eOnly.history.at(-1)!.trainLoss! / full!.history.at(-1)!.trainLoss!;
    // -(∂E/∂S)⊥ cannot represent the teacher's -S × ∂Φ/∂S part; measured ratio ≈ 76×
    expect(ratio).toBeGreaterThan(10);
  });

  it('resume after a simulated kill reproduces the uninterrupted run exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neqspin-train-'));
    try {
      const c: TrainConfig = { ...cfg, epochs: 6, checkpointEvery: 2, patience: 3 };
      const ref = (await trainModel(ctx, ds, c))!;
      const out = join(dir, 'model');
      const halted = await trainModel(ctx, ds, c, { job: new JobDir<TrainCheckpoint>(out, {}, 'id'), haltAfterEpoch: 4 });
      expect(halted).toBeUndefined();
      const job = new JobDir<TrainCheckpoint>(out, { resume: true }, 'id');
      expect(job.resumed?.epoch).toBe(4);
      const res = (await trainModel(ctx, ds, c, { job }))!;
      // deterministic kernels (no atomics) and (seed, epoch)-keyed shuffles: bit-identical
      expect(res.history).toHaveLength(6);
      res.history.forEach((h, k) => expect([h.trainLoss, h.valLoss, h.lr]).toEqual([ref.history[k].trainLoss, ref.history[k].valLoss, ref.history[k].lr]));
      for (const [name, w] of Object.entries(ref.model.weights)) expect(Array.from(res.model.weights[name])).toEqual(Array.from(w));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('normFloor: features with a smaller spread are centred, not scaled', async () => {
    const dflt = (await trainModel(ctx, ds, { ...cfg, epochs: 1 }))!;
    const floored = (await trainModel(ctx, ds, { ...cfg, epochs: 1, normFloor: 10 }))!;
    const stds = (r: typeof dflt) => Array.from(r.model.norm.std);
    // every descriptor feature of unit spins is bounded by 1 in magnitude, so its std is < 10
    expect(stds(dflt).some((v) => v !== 1)).toBe(true);
    expect(stds(floored).every((v) => v === 1)).toBe(true);
    expect(Array.from(floored.model.norm.mean)).toEqual(Array.from(dflt.model.norm.mean));
    expect(() => checkTrainConfig({ ...cfg, normFloor: -1 })).toThrow(/^train\.normFloor must be/);
  });

  it('evalEvery: losses only at every n-th and the last epoch, equal to those of evalEvery 1', async () => {
    const c: TrainConfig = { ...cfg, epochs: 7 };
    const every1 = (await trainModel(ctx, ds, c))!;
    const every3 = (await trainModel(ctx, ds, { ...c, evalEvery: 3 }))!;
    const evaluated = every3.history.filter((h) => h.trainLoss !== null).map((h) => h.epoch);
    expect(evaluated).toEqual([2, 5, 6]);
    // the optimisation does not depend on when the loss is looked at (deterministic kernels)
    for (const e of evaluated) expect(every3.history[e].trainLoss).toBe(every1.history[e].trainLoss);
    expect(evaluated).toContain(every3.bestEpoch);
  });
});

describe('model file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neqspin-model-'));
  const layout = DescriptorLayout.build(new Lattice(LATTICE), DESC);
  const arch: MlpArch = { inputDim: layout.D, hidden: [4, 3], activation: 'tanh' };
  const norm = { mean: randn(layout.D, 1), std: Float64Array.from(randn(layout.D, 2), (v) => 1 + Math.abs(v)) };
  const model = () => ({
    descriptor: DESC,
    arch,
    useE: true,
    useP: false,
    lattice: LATTICE,
    norm,
    weights: unflatten(arch, initParams(arch, 3)),
    dataset: { path: '/x' },
    training: { bestEpoch: 3 },
  });
  const fresh = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    saveModel(d, model());
    return d;
  };

  it('round-trips every field', () => {
    const m = loadModel(fresh('ok'));
    const ref = model();
    expect([m.arch, m.useE, m.useP, m.lattice, m.descriptor, m.dataset, m.training]).toEqual([ref.arch, ref.useE, ref.useP, ref.lattice, ref.descriptor, ref.dataset, ref.training]);
    expect(Array.from(m.norm.mean)).toEqual(Array.from(norm.mean));
    expect(Array.from(m.norm.std)).toEqual(Array.from(norm.std));
    for (const [k, v] of Object.entries(ref.weights)) expect(Array.from(m.weights[k])).toEqual(Array.from(v));
  });

  const editJson = (d: string, f: (j: Record<string, any>) => void) => {
    const file = join(d, 'model.json');
    const j = JSON.parse(readFileSync(file, 'utf8'));
    f(j);
    writeFileSync(file, JSON.stringify(j));
  };
  const cases: [string, (d: string) => void, RegExp][] = [
    ['missing json', (d) => rmSync(join(d, 'model.json')), /model\.json: missing/],
    ['bad activation', (d) => editJson(d, (j) => (j.activation = 'gelu')), /model\.json: activation/],
    ['unknown key', (d) => editJson(d, (j) => (j.extra = 1)), /model\.json: .*extra/],
    ['inputDim mismatch', (d) => editJson(d, (j) => (j.lattice.Ly = 2)), /model\.json: architecture\.inputDim: 54 does not match the descriptor on the lattice \(D=56\)/],
    ['hidden mismatch', (d) => editJson(d, (j) => (j.architecture.hidden = [4, 4])), /model\.safetensors: layers\.1\.weight: shape \[3,4\], expected \[4,4\]/],
    [
      'missing tensor',
      (d) => {
        const t = model().weights;
        delete (t as Record<string, unknown>)['layers.2.bias'];
        writeSafetensors(join(d, 'model.safetensors'), { ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { data: v, shape: [v.length] }])), 'norm.mean': { data: norm.mean, shape: [54] }, 'norm.std': { data: norm.std, shape: [54] } });
      },
      /model\.safetensors: layers\.0\.weight: shape \[216\]|model\.safetensors: layers\.2\.bias: missing/,
    ],
    [
      'bad std',
      (d) => {
        const m = model();
        saveModel(d, { ...m, norm: { mean: norm.mean, std: Float64Array.from(norm.std, (v, k) => (k === 7 ? 0 : v)) } });
      },
      /model\.safetensors: normalisation\.std\[7\] must be positive/,
    ],
  ];
  for (const [name, corrupt, msg] of cases) {
    it(`rejects a bad file with a one-line error: ${name}`, () => {
      const d = fresh(name.replace(/ /g, '-'));
      corrupt(d);
      let err: Error | undefined;
      try {
        loadModel(d);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toMatch(msg);
      expect(err?.message).not.toContain('\n');
    });
  }
});

describe('evaluation metrics and parity plot', () => {
  const regions = siteRegions(6, 2, 2);
  it('regions by column distance', () => {
    expect(Array.from(regions)).toEqual([1, 1, 0, 0, 2, 2, 1, 1, 0, 0, 2, 2]);
  });
  it('perfect prediction gives RMSE 0 and R² 1; h = 0 gives R² = 1 - Σt²/Σ(t - t̄)²', () => {
    const t = randn(2 * 12 * 3, 4);
    const perfect = evaluateFields(t, t, regions);
    expect(perfect.all.rmseTotal).toBe(0);
    expect(perfect.bulk.r2).toBe(1);
    const zero = evaluateFields(new Float64Array(t.length), t, regions);
    const rows = [...Array(24).keys()].filter((r) => regions[r % 12] === 2);
    let ss = 0, sq = 0;
    for (let k = 0; k < 3; k++) {
      const m = rows.reduce((a, r) => a + t[3 * r + k], 0) / rows.length;
      for (const r of rows) {
        ss += (t[3 * r + k] - m) ** 2;
        sq += t[3 * r + k] ** 2;
      }
    }
    expect(zero.right.samples).toBe(8);
    expect(zero.right.r2).toBeCloseTo(1 - sq / ss, 12);
    expect(zero.right.rmse[1]).toBeCloseTo(Math.sqrt(rows.reduce((a, r) => a + t[3 * r + 1] ** 2, 0) / rows.length), 12);
  });
  it('the SVG has one circle per component per site (below maxPoints) in three region groups', () => {
    const t = randn(12 * 3, 5);
    const svg = parityPlotSvg(t, t, regions);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="1.6"\/>/g)).toHaveLength(36);
    expect(svg.match(/<g fill=/g)).toHaveLength(3);
  });
});
