/**
 * Training of the two-potential force model (SPEC §4) on a neqspin dataset, entirely on the GPU.
 *
 * Loss per mini-batch of B snapshots (rows r = b*N + i):
 *   L = Σ_r w_i |h_r - F⊥_r|² / Σ_r w_i,     w_i = 1 in the bulk, `leadWeight` near a lead
 * (regions: ./trainReport.ts). With leadWeight = 1 this is the mean over sites of |h - F⊥|² (t²).
 *
 * One step is ONE submission (no read-back):
 *   descriptor(S) → G, dG          (DescriptorGpu, normalised with the training-set statistics)
 *   MLP inputGrad → g = [gE | gP]  (planar layout, as AssemblyGpu expects)
 *   assembly forward → h
 *   loss.wgsl → dL/dh = 2 w (h - F⊥)/Σw
 *   assembly transpose → u = [UE | UP]
 *   MLP doubleBackward(G, UE, UP) → dL/dθ → Adam (lr from the schedule)
 * The descriptor is recomputed per batch from the spins (one dispatch, a few % of a step) instead
 * of storing G and dG (9·N·D floats per snapshot) for the whole set: memory stays O(batch).
 * Float64 twin of the whole step: ./trainTwin.ts.
 *
 * Schedule: the learning rate is constant within an epoch: cosine lr·(f + (1-f)(1+cos(π e/E))/2),
 * step lr·γ^floor(e/every), or constant. Early stopping: stop when the validation loss has not
 * improved for `patience` epochs; the best-validation weights are returned. Shuffling is a function
 * of (seed, epoch) only and the GPU kernels are deterministic (no atomics), so a run resumed from a
 * checkpoint (θ, Adam moments and step count, best weights, history) reproduces the uninterrupted
 * run exactly.
 *
 * Split: the dataset's trajectory split (meta.split), else splitTrajectories(…, {val: 0.2,
 * test: 0.2}, seed). Normalisation: mean/std of G over (at most NORM_SNAPSHOTS of) the training
 * snapshots.
 */
import { Kernel, Uniform, readF32, storageBuffer, submit, writeBuffer, type GpuContext } from '../gpu/index.js';
import { seedKey, philox4x32 } from '../gpu/rng.js';
import { Lattice } from '../lattice/lattice.js';
import { splitTrajectories, type Dataset, type Split } from '../io/dataset.js';
import { JobDir } from '../io/job.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { UserError } from '../io/errors.js';
import { DescriptorLayout, computeNormalisation, descriptorPreset, type DescriptorConfig, type Normalisation } from './descriptor.js';
import { DescriptorGpu, grid, type DescriptorOutputs } from './descriptor-gpu.js';
import { AssemblyGpu } from './assembly-gpu.js';
import { MlpGpu } from './mlp.js';
import { ACTIVATIONS, TORQUE_OUTPUTS, hasTorque, validateArch, type Activation, type MlpArch } from './weights.js';
import { siteRegions, evaluateFields, type Evaluation } from './trainReport.js';
import type { TrainedModel } from './modelFile.js';

const F32 = 4;
/** at most this many training snapshots enter the input normalisation statistics */
export const NORM_SNAPSHOTS = 256;

export type LrSchedule = { kind: 'constant' } | { kind: 'cosine'; minFactor: number } | { kind: 'step'; every: number; gamma: number };

export interface TrainConfig {
  descriptor: DescriptorConfig;
  hidden: number[];
  activation: Activation;
  /** conservative potential E on/off */
  useE: boolean;
  /** nonconservative potential Φ on/off (off = single-potential ablation) */
  useP: boolean;
  /** bond-torque head on (./torque.ts; beyond the two-potential ansatz); default off */
  torque?: boolean;
  epochs: number;
  /** snapshots per mini-batch */
  batch: number;
  lr: number;
  schedule: LrSchedule;
  weightDecay: number;
  clipNorm: number;
  seed: number;
  /** early-stopping patience in epochs; 0 = off */
  patience: number;
  /** columns counted as "near a lead" (regions and weights) */
  leadRange: number;
  /** loss weight of near-lead sites relative to bulk sites */
  leadWeight: number;
  /** write a checkpoint every this many epochs (when training into a JobDir) */
  checkpointEvery: number;
  /**
   * evaluate the monitored loss (training set, validation set if any) every this many epochs and
   * after the last one; best weights and early stopping see only these epochs. The full-set
   * prediction costs about a fifth of an epoch of batch-1 steps, so > 1 saves training time.
   */
  evalEvery: number;
  /**
   * input normalisation: a feature whose standard deviation over the training set is below this
   * is centred but not scaled (std 1). 1e-6 keeps every varying feature; a larger floor stops the
   * near-constant features of nearly collinear data (a ferromagnet: σ down to 1e-3) from being
   * amplified ~1/σ, which makes the fitted field explode off the training set.
   */
  normFloor: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  descriptor: descriptorPreset('default'),
  hidden: [32, 32],
  activation: 'silu',
  useE: true,
  useP: true,
  epochs: 200,
  batch: 8,
  lr: 1e-3,
  schedule: { kind: 'cosine', minFactor: 0.01 },
  weightDecay: 0,
  clipNorm: 0,
  seed: 0,
  patience: 0,
  leadRange: 3,
  leadWeight: 1,
  checkpointEvery: 10,
  evalEvery: 1,
  normFloor: 1e-6,
};

/** Throws (naming the field) unless `c` is a valid configuration. */
export function checkTrainConfig(c: TrainConfig): void {
  const posInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  const nonNegInt = (v: number) => Number.isSafeInteger(v) && v >= 0;
  const bad = (field: string, want: string, v: unknown) => {
    throw new UserError(`train.${field} must be ${want}, got ${JSON.stringify(v)}`);
  };
  if (!ACTIVATIONS.includes(c.activation)) bad('activation', ACTIVATIONS.join(' | '), c.activation);
  if (!Array.isArray(c.hidden) || !c.hidden.every(posInt)) bad('hidden', 'a list of positive integers', c.hidden);
  if (typeof c.useE !== 'boolean' || typeof c.useP !== 'boolean' || !(c.useE || c.useP)) bad('useE/useP', 'booleans, at least one true', [c.useE, c.useP]);
  if (c.torque !== undefined && typeof c.torque !== 'boolean') bad('torque', 'a boolean', c.torque);
  if (!posInt(c.epochs)) bad('epochs', 'a positive integer', c.epochs);
  if (!posInt(c.batch)) bad('batch', 'a positive integer', c.batch);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) bad('lr', 'a positive number', c.lr);
  if (!(c.weightDecay >= 0)) bad('weightDecay', '>= 0', c.weightDecay);
  if (!(c.clipNorm >= 0)) bad('clipNorm', '>= 0', c.clipNorm);
  if (!nonNegInt(c.seed)) bad('seed', 'a non-negative integer', c.seed);
  if (!nonNegInt(c.patience)) bad('patience', 'a non-negative integer', c.patience);
  if (!nonNegInt(c.leadRange)) bad('leadRange', 'a non-negative integer', c.leadRange);
  if (!(c.leadWeight > 0 && Number.isFinite(c.leadWeight))) bad('leadWeight', 'a positive number', c.leadWeight);
  if (!posInt(c.checkpointEvery)) bad('checkpointEvery', 'a positive integer', c.checkpointEvery);
  if (!posInt(c.evalEvery)) bad('evalEvery', 'a positive integer', c.evalEvery);
  if (!(c.normFloor >= 0 && Number.isFinite(c.normFloor))) bad('normFloor', 'a finite number >= 0', c.normFloor);
  const s = c.schedule;
  if (s.kind === 'cosine') {
    if (!(s.minFactor >= 0 && s.minFactor <= 1)) bad('schedule.minFactor', 'in [0, 1]', s.minFactor);
  } else if (s.kind === 'step') {
    if (!posInt(s.every)) bad('schedule.every', 'a positive integer', s.every);
    if (!(s.gamma > 0 && s.gamma <= 1)) bad('schedule.gamma', 'in (0, 1]', s.gamma);
  } else if (s.kind !== 'constant') bad('schedule.kind', 'cosine | step | constant', (s as { kind: unknown }).kind);
}

/** Learning rate of epoch e (0-based). */
export function lrAt(c: TrainConfig, e: number): number {
  const s = c.schedule;
  if (s.kind === 'cosine') return c.lr * (s.minFactor + ((1 - s.minFactor) * (1 + Math.cos((Math.PI * e) / c.epochs))) / 2);
  if (s.kind === 'step') return c.lr * s.gamma ** Math.floor(e / s.every);
  return c.lr;
}

/** Deterministic permutation of `items` for (seed, epoch) (Fisher-Yates on Philox draws). */
export function shuffled(items: readonly number[], seed: number, epoch: number): number[] {
  const a = [...items];
  const key = seedKey(seed);
  for (let k = a.length - 1; k > 0; k--) {
    const j = philox4x32([k, epoch, 0x5348, 0], key)[0] % (k + 1); // counter: (position, epoch, 'SH', 0)
    [a[k], a[j]] = [a[j], a[k]];
  }
  return a;
}


/**
 * The GPU pipeline for one model on one lattice: batch upload, prediction, loss gradient, step.
 * Batches hold up to `maxBatch` snapshots.
 */
export class Trainer {
  readonly N: number;
  readonly D: number;
  private readonly spins: GPUBuffer;
  private readonly target: GPUBuffer;
  private readonly weight: GPUBuffer;
  private readonly h: GPUBuffer;
  private readonly dLdh: GPUBuffer;
  private readonly u: GPUBuffer;
  /** ∂L/∂y of the bond-torque head (rows×TORQUE_OUTPUTS; only with the head) */
  private readonly ybar?: GPUBuffer;
  private readonly desc: DescriptorOutputs;
  private readonly lossUniforms = new Map<number, Uniform>();
  private B = 0;

  private constructor(
    readonly ctx: GpuContext,
    readonly descriptor: DescriptorGpu,
    readonly assembly: AssemblyGpu,
    readonly mlp: MlpGpu,
    private readonly lossKernel: Kernel,
    readonly maxBatch: number,
    private readonly weightSum: number,
    readonly opts: { useE: boolean; useP: boolean; torque: boolean },
  ) {
    const N = (this.N = descriptor.N), D = (this.D = descriptor.D);
    const rows = maxBatch * N;
    this.spins = storageBuffer(ctx, 3 * rows * F32, 'train.spins');
    this.target = storageBuffer(ctx, 3 * rows * F32, 'train.target');
    this.weight = storageBuffer(ctx, N * F32, 'train.weight');
    this.h = storageBuffer(ctx, 3 * rows * F32, 'train.h');
    this.dLdh = storageBuffer(ctx, 3 * rows * F32, 'train.dLdh');
    this.u = storageBuffer(ctx, 2 * rows * D * F32, 'train.u');
    if (opts.torque) this.ybar = storageBuffer(ctx, TORQUE_OUTPUTS * rows * F32, 'train.ybar');
    this.desc = { G: storageBuffer(ctx, rows * D * F32, 'train.G'), dG: storageBuffer(ctx, 9 * rows * D * F32, 'train.dG') };
  }

  /**
   * `siteWeight` (N): loss weight of each site; `theta`: initial flat parameters (else seeded
   * init); `norm`: input normalisation (may be set later with setNormalisation).
   */
  static async create(
    ctx: GpuContext,
    layout: DescriptorLayout,
    model: { arch: MlpArch; useE: boolean; useP: boolean; seed: number; theta?: ArrayLike<number> },
    maxBatch: number,
    siteWeight: ArrayLike<number>,
  ): Promise<Trainer> {
    validateArch(model.arch);
    if (model.arch.inputDim !== layout.D) throw new Error(`arch.inputDim ${model.arch.inputDim} must equal the descriptor length D=${layout.D}`);
    if (siteWeight.length !== layout.N) throw new Error(`siteWeight must have length N=${layout.N}, got ${siteWeight.length}`);
    const descriptor = await DescriptorGpu.create(ctx, layout.lattice, layout);
    const [assembly, mlp, lossKernel] = await Promise.all([
      AssemblyGpu.create(ctx, descriptor),
      MlpGpu.create(ctx, model.arch, { maxRows: maxBatch * layout.N, seed: model.seed, theta: model.theta }),
      Kernel.get(ctx, 'model/loss.wgsl', 'main'),
    ]);
    let W = 0;
    for (let i = 0; i < siteWeight.length; i++) W += siteWeight[i];
    const t = new Trainer(ctx, descriptor, assembly, mlp, lossKernel, maxBatch, W, { useE: model.useE, useP: model.useP, torque: hasTorque(model.arch) });
    writeBuffer(ctx, t.weight, Float32Array.from(siteWeight));
    return t;
  }

  /** Upload B snapshots (spins and, for training, targets; each B×N×3). */
  setBatch(spins: Float32Array, target: Float32Array | null, B: number): void {
    if (!(Number.isInteger(B) && B >= 1 && B <= this.maxBatch)) throw new Error(`batch B must be an integer in [1, ${this.maxBatch}], got ${B}`);
    const n = 3 * B * this.N;
    if (spins.length !== n) throw new Error(`batch spins must have length ${n}, got ${spins.length}`);
    writeBuffer(this.ctx, this.spins, spins);
    if (target) {
      if (target.length !== n) throw new Error(`batch target must have length ${n}, got ${target.length}`);
      writeBuffer(this.ctx, this.target, target);
    }
    this.B = B;
  }

  private call() {
    return { B: this.B, spins: this.spins, dG: this.desc.dG, ...this.opts };
  }

  private encodePredict(pass: GPUComputePassEncoder): void {
    const R = this.B * this.N;
    this.descriptor.encode(pass, this.spins, this.B, this.desc);
    this.mlp.encodeInputGrad(pass, this.desc.G, R);
    this.assembly.encodeForward(pass, { ...this.call(), g: this.mlp.g, h: this.h, y: this.mlp.y });
  }

  /** Record prediction, loss gradient, assembly transpose and MLP double backward (→ mlp.grad). */
  private encodeGradient(pass: GPUComputePassEncoder): void {
    const R = this.B * this.N;
    this.encodePredict(pass);
    let u = this.lossUniforms.get(this.B);
    const gr = grid(this.ctx, R);
    if (!u) this.lossUniforms.set(this.B, (u = new Uniform(this.ctx, this.lossKernel.uniformLayout('p')).set({ rows: R, N: this.N, scale: 2 / (this.B * this.weightSum), gridX: gr.gridX })));
    this.lossKernel.dispatch(pass, this.lossKernel.bind({ p: u.buffer, h: this.h, tgt: this.target, weight: this.weight, dLdh: this.dLdh }), gr.nx, gr.ny);
    this.assembly.encodeTranspose(pass, { ...this.call(), dLdh: this.dLdh, u: this.u });
    if (this.ybar) this.assembly.encodeTorqueTranspose(pass, { B: this.B, spins: this.spins, dLdh: this.dLdh, ybar: this.ybar });
    this.mlp.encodeDoubleBackward(pass, this.desc.G, { buffer: this.u, offset: 0 }, { buffer: this.u, offset: R * this.D }, R, this.ybar ? { buffer: this.ybar, offset: 0 } : undefined);
  }

  /** One optimiser step on the uploaded batch (one submission, no read-back). */
  step(lr: number, hyper: { weightDecay: number; clipNorm: number }): void {
    submit(this.ctx, (pass) => {
      this.encodeGradient(pass);
      this.mlp.encodeAdam(pass, { lr, ...hyper });
    });
  }

  /** dL/dθ of the uploaded batch (no parameter update). */
  async gradient(): Promise<Float32Array> {
    submit(this.ctx, (pass) => this.encodeGradient(pass));
    return this.mlp.readGrad();
  }

  /** h (B×N×3) of the uploaded batch. */
  async predict(): Promise<Float32Array> {
    submit(this.ctx, (pass) => this.encodePredict(pass));
    return readF32(this.ctx, this.h, 3 * this.B * this.N);
  }

  /** Un-normalised descriptors G (B×N×D) of the uploaded batch (for the normalisation statistics). */
  async rawDescriptors(): Promise<Float32Array> {
    const keep = this.descriptor.normalisation;
    this.descriptor.setNormalisation(null);
    this.descriptor.compute(this.spins, this.B, this.desc);
    const G = await readF32(this.ctx, this.desc.G, this.B * this.N * this.D);
    this.descriptor.setNormalisation(keep);
    return G;
  }

  setNormalisation(norm: Normalisation): void {
    this.descriptor.setNormalisation(norm);
  }

  async getAdamState(): Promise<{ m: Float32Array; v: Float32Array; steps: number }> {
    return this.mlp.getAdamState();
  }

  setAdamState(s: { m: Float32Array; v: Float32Array; steps: number }): void {
    this.mlp.setAdamState(s);
  }

  destroy(): void {
    for (const b of [this.spins, this.target, this.weight, this.h, this.dLdh, this.u, this.desc.G, this.desc.dG]) b.destroy();
    this.ybar?.destroy();
    for (const u of this.lossUniforms.values()) u.buffer.destroy();
    this.mlp.destroy();
  }
}

/** Copy snapshots `idx` of a per-snapshot array with `per` values each into one Float32Array. */
function gather(src: Float32Array, idx: readonly number[], per: number): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((s, k) => out.set(src.subarray(s * per, (s + 1) * per), k * per));
  return out;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  /** null on epochs without an evaluation (evalEvery > 1) */
  trainLoss: number | null;
  valLoss: number | null;
  seconds: number;
}

/** Checkpoint state (checkpoint.json); tensors live in checkpoint.safetensors next to it. */
export interface TrainCheckpoint {
  /** next epoch to run */
  epoch: number;
  adamSteps: number;
  bestLoss: number;
  bestEpoch: number;
  sinceBest: number;
  stopped: boolean;
  history: EpochRecord[];
}

export interface TrainResult {
  model: TrainedModel;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  split: Split;
  /** the held-out set evaluated ('test', else 'val', else 'train' when the split has no held-out data) */
  evaluatedOn: 'test' | 'val' | 'train';
  evaluation: Evaluation;
  /** predictions and targets (S×N×3) of the evaluated set, for the parity plot */
  predicted: Float32Array;
  reference: Float32Array;
  regions: Uint8Array;
}

export interface TrainOptions {
  /** resumable output folder: checkpoints go to job.dir; `job.resumed` continues a run */
  job?: JobDir<TrainCheckpoint>;
  /** called after every epoch */
  onEpoch?: (r: EpochRecord, c: TrainConfig) => void;
  /** stop (as if killed) right after the checkpoint of this epoch count; for resume tests */
  haltAfterEpoch?: number;
}

const CKPT_TENSORS = 'checkpoint.safetensors';

/** Train a model on `ds`; returns undefined only when halted by `haltAfterEpoch`. */
export async function trainModel(ctx: GpuContext, ds: Dataset, cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult | undefined> {
  checkTrainConfig(cfg);
  const lat = new Lattice(ds.meta.lattice);
  const layout = DescriptorLayout.build(lat, cfg.descriptor);
  const N = lat.N;
  const split = ds.meta.split ?? splitTrajectories(ds.data.trajectory, { val: 0.2, test: 0.2 }, cfg.seed);
  const sets = { train: [] as number[], val: [] as number[], test: [] as number[] };
  const owner = new Map<number, keyof typeof sets>();
  for (const k of ['train', 'val', 'test'] as const) for (const id of split[k]) owner.set(id, k);
  ds.data.trajectory.forEach((id, s) => sets[owner.get(id) ?? 'train'].push(s));
  if (!sets.train.length) throw new UserError('data: the training split is empty (meta.split.train lists no trajectory with snapshots)');
  const regions = siteRegions(lat.Lx, lat.Ly, cfg.leadRange);
  const siteWeight = Float32Array.from(regions, (r) => (r === 0 ? 1 : cfg.leadWeight));
  const arch: MlpArch = { inputDim: layout.D, hidden: cfg.hidden, activation: cfg.activation, ...(cfg.torque ? { outputs: TORQUE_OUTPUTS } : {}) };
  const maxBatch = Math.min(cfg.batch, Math.max(sets.train.length, sets.val.length, sets.test.length));
  const tr = await Trainer.create(ctx, layout, { arch, useE: cfg.useE, useP: cfg.useP, seed: cfg.seed }, maxBatch, siteWeight);
  const { spins, fieldPerp } = ds.data;
  const per = 3 * N;
  const chunks = (idx: number[], size: number) => Array.from({ length: Math.ceil(idx.length / size) }, (_, k) => idx.slice(k * size, (k + 1) * size));

  const job = opts.job;
  const resumed = job?.resumed;
  let norm: Normalisation;
  let state: TrainCheckpoint;
  let best: Float32Array;
  if (resumed) {
    const t = readSafetensors(job.path(CKPT_TENSORS)).tensors;
    norm = { mean: t['norm.mean'].data as Float64Array, std: t['norm.std'].data as Float64Array };
    tr.mlp.setWeights(t.theta.data as Float32Array);
    tr.setAdamState({ m: t['adam.m'].data as Float32Array, v: t['adam.v'].data as Float32Array, steps: resumed.adamSteps });
    best = t['best.theta'].data as Float32Array;
    state = resumed;
  } else {
    const rows: Float32Array[] = [];
    for (const c of chunks(sets.train.slice(0, NORM_SNAPSHOTS), maxBatch)) {
      tr.setBatch(gather(spins, c, per), null, c.length);
      rows.push(await tr.rawDescriptors());
    }
    const all = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    rows.reduce((off, r) => (all.set(r, off), off + r.length), 0);
    norm = computeNormalisation(all, layout.D, cfg.normFloor);
    best = await tr.mlp.getFlat();
    state = { epoch: 0, adamSteps: 0, bestLoss: Infinity, bestEpoch: -1, sinceBest: 0, stopped: false, history: [] };
  }
  tr.setNormalisation(norm);

  const predictSet = async (idx: number[]): Promise<Float32Array> => {
    const out = new Float32Array(idx.length * per);
    let off = 0;
    for (const c of chunks(idx, maxBatch)) {
      tr.setBatch(gather(spins, c, per), null, c.length);
      out.set(await tr.predict(), off);
      off += c.length * per;
    }
    return out;
  };
  const lossOf = async (idx: number[]): Promise<number> => {
    const h = await predictSet(idx);
    let s = 0, W = 0;
    idx.forEach((snap, k) => {
      for (let i = 0; i < N; i++) {
        let e2 = 0;
        for (let c = 0; c < 3; c++) e2 += (h[k * per + 3 * i + c] - fieldPerp[snap * per + 3 * i + c]) ** 2;
        s += siteWeight[i] * e2;
        W += siteWeight[i];
      }
    });
    return s / W;
  };
  const saveCheckpoint = async () => {
    if (!job) return;
    const adam = await tr.getAdamState();
    writeSafetensors(job.path(CKPT_TENSORS), {
      theta: { data: await tr.mlp.getFlat(), shape: [tr.mlp.nParams] },
      'adam.m': { data: adam.m, shape: [tr.mlp.nParams] },
      'adam.v': { data: adam.v, shape: [tr.mlp.nParams] },
      'best.theta': { data: best, shape: [tr.mlp.nParams] },
      'norm.mean': { data: Float64Array.from(norm.mean), shape: [layout.D] },
      'norm.std': { data: Float64Array.from(norm.std), shape: [layout.D] },
    });
    job.checkpoint({ ...state, adamSteps: adam.steps });
  };

  const hyper = { weightDecay: cfg.weightDecay, clipNorm: cfg.clipNorm };
  while (state.epoch < cfg.epochs && !state.stopped) {
    const e = state.epoch;
    const t0 = performance.now();
    const lr = lrAt(cfg, e);
    for (const c of chunks(shuffled(sets.train, cfg.seed, e), maxBatch)) {
      tr.setBatch(gather(spins, c, per), gather(fieldPerp, c, per), c.length);
      tr.step(lr, hyper);
    }
    const evaluate = (e + 1) % cfg.evalEvery === 0 || e + 1 === cfg.epochs;
    const trainLoss = evaluate ? await lossOf(sets.train) : null;
    const valLoss = evaluate && sets.val.length ? await lossOf(sets.val) : null;
    const rec: EpochRecord = { epoch: e, lr, trainLoss, valLoss, seconds: (performance.now() - t0) / 1e3 };
    state.history.push(rec);
    if (evaluate) {
      const monitored = (valLoss ?? trainLoss)!;
      if (!Number.isFinite(monitored)) throw new UserError(`train: loss became ${monitored} at epoch ${e} (lower --lr)`);
      if (monitored < state.bestLoss) {
        state.bestLoss = monitored;
        state.bestEpoch = e;
        state.sinceBest = 0;
        best = await tr.mlp.getFlat();
      } else state.sinceBest += cfg.evalEvery;
    }
    state.stopped = cfg.patience > 0 && state.sinceBest >= cfg.patience;
    state.epoch = e + 1;
    opts.onEpoch?.(rec, cfg);
    if (state.epoch % cfg.checkpointEvery === 0 || state.stopped || state.epoch === cfg.epochs) await saveCheckpoint();
    if (opts.haltAfterEpoch !== undefined && state.epoch >= opts.haltAfterEpoch && state.epoch < cfg.epochs && !state.stopped) {
      tr.destroy();
      return undefined;
    }
  }

  tr.mlp.setWeights(best);
  const evaluatedOn = sets.test.length ? 'test' : sets.val.length ? 'val' : 'train';
  const evalIdx = sets[evaluatedOn];
  const predicted = await predictSet(evalIdx);
  const reference = gather(fieldPerp, evalIdx, per);
  const evaluation = evaluateFields(predicted, reference, regions);
  const model: TrainedModel = {
    descriptor: cfg.descriptor,
    arch,
    useE: cfg.useE,
    useP: cfg.useP,
    lattice: { Lx: lat.Lx, Ly: lat.Ly, periodicY: lat.periodicY },
    norm,
    weights: await tr.mlp.getWeights(),
    dataset: { count: ds.meta.count, split, provenance: ds.meta.provenance, model: ds.meta.model, leads: ds.meta.leads },
    training: {
      config: cfg,
      epochsRun: state.epoch,
      bestEpoch: state.bestEpoch,
      bestLoss: state.bestLoss,
      stoppedEarly: state.stopped,
      loss: 'sum_i w_i |h_i - Fperp_i|^2 / sum_i w_i (units t^2)',
      evaluatedOn,
      evaluation,
    },
  };
  tr.destroy();
  return { model, history: state.history, bestEpoch: state.bestEpoch, stoppedEarly: state.stopped, split, evaluatedOn, evaluation, predicted, reference, regions };
}
