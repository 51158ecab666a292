/**
 * Evaluation of a trained two-potential model's field on the GPU, on ANY lattice (SPEC §4):
 *
 *   h_i = -(∂E/∂S_i)⊥ - S_i × ∂Φ/∂S_i,    E = Σ_i ε(G̃_i),  Φ = Σ_i φ(G̃_i),  G̃ = (G - μ)/σ
 *
 * plus, when the network carries the bond-torque head (arch.outputs = TORQUE_OUTPUTS, ./torque.ts),
 * h_i += S_i × A_i + (B_i)⊥ from the per-site coefficients it predicts,
 * for one spin configuration held in a GPU buffer (3N f32, packed xyz, i = x + Lx*y), written into
 * an output buffer (3N f32). `encode(pass, spins, out)` records the whole evaluation into a caller's
 * compute pass with no read-back, so it can run inside the LL step loop (src/dynamics/mlDriven.ts);
 * an encode may be recorded any number of times per submission (all uniforms are static, the MLP
 * batch size is fixed).
 *
 * Pipeline (shaders/model/field.wgsl + MlpGpu), per chunk of R rows (centre sites):
 *   features (G̃ of the chunk) → MlpGpu input gradient ([gE | gP], R×D each) → accumulate
 *   (gather of Σ g ∂G/∂S into the sites the chunk touches, Jacobian recomputed from the spins)
 * then one `finish` dispatch forms h. Memory is O(R·(D + widest layer)) + O(N): the descriptor
 * Jacobian (9·N·D floats, 19 kB per site for the authors' D = 539) is never stored, so lattices of
 * 1e5 (lavapipe) to 1e6+ sites (GPU) fit. R = min(maxRows, limit from maxStorageBufferBindingSize),
 * the N sites split into ceil(N/R) equal chunks (the last one padded).
 * Float64 twin: `mlFieldTwin` + `mlFieldF64` (descriptorF64 → MlpTwin.inputGrad → assemblyForwardF64).
 *
 * Lattice independence. The model is local: its descriptor on a lattice of another size has the same
 * D and the same meaning provided
 *   - the y boundary is of the same kind (periodic with Ly ≥ 3, or open): with open y the site
 *     features gain transverse-edge entries, so D differs — rejected by the D check;
 *   - the lead features are size independent: `clipped` and `onehot` encode min(distance to each
 *     electrode, range), identical for every lattice with Lx ≥ 2·range+1 (the project default);
 *     `column` (the authors' raw index x) is NOT: on a longer lattice x exceeds the training range
 *     and the right electrode sits at another x. MlField therefore refuses a `column` model on a
 *     lattice whose Lx (and Ly, when y is open) differs from the training lattice unless
 *     `allowColumnExtrapolation` is set (benchmarks of cost only, or deliberate extrapolation).
 *   - periodic Ly ≥ 2⌊rc⌋+1, so no two neighbour slots alias the same site (as on the training
 *     lattice; aliasing is computed exactly but changes the descriptor distribution).
 *
 * Precision (f32): descriptor ~1e-7 per feature (·1/σ), MLP input gradient ~ sqrt(width)·6e-8
 * relative per GEMM, accumulation over ≤ S·(features per slot) terms: tests bound
 * max|h - h_f64| ≤ 1e-4·max|h_f64| (measured ~1e-6 on small nets).
 */
import { Kernel, Uniform, readF32, storageBuffer, submit, type GpuContext } from '../gpu/index.js';
import { normal4, seedKey } from '../gpu/rng.js';
import { Lattice } from '../lattice/lattice.js';
import { DescriptorLayout, checkNormalisation, computeNormalisation, descriptorF64, type DescriptorConfig, type Normalisation } from './descriptor.js';
import { checkBufferSize, grid } from './descriptor-gpu.js';
import { MlpGpu, type GemmVariant } from './mlp.js';
import { MlpTwin } from './mlpTwin.js';
import { predictF64, type TwinModel } from './trainTwin.js';
import { flatten, hasTorque, initParams, layerLayouts, outputCount, validateArch, type MlpArch } from './weights.js';
import type { Trainer } from './train.js';

const F32 = 4;
const ROW_ALIGN = 64;
/** default cap on rows per chunk (MLP batch) */
export const DEFAULT_FIELD_ROWS = 65536;

/** What MlField needs of a model: a `TrainedModel` (loadModel / trainModel) satisfies it. */
export interface MlFieldModel {
  descriptor: DescriptorConfig;
  arch: MlpArch;
  useE: boolean;
  useP: boolean;
  norm: Normalisation;
  /** named tensors (`layers.{l}.weight|bias`) or the flat θ */
  weights: Record<string, ArrayLike<number>> | ArrayLike<number>;
  /** the lattice the model was trained on (needed to check a `column` lead feature) */
  lattice?: { Lx: number; Ly: number; periodicY: boolean };
}

export interface MlFieldOptions {
  /** cap on rows (sites) per chunk; default DEFAULT_FIELD_ROWS, further limited by the device */
  maxRows?: number;
  /** accept a `column` lead feature on a lattice other than the training lattice */
  allowColumnExtrapolation?: boolean;
  /** MLP GEMM variant (default: resolveGemm in ./mlp.ts, i.e. NEQSPIN_MLP_GEMM or 'direct') */
  gemm?: GemmVariant;  /** fused per-row input-gradient kernel for small nets (default: resolveFused in ./mlp.ts) */
  fused?: boolean;
}

function flatTheta(m: MlFieldModel): ArrayLike<number> {
  const w = m.weights;
  return ArrayBuffer.isView(w) || Array.isArray(w) ? (w as ArrayLike<number>) : flatten(m.arch, w as Record<string, ArrayLike<number>>);
}

/**
 * The descriptor layout of `model` on `lattice`, after checking that the model applies there
 * (D, potentials, normalisation, lattice dependence of a `column` lead feature).
 */
export function fieldLayout(model: MlFieldModel, lattice: Lattice, opts: Pick<MlFieldOptions, 'allowColumnExtrapolation'> = {}): DescriptorLayout {
  validateArch(model.arch);
  if (typeof model.useE !== 'boolean' || typeof model.useP !== 'boolean' || !(model.useE || model.useP)) {
    throw new Error(`model.useE/useP must be booleans, at least one true, got ${model.useE}, ${model.useP}`);
  }
  const layout = DescriptorLayout.build(lattice, model.descriptor);
  if (layout.D !== model.arch.inputDim) {
    throw new Error(`lattice: the descriptor on ${lattice.Lx}x${lattice.Ly} (periodicY ${lattice.periodicY}) has D=${layout.D}, the model expects ${model.arch.inputDim} (y boundary kind differs from training?)`);
  }
  checkNormalisation(model.norm, layout.D);
  if (model.descriptor.lead.kind === 'column' && !opts.allowColumnExtrapolation) {
    const t = model.lattice;
    if (!t) throw new Error('model.lattice is required to use a column lead feature (or set allowColumnExtrapolation)');
    const openY = !lattice.periodicY && lattice.Ly > 1;
    if (t.Lx !== lattice.Lx || (openY && t.Ly !== lattice.Ly)) {
      throw new Error(`lattice: the model's column lead feature is tied to its training lattice ${t.Lx}x${t.Ly}, got ${lattice.Lx}x${lattice.Ly} (set allowColumnExtrapolation to evaluate anyway)`);
    }
  }
  return layout;
}

/** Float64 twin model of `model` on `lattice` (θ and normalisation as stored). */
export function mlFieldTwin(model: MlFieldModel, lattice: Lattice, opts: Pick<MlFieldOptions, 'allowColumnExtrapolation'> = {}): TwinModel {
  const layout = fieldLayout(model, lattice, opts);
  return { layout, norm: model.norm, mlp: new MlpTwin(model.arch, flatTheta(model)), opts: { useE: model.useE, useP: model.useP, torque: hasTorque(model.arch) } };
}

/** Float64 field h (3N) of one configuration: the twin of MlField.encode. */
export function mlFieldF64(twin: TwinModel, spins: ArrayLike<number>): Float64Array {
  return predictF64(twin, spins).h;
}

/** Float64 potentials E = Σ ε, Φ = Σ φ of one configuration (twin of MlField.energy). */
export function mlEnergyF64(twin: TwinModel, spins: ArrayLike<number>): { E: number; Phi: number } {
  const { y } = twin.mlp.forward(predictF64(twin, spins).G, twin.layout.N);
  const P = outputCount(twin.mlp.arch);
  let E = 0, Phi = 0;
  for (let i = 0; i < twin.layout.N; i++) {
    E += y[P * i];
    Phi += y[P * i + 1];
  }
  return { E, Phi };
}

/** Independent random unit spins (3N, f32; Philox normals, normalised), e.g. a paramagnet. */
export function randomUnitSpins(N: number, seed: number): Float32Array {
  const s = new Float32Array(3 * N);
  const key = seedKey(seed);
  for (let i = 0; i < N; i++) {
    const g = normal4([i, 0, 0x52554e, 0], key); // counter: (site, 0, 'RUN', 0)
    const n = Math.hypot(g[0], g[1], g[2]);
    for (let k = 0; k < 3; k++) s[3 * i + k] = g[k] / n;
  }
  return s;
}

export interface RandomModelOptions {
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  descriptor: DescriptorConfig;
  hidden: number[];
  activation?: MlpArch['activation'];
  useE?: boolean;
  useP?: boolean;
  seed?: number;
  /** rescale the output layer so that the largest |component| of h on a random configuration equals this (f64 twin) */
  fieldScale?: number;
}

/**
 * An untrained model with seeded random weights (f32) and the normalisation of two random
 * configurations of its lattice: for benchmarks and tests of the field and the dynamics.
 */
export function randomFieldModel(o: RandomModelOptions): MlFieldModel {
  const seed = o.seed ?? 0;
  const lat = new Lattice(o.lattice);
  const layout = DescriptorLayout.build(lat, o.descriptor);
  const G = new Float64Array(2 * lat.N * layout.D);
  for (let c = 0; c < 2; c++) G.set(descriptorF64(layout, randomUnitSpins(lat.N, seed + 1 + c)).G, c * lat.N * layout.D);
  const arch: MlpArch = { inputDim: layout.D, hidden: o.hidden, activation: o.activation ?? 'silu' };
  const theta = Float32Array.from(initParams(arch, seed));
  const model: MlFieldModel = { descriptor: o.descriptor, arch, useE: o.useE ?? true, useP: o.useP ?? true, norm: computeNormalisation(G, layout.D), weights: theta, lattice: { Lx: lat.Lx, Ly: lat.Ly, periodicY: lat.periodicY } };
  if (o.fieldScale !== undefined) {
    const h = mlFieldF64(mlFieldTwin(model, lat, { allowColumnExtrapolation: true }), randomUnitSpins(lat.N, seed + 3));
    let hMax = 0;
    for (const v of h) hMax = Math.max(hMax, Math.abs(v));
    const f = o.fieldScale / hMax;
    const last = layerLayouts(arch)[arch.hidden.length];
    for (let k = last.wOff; k < last.bOff + last.nOut; k++) theta[k] *= f; // h is linear in the output layer
  }
  return model;
}

interface SpinGroups {
  features: GPUBindGroup[];
  accumulate: GPUBindGroup[];
  /** finish groups by output buffer */
  finish: Map<GPUBuffer, GPUBindGroup>;
}
/** spin buffers whose bind groups are kept */
const MAX_CACHED = 4;

interface Chunk {
  r0: number;
  feat: Uniform;
  acc: Uniform;
  featGrid: { nx: number; ny: number };
  accGrid: { nx: number; ny: number };
}

/**
 * The cyclic site range [start, start+count) mod N that contains every site a centre in
 * [r0, r1) depends on (the complement of the longest cyclic run of untouched sites).
 */
function touchedRange(layout: DescriptorLayout, r0: number, r1: number): { start: number; count: number } {
  const { N, S, nbr } = layout;
  const touched = new Uint8Array(N);
  for (let e = r0 * S; e < r1 * S; e++) if (nbr[e] >= 0) touched[nbr[e]] = 1;
  let first = -1, prev = -1, bestGap = -1, bestStart = 0;
  for (let j = 0; j < N; j++) {
    if (!touched[j]) continue;
    if (first < 0) first = j;
    else if (j - prev - 1 > bestGap) [bestGap, bestStart] = [j - prev - 1, j];
    prev = j;
  }
  const wrap = N - 1 - prev + first; // untouched sites after the last touched one, cyclically
  if (wrap > bestGap) [bestGap, bestStart] = [wrap, first];
  return { start: bestStart, count: N - bestGap };
}

export class MlField {
  readonly N: number;
  readonly D: number;
  /** rows per chunk (the MLP batch) */
  readonly rows: number;
  readonly chunks: number;
  private readonly tables: Record<string, GPUBuffer>;
  private readonly G: GPUBuffer;
  private readonly acc: GPUBuffer;
  private readonly chunkList: Chunk[];
  private readonly finishUniform: Uniform;
  private readonly finishGrid: { nx: number; ny: number };
  private readonly cache = new Map<GPUBuffer, SpinGroups>();

  private constructor(
    readonly ctx: GpuContext,
    readonly layout: DescriptorLayout,
    readonly model: MlFieldModel,
    readonly mlp: MlpGpu,
    private readonly k: { features: Kernel; accumulate: Kernel; finish: Kernel },
  ) {
    const L = layout;
    this.N = L.N;
    this.D = L.D;
    this.rows = mlp.maxRows;
    this.chunks = Math.ceil(this.N / this.rows);
    const norm = new Float32Array(2 * L.D);
    for (let d = 0; d < L.D; d++) [norm[2 * d], norm[2 * d + 1]] = [model.norm.mean[d], 1 / model.norm.std[d]];
    this.tables = {
      nbr: storageBuffer(ctx, L.nbr, 'field.nbr'),
      nn: storageBuffer(ctx, L.lattice.neighbours, 'field.nn'),
      feat: storageBuffer(ctx, L.features, 'field.feat'),
      siteValues: storageBuffer(ctx, Float32Array.from(L.siteValues), 'field.siteValues'),
      norm: storageBuffer(ctx, norm, 'field.norm'),
      invStart: storageBuffer(ctx, L.inverse.start, 'field.invStart'),
      invEntry: storageBuffer(ctx, L.inverse.entry, 'field.invEntry'),
      incStart: storageBuffer(ctx, L.incidence.start, 'field.incStart'),
      incEntry: storageBuffer(ctx, L.incidence.entry, 'field.incEntry'),
    };
    this.G = storageBuffer(ctx, this.rows * L.D * F32, 'field.G');
    this.acc = storageBuffer(ctx, 6 * this.N * F32, 'field.acc'); // zero-initialised; zero between calls
    const base = { N: L.N, D: L.D, S: L.S, C: L.C, R: this.rows, useE: model.useE ? 1 : 0, useP: model.useP ? 1 : 0, torque: hasTorque(model.arch) ? 1 : 0 };
    const uni = (k: Kernel, v: Record<string, number>) => new Uniform(ctx, k.uniformLayout('p'), 'field.params').set({ ...base, ...v });
    this.chunkList = Array.from({ length: this.chunks }, (_, c) => {
      const r0 = c * this.rows;
      const range = touchedRange(L, r0, Math.min(r0 + this.rows, L.N));
      const fg = grid(ctx, this.rows * L.D), ag = grid(ctx, range.count);
      const v = { r0, jStart: range.start, jCount: range.count };
      return { r0, feat: uni(k.features, { ...v, gridX: fg.gridX }), acc: uni(k.accumulate, { ...v, gridX: ag.gridX }), featGrid: fg, accGrid: ag };
    });
    const fin = grid(ctx, L.N);
    this.finishGrid = fin;
    this.finishUniform = uni(k.finish, { r0: 0, jStart: 0, jCount: L.N, gridX: fin.gridX });
  }

  /** Compile the kernels and upload the model for `lattice`. */
  static async create(ctx: GpuContext, model: MlFieldModel, lattice: Lattice, opts: MlFieldOptions = {}): Promise<MlField> {
    const layout = fieldLayout(model, lattice, opts);
    const cap = opts.maxRows ?? DEFAULT_FIELD_ROWS;
    if (!(Number.isSafeInteger(cap) && cap >= 1)) throw new Error(`field.maxRows must be a positive integer, got ${cap}`);
    // per-row floats of the largest buffer bound at once: MLP stacks 3·widest, [gE|gP] 2·D
    const widest = Math.max(...model.arch.hidden, outputCount(model.arch));
    const perRow = Math.max(3 * widest, 2 * layout.D);
    const deviceRows = Math.floor(ctx.device.limits.maxStorageBufferBindingSize / (F32 * perRow));
    const rMax = Math.min(cap, deviceRows);
    let R: number;
    if (layout.N <= rMax) R = layout.N;
    else {
      const align = rMax >= ROW_ALIGN ? ROW_ALIGN : 1; // rows per chunk: a multiple of 64 when possible
      const aligned = Math.floor(rMax / align) * align;
      const n = Math.ceil(layout.N / aligned);
      R = Math.min(aligned, Math.ceil(Math.ceil(layout.N / n) / align) * align);
    }
    const [mlp, features, accumulate, finish] = await Promise.all([
      MlpGpu.create(ctx, model.arch, { maxRows: R, theta: flatTheta(model), gemm: opts.gemm, fused: opts.fused }),
      Kernel.get(ctx, 'model/field.wgsl', 'features'),
      Kernel.get(ctx, 'model/field.wgsl', 'accumulate'),
      Kernel.get(ctx, 'model/field.wgsl', 'finish'),
    ]);
    return new MlField(ctx, layout, model, mlp, { features, accumulate, finish });
  }

  /** The current model of a Trainer (θ read back once; later training steps are not seen). */
  static async fromTrainer(ctx: GpuContext, trainer: Trainer, lattice: Lattice, opts: MlFieldOptions = {}): Promise<MlField> {
    const norm = trainer.descriptor.normalisation;
    if (!norm) throw new Error('trainer.normalisation is not set (train first or call setNormalisation)');
    const L = trainer.descriptor.layout;
    const model: MlFieldModel = {
      descriptor: L.config,
      arch: trainer.mlp.arch,
      ...trainer.opts,
      norm,
      weights: await trainer.mlp.getFlat(),
      lattice: { Lx: L.lattice.Lx, Ly: L.lattice.Ly, periodicY: L.lattice.periodicY },
    };
    return MlField.create(ctx, model, lattice, opts);
  }

  /** Bind groups of the kernels reading `spins` (cached; the LL engine alternates two buffers). */
  private groupsFor(spins: GPUBuffer): SpinGroups {
    let g = this.cache.get(spins);
    if (g) return g;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    const t = this.tables;
    const shared = { spins, nbr: t.nbr, feat: t.feat, norm: t.norm };
    g = {
      features: this.chunkList.map((c) => this.k.features.bind({ ...shared, p: c.feat.buffer, siteValues: t.siteValues, G: this.G })),
      accumulate: this.chunkList.map((c) =>
        this.k.accumulate.bind({ ...shared, p: c.acc.buffer, invStart: t.invStart, invEntry: t.invEntry, incStart: t.incStart, incEntry: t.incEntry, g: this.mlp.g, acc: this.acc, y: this.mlp.y, nn: t.nn }),
      ),
      finish: new Map(),
    };
    this.cache.set(spins, g);
    return g;
  }

  /** Record h[spins] (3N f32) into `out` (3N f32). */
  encode(pass: GPUComputePassEncoder, spins: GPUBuffer, out: GPUBuffer): void {
    checkBufferSize(spins, 3 * this.N, 'spins');
    checkBufferSize(out, 3 * this.N, 'out');
    if (spins === out) throw new Error('field.out must not be the spins buffer');
    const g = this.groupsFor(spins);
    let fin = g.finish.get(out);
    if (!fin) g.finish.set(out, (fin = this.k.finish.bind({ p: this.finishUniform.buffer, spins, acc: this.acc, out })));
    this.chunkList.forEach((c, k) => {
      this.k.features.dispatch(pass, g.features[k], c.featGrid.nx, c.featGrid.ny);
      this.mlp.encodeInputGrad(pass, this.G, this.rows);
      this.k.accumulate.dispatch(pass, g.accumulate[k], c.accGrid.nx, c.accGrid.ny);
    });
    this.k.finish.dispatch(pass, fin, this.finishGrid.nx, this.finishGrid.ny);
  }

  /** Submit an evaluation; allocates `out` when not given. */
  compute(spins: GPUBuffer, out?: GPUBuffer): GPUBuffer {
    const o = out ?? storageBuffer(this.ctx, 3 * this.N * F32, 'field.h');
    submit(this.ctx, (pass) => this.encode(pass, spins, o));
    return o;
  }

  /** Upload host spins (3N), evaluate, read h back (convenience for tests and tools). */
  async fieldOf(spins: ArrayLike<number>): Promise<Float32Array> {
    if (spins.length !== 3 * this.N) throw new Error(`spins must have length ${3 * this.N}, got ${spins.length}`);
    const s = storageBuffer(this.ctx, Float32Array.from(spins), 'field.spinsIn');
    const h = this.compute(s);
    const res = await readF32(this.ctx, h, 3 * this.N);
    s.destroy();
    h.destroy();
    return res;
  }

  /** E = Σ_i ε_i and Φ = Σ_i φ_i of the configuration in `spins` (f32 per site, summed in f64). */
  async energy(spins: GPUBuffer): Promise<{ E: number; Phi: number }> {
    checkBufferSize(spins, 3 * this.N, 'spins');
    const g = this.groupsFor(spins);
    let E = 0, Phi = 0;
    for (const [k, c] of this.chunkList.entries()) {
      submit(this.ctx, (pass) => {
        this.k.features.dispatch(pass, g.features[k], c.featGrid.nx, c.featGrid.ny);
        this.mlp.encodeForward(pass, this.G, this.rows);
      });
      const P = this.mlp.outputs;
      const y = await readF32(this.ctx, this.mlp.y, P * this.rows);
      for (let r = 0; r < Math.min(this.rows, this.N - c.r0); r++) {
        E += y[P * r];
        Phi += y[P * r + 1];
      }
    }
    return { E, Phi };
  }

  /** Replace the network parameters (same architecture), e.g. after more training. */
  setWeights(w: Record<string, ArrayLike<number>> | ArrayLike<number>): void {
    this.mlp.setWeights(w);
  }

  destroy(): void {
    for (const b of [...Object.values(this.tables), this.G, this.acc]) b.destroy();
    for (const c of this.chunkList) for (const u of [c.feat, c.acc]) u.buffer.destroy();
    this.finishUniform.buffer.destroy();
    this.mlp.destroy();
    this.cache.clear();
  }
}
