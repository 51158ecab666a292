/**
 * Bond-torque head of the force model (src/model/torque.ts; shaders/model/assembly.wgsl,
 * shaders/model/field.wgsl): float64 twin identities, gradients against finite differences, GPU vs
 * twin, equivariance, model files, and a spin-transfer-torque teacher that two local potentials
 * cannot fit and the head can.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getGpu, type GpuContext } from '../src/gpu/index.js';
import { descriptorPreset, DescriptorLayout } from '../src/model/descriptor.js';
import { MlpTwin } from '../src/model/mlpTwin.js';
import { initParams, paramCount, TORQUE_OUTPUTS, type MlpArch } from '../src/model/weights.js';
import { makeSyntheticDataset } from '../src/model/synthetic.js';
import { lossAndGradF64, predictF64, type TwinModel } from '../src/model/trainTwin.js';
import { torqueFieldF64, torqueTransposeF64, torqueVectorsF64 } from '../src/model/torque.js';
import { Trainer, trainModel, DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../src/model/train.js';
import { MlField, mlFieldF64, mlFieldTwin, randomFieldModel } from '../src/model/field.js';
import { saveModel, loadModel } from '../src/model/modelFile.js';
import type { Dataset } from '../src/io/dataset.js';
import { Lattice } from '../src/lattice/lattice.js';
import { maxAbs, maxAbsDiff, dotN as dot, gaussians, rotation, rotateAll, unitSpins } from './helpers/vec.js';

const LATTICE = { Lx: 6, Ly: 4, periodicY: true };
const DESC = descriptorPreset('default');

const randn = (n: number, seed: number) => gaussians(n, seed, 13);
const randomSpins = (N: number, seed: number) => unitSpins(N, seed, 13);

/** A discretised spin-transfer torque with constant coefficients (adiabatic u, non-adiabatic β). */
function sttOutputs(N: number, u: number, beta: number): Float64Array {
  const y = new Float64Array(TORQUE_OUTPUTS * N);
  for (let i = 0; i < N; i++) {
    // h = -u S × ∂ₓS + β u ∂ₓS⊥, ∂ₓS ≈ (S_{+x} - S_{-x})/2
    y[TORQUE_OUTPUTS * i + 2] = -u / 2;
    y[TORQUE_OUTPUTS * i + 3] = u / 2;
    y[TORQUE_OUTPUTS * i + 6] = (beta * u) / 2;
    y[TORQUE_OUTPUTS * i + 7] = (-beta * u) / 2;
  }
  return y;
}

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

describe('bond-torque head: float64 twin', () => {
  const lat = new Lattice({ Lx: 5, Ly: 3, periodicY: true });
  const N = lat.N;

  it('the field is S × A + B⊥: perpendicular to S, and torqueTransposeF64 is its exact transpose', () => {
    const s = randomSpins(N, 1), y = randn(TORQUE_OUTPUTS * N, 2), r = randn(3 * N, 3);
    const h = torqueFieldF64(lat.neighbours, s, y);
    for (let i = 0; i < N; i++) expect(Math.abs(h[3 * i] * s[3 * i] + h[3 * i + 1] * s[3 * i + 1] + h[3 * i + 2] * s[3 * i + 2])).toBeLessThan(1e-14);
    const yBar = torqueTransposeF64(lat.neighbours, s, r);
    for (let i = 0; i < N; i++) expect([yBar[TORQUE_OUTPUTS * i], yBar[TORQUE_OUTPUTS * i + 1]]).toEqual([0, 0]);
    // h is linear in y: <r, h(y)> = <Ȳ(r), y> (ε, φ channels carry no torque)
    expect(Math.abs(dot(r, h) - dot(yBar, y))).toBeLessThan(1e-12 * Math.abs(dot(r, h)) + 1e-14);
    // the open x edges drop the missing bonds: column 0 has no -x neighbour
    const { A } = torqueVectorsF64(lat.neighbours, s, Float64Array.from(y, (v, k) => (k % TORQUE_OUTPUTS === 3 ? v : 0)));
    for (let yy = 0; yy < lat.Ly; yy++) expect(Math.hypot(A[3 * yy * lat.Lx], A[3 * yy * lat.Lx + 1], A[3 * yy * lat.Lx + 2])).toBe(0);
  });

  it('constant coefficients give the discretised adiabatic STT -u S × ∂ₓS exactly', () => {
    const s = randomSpins(N, 4), u = 0.3;
    const h = torqueFieldF64(lat.neighbours, s, sttOutputs(N, u, 0));
    for (let yy = 0; yy < lat.Ly; yy++) {
      for (let x = 1; x < lat.Lx - 1; x++) {
        const i = x + lat.Lx * yy;
        const d = [0, 1, 2].map((c) => (s[3 * (i + 1) + c] - s[3 * (i - 1) + c]) / 2);
        const si = [s[3 * i], s[3 * i + 1], s[3 * i + 2]];
        const want = [-u * (si[1] * d[2] - si[2] * d[1]), -u * (si[2] * d[0] - si[0] * d[2]), -u * (si[0] * d[1] - si[1] * d[0])];
        for (let c = 0; c < 3; c++) expect(h[3 * i + c]).toBeCloseTo(want[c], 14);
      }
    }
  });

  it('dL/dθ with the head equals a finite difference of the twin loss', () => {
    const layout = DescriptorLayout.build(new Lattice(LATTICE), DESC);
    const arch: MlpArch = { inputDim: layout.D, hidden: [7, 5], activation: 'silu', outputs: TORQUE_OUTPUTS };
    const theta = randn(paramCount(arch), 3).map((v) => 0.5 * v);
    const Nl = layout.N;
    const spins = new Float64Array([...randomSpins(Nl, 5), ...randomSpins(Nl, 6)]);
    const target = randn(6 * Nl, 7).map((v) => 0.2 * v);
    const w = new Float64Array(Nl).fill(1);
    const norm = { mean: new Float64Array(layout.D), std: new Float64Array(layout.D).fill(1) };
    const tw: TwinModel = { layout, norm, mlp: new MlpTwin(arch, theta), opts: { useE: true, useP: true, torque: true } };
    const ref = lossAndGradF64(tw, spins, target, w, 2);
    const at = (v: Float64Array, sgn: number, eps: number) => lossAndGradF64({ ...tw, mlp: new MlpTwin(arch, theta.map((x, k) => x + sgn * eps * v[k])) }, spins, target, w, 2).loss;
    // a random direction, and one that moves only the torque rows of the output layer
    const lastW = theta.length - (TORQUE_OUTPUTS + 5 * TORQUE_OUTPUTS);
    const vTorque = new Float64Array(theta.length).map((_, k) => (k >= lastW && ((k - lastW) % 5 === 0 || k >= theta.length - TORQUE_OUTPUTS) ? Math.sin(k) : 0));
    for (const v of [randn(theta.length, 11), vTorque]) {
      const eps = 1e-5;
      const fd = (at(v, 1, eps) - at(v, -1, eps)) / (2 * eps);
      const an = dot(ref.grad, v);
      expect(Math.abs(an)).toBeGreaterThan(1e-4);
      expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.abs(an) + 1e-9); // measured ≈ 2e-10 relative
    }
  });

  it('initParams: the head starts silent, ε and φ rows as without the head', () => {
    const base: MlpArch = { inputDim: 9, hidden: [6], activation: 'silu' };
    const a = initParams(base, 4), b = initParams({ ...base, outputs: TORQUE_OUTPUTS }, 4);
    const wOff = 9 * 6 + 6;
    expect(Array.from(b.subarray(0, wOff + 2 * 6))).toEqual(Array.from(a.subarray(0, wOff + 2 * 6)));
    expect(maxAbs(b.subarray(wOff + 2 * 6))).toBe(0);
    expect(maxAbs(a.subarray(wOff, wOff + 2 * 6))).toBeGreaterThan(0.1);
  });

  it('rotating every spin rotates h (head on, random network)', () => {
    const model = randomFieldModel({ lattice: LATTICE, descriptor: DESC, hidden: [8], seed: 2 });
    model.arch = { ...model.arch, outputs: TORQUE_OUTPUTS };
    model.weights = Float32Array.from(randn(paramCount(model.arch), 9), (v) => 0.4 * v); // initParams zeroes the head's rows
    const lat = new Lattice(LATTICE);
    const twin = mlFieldTwin(model, lat);
    const s = randomSpins(lat.N, 8), n = [1 / Math.sqrt(3), -1 / Math.sqrt(3), 1 / Math.sqrt(3)];
    const R = rotation(n, 0.7);
    const h = mlFieldF64(twin, s), hr = mlFieldF64(twin, rotateAll(R, s));
    expect(maxAbs(h)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(hr, rotateAll(R, h))).toBeLessThan(1e-12 * maxAbs(h));
  });
});

describe('bond-torque head: GPU vs float64 twin', () => {
  const model = randomFieldModel({ lattice: LATTICE, descriptor: DESC, hidden: [12, 8], seed: 4 });
  model.arch = { ...model.arch, outputs: TORQUE_OUTPUTS };
  model.weights = Float32Array.from(randn(paramCount(model.arch), 6), (v) => 0.3 * v);
  const lat = new Lattice(LATTICE);

  it('MlField (one chunk and several) agrees with mlFieldF64', async () => {
    const s = Float32Array.from(randomSpins(lat.N, 12));
    const ref = mlFieldF64(mlFieldTwin(model, lat), s);
    const refNoHead = mlFieldF64(mlFieldTwin({ ...model, arch: { ...model.arch, outputs: 2 }, weights: dropTorque(model) }, lat), s);
    // the head is a visible part of the field
    expect(maxAbsDiff(ref, refNoHead)).toBeGreaterThan(0.05 * maxAbs(ref));
    for (const maxRows of [undefined, 7]) {
      const f = await MlField.create(ctx, model, lat, { maxRows });
      const h = await f.fieldOf(s);
      // f32 descriptor, MLP and assembly: measured ≈ 2e-7 relative
      expect(maxAbsDiff(h, ref)).toBeLessThan(1e-5 * maxAbs(ref));
      f.destroy();
    }
  });

  it('Trainer.gradient agrees with lossAndGradF64', async () => {
    const layout = DescriptorLayout.build(lat, DESC);
    const theta = Float32Array.from(model.weights as Float32Array);
    const spins = Float32Array.from([...randomSpins(lat.N, 20), ...randomSpins(lat.N, 21)]);
    const target = Float32Array.from(randn(6 * lat.N, 22), (v) => 0.3 * v);
    const w = new Float32Array(lat.N).fill(1);
    const tw: TwinModel = { layout, norm: model.norm, mlp: new MlpTwin(model.arch, theta), opts: { useE: true, useP: true, torque: true } };
    const ref = lossAndGradF64(tw, spins, target, w, 2);
    const tr = await Trainer.create(ctx, layout, { arch: model.arch, useE: true, useP: true, seed: 0, theta }, 2, w);
    tr.setNormalisation(model.norm);
    tr.setBatch(spins, target, 2);
    const h = await tr.predict();
    const hRef = new Float64Array([...predictF64(tw, spins.subarray(0, 3 * lat.N)).h, ...predictF64(tw, spins.subarray(3 * lat.N)).h]);
    expect(maxAbsDiff(h, hRef)).toBeLessThan(1e-5 * maxAbs(hRef));
    const g = await tr.gradient();
    expect(maxAbsDiff(g, ref.grad)).toBeLessThan(1e-5 * maxAbs(ref.grad)); // measured ≈ 1.3e-7 (h: 1.8e-7)
    tr.destroy();
  });
});

/** θ of the same network without the torque rows of the output layer */
function dropTorque(model: { arch: MlpArch; weights: unknown }): Float32Array {
  const th = model.weights as Float32Array, H = model.arch.hidden.at(-1)!;
  const lastW = th.length - (TORQUE_OUTPUTS * H + TORQUE_OUTPUTS);
  const out = Array.from(th.subarray(0, lastW));
  out.push(...th.subarray(lastW, lastW + 2 * H), ...th.subarray(th.length - TORQUE_OUTPUTS, th.length - TORQUE_OUTPUTS + 2));
  return Float32Array.from(out);
}

describe('bond-torque head: training and model files', () => {
  // teacher: a constant spin-transfer torque on the synthetic data's spin configurations
  const s = makeSyntheticDataset({
    lattice: LATTICE,
    descriptor: DESC,
    teacher: { hidden: [8], activation: 'silu', seed: 7, useE: true, useP: true },
    trajectories: 20,
    snapshotsPerTrajectory: 3,
    disorder: 0.6,
    seed: 3,
    split: { val: 0.2, test: 0.2 },
  });
  const lat = new Lattice(LATTICE);
  const per = 3 * lat.N, count = s.data.trajectory.length;
  // u = 2: the torque is as large as the untrained network's field (|h| ~ 1)
  const stt = sttOutputs(lat.N, 2, 0.2);
  const fieldPerp = new Float32Array(s.data.fieldPerp.length);
  for (let b = 0; b < count; b++) fieldPerp.set(torqueFieldF64(lat.neighbours, s.data.spins.subarray(b * per, (b + 1) * per), stt), b * per);
  const ds: Dataset = { meta: { ...s.info, count } as Dataset['meta'], data: { ...s.data, fieldPerp } };
  const cfg: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, hidden: [16, 16], epochs: 40, batch: 3, lr: 1e-2, seed: 1 };
  let withHead: Awaited<ReturnType<typeof trainModel>>;

  it('a spin-transfer-torque teacher: the head fits it, two local potentials do not', async () => {
    withHead = (await trainModel(ctx, ds, { ...cfg, torque: true }))!;
    const two = (await trainModel(ctx, ds, cfg))!;
    const lh = withHead.history.at(-1)!.trainLoss!, l2 = two.history.at(-1)!.trainLoss!;
    // measured: first-epoch/last loss 130×, two-potential/head final loss 18×, held-out R² 0.97 vs 0.37
    expect(withHead.history[0].trainLoss! / lh).toBeGreaterThan(30);
    expect(l2 / lh).toBeGreaterThan(5);
    expect(withHead.evaluation.all.r2).toBeGreaterThan(0.9);
    expect(two.evaluation.all.r2).toBeLessThan(0.6);
  });

  it('model files round-trip the head; a mismatched outputs/torque pair is a one-line error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neqspin-torque-'));
    try {
      saveModel(dir, withHead!.model);
      const m = loadModel(dir);
      expect(m.arch.outputs).toBe(TORQUE_OUTPUTS);
      const j = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      expect(j.potentials.torque).toBe(true);
      const spins = s.data.spins.subarray(0, per);
      expect(maxAbsDiff(mlFieldF64(mlFieldTwin(m, lat), spins), mlFieldF64(mlFieldTwin(withHead!.model, lat), spins))).toBe(0);
      j.potentials.torque = false;
      writeFileSync(join(dir, 'model.json'), JSON.stringify(j));
      expect(() => loadModel(dir)).toThrow(/architecture\.outputs: 10 does not match potentials\.torque=false/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
