/**
 * Per-site MLP of the two-potential force model on the GPU (SPEC §4): y = (ε, φ) = f(x), batched
 * over R rows (sites × snapshots), with the input gradient, the double backward needed to train on
 * forces, an energy backward, Adam and the gradient norm. Maths, adjoint recursions and sign
 * conventions: module doc of ./mlpTwin.ts (the float64 twin); parameter layout and names:
 * ./weights.ts (PyTorch nn.Linear [out, in] convention, `layers.{l}.weight|bias`).
 *
 * Buffer conventions (f32, row-major, element offsets via F32View):
 *   x        R×D descriptors
 *   y        R×P (ε, φ[, bond-torque coefficients]; P = outputCount(arch))  -> this.y
 *   G        [gE; gP], 2·R·D: gE[r,k] = ∂y_0/∂x_k at element r·D+k, gP at R·D + r·D + k   -> this.g
 *   UE, UP   R×D upstream ∂L/∂gE, ∂L/∂gP (may be one buffer [UE; UP] viewed at offsets 0 and R·D)
 *   yBar     R×P upstream ∂L/∂y (energy loss, bond-torque loss), optional
 *   grad     flat dL/dθ in θ order                              -> this.grad
 *
 * Kernels (shaders/model/): mlp_fwd (layer GEMM + activation, S = 1 primal or S = 3 primal +
 * 2 tangents), mlp_bwd (layer GEMM + activation derivatives, adjoint stacks; `seed` for the output
 * layer), mlp_wgrad (split-K weight-gradient GEMM + deterministic reduction; no atomics), adam.
 * GEMM variants (`gemm`, chosen per model; every GEMM of a variant sums in the same k order):
 *   'wide'   (the default on software adapters; measured SLOWER than 'direct' on an H100, see
 *            below): matmul_wide.wgsl — 256 invocations, 128×128 / 64×128 / 64×64 output tiles,
 *            8×8 / 4×8 / 4×4 register blocks per stack, double-buffered workgroup-memory slabs;
 *            used for every GEMM whose output is wider than 32 in both dimensions, the direct
 *            64-invocation core for the narrow ones (output layer, small nets: identical results
 *            to 'direct' there). Needs 21 KiB of workgroup storage and 256 invocations per
 *            workgroup, else 'direct'.
 *   'tiled'  matmul_core.wgsl with workgroup-memory slabs, 64 invocations, 4×4 blocks (the
 *            previous GPU path; kept for comparison and small adapters).
 *   'direct' (the default on hardware GPUs): matmul_core.wgsl streaming operands from storage
 *            without barriers.
 * Forcing: option `gemm`, else the environment variable NEQSPIN_MLP_GEMM=direct|tiled|wide, else
 * 'wide' on a software adapter that has its resources and 'direct' otherwise. Measured on an
 * NVIDIA H100 (Vulkan, 65536×1024×1024 forward, BENCHMARKS.md): direct 3.1, tiled 2.3, wide
 * 1.9 TFLOP/s (input gradient 4.8 / 2.9 / 1.9), so the register-blocked 'wide' tiles lose on that
 * driver (likely accumulator spills: not profiled yet) and 'direct' is the default on hardware GPUs.
 * On lavapipe (2 cores) wide wins: 1024³ forward 6.6 vs 2.6 GFLOP/s (BENCHMARKS.md), authors' net
 * field on 32×24 811 vs 637 sites/s, training step 213 vs 137 site-samples/s (best of 3, the two
 * variants alternated in one process); the lavapipe ML tables of BENCHMARKS.md went from 501 to 805
 * and from 135 to 209 between the bench runs before and after the switch.
 *
 * Fused input gradient (`fused`, small networks): shaders/model/mlp_fused.wgsl computes the whole
 * forward and both input-gradient backward passes of a row in ONE invocation (hidden vectors in
 * private arrays, weights broadcast-loaded from θ, no workgroup memory or barriers), one dispatch
 * instead of 2·(#layers)+1 GEMMs; y and G land in the same buffers and layouts, but the z/h stacks
 * are not written. Eligible: 1..FUSED_MAX_LAYERS hidden layers, each ≤ FUSED_MAX_WIDTH = 32 wide
 * (the kernel's private arrays; D and P are unrestricted; 32 is the longest loop Mesa's NIR unrolls,
 * which keeps the hidden vectors in registers on lavapipe, see the kernel's header).
 * Only encodeInputGrad uses it; forward, energy and double backward stay layered. Choice: option
 * `fused` (true forces it and throws for an ineligible arch, false forces the layered path), else
 * NEQSPIN_MLP_FUSED=1|0 (same meanings), else fused when eligible (FUSED_DEFAULT: measured faster).
 *
 * Costs per call in layer-GEMM units (R·Σ n_{l-1} n_l multiply-adds): forward 1, inputGrad 3,
 * energyBackward 3, doubleBackward 9 (fused primal+tangent forward 3, adjoint backward 3,
 * weight gradient 3; it recomputes the forward and the input-gradient adjoints instead of
 * reusing them, so it can be called on its own).
 *
 * Encoding: encode* methods record dispatches into a caller's compute pass (so a training step
 * can be one submission); their uniforms are written with queue.writeBuffer at encode time, so
 * each operation may be encoded at most once per submission (different operations may share one).
 * The plain methods (forward, inputGrad, ...) submit immediately.
 *
 * Precision: f32 storage and accumulation; a GEMM of depth K has error ~ sqrt(K)·2^-24 relative to
 * Σ|terms| (the weight gradient sums over S·R rows). Tests state the tolerances achieved.
 */
import type { GpuContext } from '../gpu/context.js';
import { Kernel, Uniform, type BufferMap } from '../gpu/kernel.js';
import { storageBuffer, submit, readF32, writeBuffer } from '../gpu/buffers.js';
import { type MlpArch, type LayerLayout, type InitScheme, ACTIVATIONS, outputCount, layerLayouts, paramCount, initParams, flatten, unflatten } from './weights.js';
import { resolveAdam, type AdamHyper } from './adam.js';
import { UserError } from '../io/errors.js';
import { grid } from './descriptor-gpu.js';

/** Adam optimiser state of an MlpGpu. */
export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  steps: number;
}

/** A float32 array in a GPU buffer starting at element `offset`. */
export type F32View = GPUBuffer | { buffer: GPUBuffer; offset: number };

export interface MlpGpuOptions {
  /** capacity in rows (sites × snapshots) of every batched call */
  maxRows: number;
  /** initialisation seed (ignored when `theta` is given); default 0 */
  seed?: number;
  init?: InitScheme;
  /** initial flat parameters (θ order of weights.ts) */
  theta?: ArrayLike<number>;
  /** GEMM variant (see the module doc); default: NEQSPIN_MLP_GEMM, else 'direct' */
  gemm?: GemmVariant;
  /** fused per-row input gradient (see the module doc); default: NEQSPIN_MLP_FUSED, else when eligible */
  fused?: boolean;
}

export const GEMM_VARIANTS = ['direct', 'tiled', 'wide'] as const;
export type GemmVariant = (typeof GEMM_VARIANTS)[number];

const CORE_WG = 64; // invocations per matmul_core workgroup
const CORE_TM = 4; // its register block
const CORE_TN = 4;
const WIDE_WG = 256; // matmul_wide.wgsl
const WIDE_MIN = 33; // a GEMM uses the wide tiles when both output dimensions are at least this
const WIDE_STORAGE = 2 * (1632 + 1056) * 4; // bytes of workgroup memory matmul_wide declares
const BK = 16; // split-K chunks are multiples of this (both cores' k-slab lengths divide it)
const SPLIT_MAX = 32;
const NORM_WG = 64; // adam.wgsl NWG

/** Geometry of a compiled GEMM kernel: invocations per workgroup and output tile. */
interface GemmGeometry {
  entry: 'main' | 'main_wide';
  consts: Record<string, number>;
  wg: number;
  bm: number;
  bn: number;
}

/**
 * Kernel choice for an M×N output with S stacks (M = Infinity for the batch rows).
 * Core: TX = 4, 8, 16 invocations along n (BN = 4·TX, BM = 4·64/TX). Wide: BM = 16·(8 if S = 1
 * else 4), BN = 16·WTN with WTN = 8 when N > 64 and S < 3 (≤ 64 accumulators per invocation).
 */
function gemmGeometry(variant: GemmVariant, M: number, N: number, S: number): GemmGeometry {
  if (variant === 'wide' && M >= WIDE_MIN && N >= WIDE_MIN) {
    const wtn = N > 64 && S < 3 ? 8 : 4;
    return { entry: 'main_wide', consts: { WTN: wtn }, wg: WIDE_WG, bm: 16 * (S === 1 ? 8 : 4), bn: 16 * wtn };
  }
  const tx = N <= 16 ? 4 : N <= 32 ? 8 : 16;
  // 'wide' keeps its narrow GEMMs on the direct core (the faster one on both adapters measured)
  return { entry: 'main', consts: { TX: tx, TILED: variant === 'tiled' ? 1 : 0 }, wg: CORE_WG, bm: (CORE_WG / tx) * CORE_TM, bn: tx * CORE_TN };
}

/**
 * The GEMM variant an MlpGpu on `ctx` uses for these options (see the module doc). A forced
 * 'wide' on an adapter without its workgroup resources throws.
 */
export function resolveGemm(ctx: GpuContext, opts: Pick<MlpGpuOptions, 'gemm'> = {}): GemmVariant {
  const env = typeof process === 'undefined' ? undefined : process.env.NEQSPIN_MLP_GEMM || undefined;
  const asked = opts.gemm ?? env;
  const name = opts.gemm !== undefined ? 'gemm' : 'NEQSPIN_MLP_GEMM';
  if (asked !== undefined && !(GEMM_VARIANTS as readonly string[]).includes(asked)) throw new UserError(`${name} must be one of ${GEMM_VARIANTS.join(', ')}, got ${asked}`);
  const lim = ctx.device.limits;
  const wideOk = lim.maxComputeWorkgroupStorageSize >= WIDE_STORAGE && lim.maxComputeInvocationsPerWorkgroup >= WIDE_WG;
  if (asked === 'wide' && !wideOk) throw new UserError(`${name}: 'wide' needs ${WIDE_STORAGE} B of workgroup storage and ${WIDE_WG} invocations per workgroup, the device allows ${lim.maxComputeWorkgroupStorageSize} B, ${lim.maxComputeInvocationsPerWorkgroup}`);
  if (asked !== undefined) return asked as GemmVariant;
  return ctx.info.software && wideOk ? 'wide' : 'direct';
}

/** Largest net of the fused input-gradient kernel (its 4 spelled-out layers and MAXW). */
export const FUSED_MAX_LAYERS = 4;
export const FUSED_MAX_WIDTH = 32;
/**
 * Fused is the default for eligible nets: measured on lavapipe (2 shared cores, noisy), small net
 * D = 54, hidden [32, 32], SiLU: input gradient of 16384 rows 46 ms fused vs 74 ms layered (best of
 * 8), MlField on 128×128 1.63e5 vs 1.31e5 sites/s (the two paths alternated in one process; the
 * bench's field table went from 1.28e5 to 1.55e5 sites/s).
 */
const FUSED_DEFAULT = true;
const FUSED_ROWS = 4; // rows per invocation of mlp_fused.wgsl (its ROWS)

/** Can shaders/model/mlp_fused.wgsl evaluate this arch's input gradient? */
export function fusedEligible(arch: MlpArch): boolean {
  const H = arch.hidden;
  return H.length >= 1 && H.length <= FUSED_MAX_LAYERS && H.every((w) => w <= FUSED_MAX_WIDTH);
}

/**
 * Whether an MlpGpu for `arch` uses the fused input gradient with these options (see the module
 * doc). Forcing it (option or environment) for an ineligible arch throws.
 */
export function resolveFused(arch: MlpArch, opts: Pick<MlpGpuOptions, 'fused'> = {}): boolean {
  const env = typeof process === 'undefined' ? undefined : process.env.NEQSPIN_MLP_FUSED || undefined;
  if (opts.fused === undefined && env !== undefined && env !== '0' && env !== '1') throw new UserError(`NEQSPIN_MLP_FUSED must be 0 or 1, got ${env}`);
  const asked = opts.fused ?? (env === undefined ? undefined : env === '1');
  const ok = fusedEligible(arch);
  if (asked === true && !ok) {
    const name = opts.fused === undefined ? 'NEQSPIN_MLP_FUSED' : 'fused';
    throw new UserError(`${name}: the fused input gradient needs 1..${FUSED_MAX_LAYERS} hidden layers of width ≤ ${FUSED_MAX_WIDTH}, got hidden [${arch.hidden.join(', ')}]`);
  }
  return asked ?? (FUSED_DEFAULT && ok);
}

interface View {
  buffer: GPUBuffer;
  offset: number;
}

export class MlpGpu {
  readonly layers: LayerLayout[];
  readonly nParams: number;
  /** flat parameters θ (f32) */
  readonly params: GPUBuffer;
  /** flat dL/dθ written by energyBackward / doubleBackward */
  readonly grad: GPUBuffer;
  /** R×P outputs of the last forward */
  readonly y: GPUBuffer;
  /** outputs per row P */
  readonly outputs: number;
  /** [gE; gP] of the last inputGrad */
  readonly g: GPUBuffer;
  private steps = 0;

  private readonly z: GPUBuffer[] = [];
  private readonly h: GPUBuffer[] = [];
  private readonly adj: [GPUBuffer, GPUBuffer];
  private readonly part: GPUBuffer;
  private readonly m1: GPUBuffer;
  private readonly m2: GPUBuffer;
  private readonly norm: GPUBuffer;
  private readonly dummy: GPUBuffer;
  private readonly uniforms = new Map<string, Uniform>();
  private readonly groups = new Map<string, { bufs: GPUBuffer[]; group: GPUBindGroup }>();

  private constructor(
    readonly ctx: GpuContext,
    readonly arch: MlpArch,
    readonly maxRows: number,
    /** the GEMM variant in use */
    readonly gemm: GemmVariant,
    /** whether encodeInputGrad runs the fused per-row kernel */
    readonly fused: boolean,
    private readonly k: Awaited<ReturnType<typeof compileKernels>>,
    theta: Float32Array,
  ) {
    this.layers = layerLayouts(arch);
    this.nParams = paramCount(arch);
    this.outputs = outputCount(arch);
    const f = 4;
    this.params = storageBuffer(ctx, theta, 'mlp.theta');
    this.grad = storageBuffer(ctx, this.nParams * f, 'mlp.grad');
    this.m1 = storageBuffer(ctx, this.nParams * f, 'mlp.adam.m');
    this.m2 = storageBuffer(ctx, this.nParams * f, 'mlp.adam.v');
    this.norm = storageBuffer(ctx, (NORM_WG + 1) * f, 'mlp.gradnorm');
    this.dummy = storageBuffer(ctx, 16, 'mlp.dummy');
    this.y = storageBuffer(ctx, maxRows * this.outputs * f, 'mlp.y');
    this.g = storageBuffer(ctx, 2 * maxRows * arch.inputDim * f, 'mlp.g');
    for (const L of this.layers.slice(0, -1)) {
      this.z.push(storageBuffer(ctx, 3 * maxRows * L.nOut * f, 'mlp.z'));
      this.h.push(storageBuffer(ctx, 3 * maxRows * L.nOut * f, 'mlp.h'));
    }
    const widest = Math.max(...this.layers.map((L) => L.nOut));
    this.adj = [0, 1].map(() => storageBuffer(ctx, 3 * maxRows * widest * f, 'mlp.adjoint')) as [GPUBuffer, GPUBuffer];
    this.part = storageBuffer(ctx, Math.max(...this.layers.map((L, l) => this.splitBound(l) * L.nOut * (L.nIn + 1))) * f, 'mlp.wgrad.partials');
  }

  static async create(ctx: GpuContext, arch: MlpArch, opts: MlpGpuOptions): Promise<MlpGpu> {
    const layers = layerLayouts(arch); // validates arch
    if (!(Number.isSafeInteger(opts.maxRows) && opts.maxRows > 0)) throw new Error(`maxRows must be a positive integer, got ${opts.maxRows}`);
    const n = paramCount(arch);
    if (opts.theta && opts.theta.length !== n) throw new Error(`theta has ${opts.theta.length} elements, arch needs ${n}`);
    const theta = Float32Array.from(opts.theta ?? initParams(arch, opts.seed ?? 0, opts.init));
    const gemm = resolveGemm(ctx, opts);
    const fused = resolveFused(arch, opts);
    const maxBytes = ctx.device.limits.maxStorageBufferBindingSize;
    const widest = Math.max(arch.inputDim, ...layers.map((L) => L.nOut));
    if (3 * opts.maxRows * widest * 4 > maxBytes) throw new Error(`maxRows ${opts.maxRows} too large: a 3×maxRows×${widest} f32 stack exceeds maxStorageBufferBindingSize ${maxBytes}`);
    const k = await compileKernels(ctx, arch, layers, gemm, fused);
    return new MlpGpu(ctx, arch, opts.maxRows, gemm, fused, k, theta);
  }

  // ---------------------------------------------------------------- public operations

  /** y (this.y) = f(x). */
  encodeForward(pass: GPUComputePassEncoder, x: F32View, R: number): void {
    this.checkRows(R);
    const xv = this.view('x', x, R * this.arch.inputDim);
    this.encFwd(pass, 'f', 1, [xv, xv, xv], R);
  }

  /** y and G = [∂y_0/∂x; ∂y_1/∂x] (this.g); the fused kernel when this.fused (z/h stacks untouched). */
  encodeInputGrad(pass: GPUComputePassEncoder, x: F32View, R: number): void {
    if (this.k.fused) return this.encFused(pass, this.k.fused, x, R);
    this.encodeForward(pass, x, R);
    this.encSeed(pass, 'ig', 2, 0, R);
    let cur = 0;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      this.encBwd(pass, `ig${l}`, l === 0 ? this.k.bwdRaw : this.k.bwdIG[l - 1], l, this.adj[cur], l === 0 ? this.g : this.adj[1 - cur], R);
      cur = 1 - cur;
    }
  }

  /** grad = dL/dθ for L = Σ Ȳ·y (Ȳ = yBar, R×P). */
  encodeEnergyBackward(pass: GPUComputePassEncoder, x: F32View, yBar: F32View, R: number): void {
    this.checkRows(R);
    const xv = this.view('x', x, R * this.arch.inputDim);
    const yb = this.view('yBar', yBar, R * this.outputs);
    this.encFwd(pass, 'e', 1, [xv, xv, xv], R);
    this.encReverse(pass, 'e', 1, [xv, xv, xv], R, yb);
  }

  /**
   * grad = dL/dθ for L = Σ_rows (UE·gE + UP·gP) [+ Σ Ȳ·y when yBar is given]: the θ-gradient of a
   * force loss whose upstream w.r.t. the input gradients is (UE, UP).
   */
  encodeDoubleBackward(pass: GPUComputePassEncoder, x: F32View, UE: F32View, UP: F32View, R: number, yBar?: F32View): void {
    this.checkRows(R);
    const D = this.arch.inputDim;
    const a: View[] = [this.view('x', x, R * D), this.view('UE', UE, R * D), this.view('UP', UP, R * D)];
    const yb = yBar ? this.view('yBar', yBar, R * this.outputs) : undefined;
    this.encFwd(pass, 'd', 3, a, R);
    this.encReverse(pass, 'd', 3, a, R, yb);
  }

  /** Sum of squared gradients into the norm buffer (read by gradNorm / clipping). */
  encodeGradSumSq(pass: GPUComputePassEncoder): void {
    // the sum-of-squares entries share adam.wgsl's Params; only `n` matters to them
    const u = this.uniform('norm', this.k.sumsq, 'p', this.adamValues(resolveAdam({ lr: 0 }), 1));
    const g = this.bindCached('sumsq', this.k.sumsq, { p: u.buffer, grad: this.grad, norm: this.norm });
    this.k.sumsq.dispatch(pass, g, NORM_WG * 256);
    this.k.sumsqFinal.dispatch(pass, this.bindCached('sumsqf', this.k.sumsqFinal, { norm: this.norm }), 1);
  }

  /** One Adam/AdamW step with the current grad (see ./adam.ts); increments adamSteps. */
  encodeAdam(pass: GPUComputePassEncoder, hyper: AdamHyper): void {
    const h = resolveAdam(hyper);
    if (h.clipNorm > 0) this.encodeGradSumSq(pass);
    this.steps++;
    const u = this.uniform('adam', this.k.adam, 'p', this.adamValues(h, this.steps));
    const g = this.bindCached('adam', this.k.adam, { p: u.buffer, theta: this.params, grad: this.grad, m1: this.m1, m2: this.m2, norm_in: this.norm });
    this.k.adam.dispatch(pass, g, this.nParams);
  }

  forward(x: F32View, R: number): GPUBuffer {
    submit(this.ctx, (p) => this.encodeForward(p, x, R));
    return this.y;
  }
  inputGrad(x: F32View, R: number): GPUBuffer {
    submit(this.ctx, (p) => this.encodeInputGrad(p, x, R));
    return this.g;
  }
  energyBackward(x: F32View, yBar: F32View, R: number): GPUBuffer {
    submit(this.ctx, (p) => this.encodeEnergyBackward(p, x, yBar, R));
    return this.grad;
  }
  doubleBackward(x: F32View, UE: F32View, UP: F32View, R: number, yBar?: F32View): GPUBuffer {
    submit(this.ctx, (p) => this.encodeDoubleBackward(p, x, UE, UP, R, yBar));
    return this.grad;
  }
  adamStep(hyper: AdamHyper): void {
    submit(this.ctx, (p) => this.encodeAdam(p, hyper));
  }
  /** ‖grad‖₂ (f32 sum of squares in a fixed order). */
  async gradNorm(): Promise<number> {
    submit(this.ctx, (p) => this.encodeGradSumSq(p));
    return Math.sqrt((await readF32(this.ctx, this.norm, 1, NORM_WG * 4))[0]);
  }

  /** Adam moments (first, second) and step count, e.g. for a training checkpoint. */
  async getAdamState(): Promise<AdamState> {
    return { m: await readF32(this.ctx, this.m1, this.nParams), v: await readF32(this.ctx, this.m2, this.nParams), steps: this.steps };
  }

  /** Restore the Adam state saved by getAdamState (resume after a kill). */
  setAdamState(s: AdamState): void {
    if (s.m.length !== this.nParams || s.v.length !== this.nParams) throw new Error(`adamState: moments must have ${this.nParams} elements, got ${s.m.length}, ${s.v.length}`);
    if (!Number.isInteger(s.steps) || s.steps < 0) throw new Error(`adamState.steps: must be a non-negative integer, got ${s.steps}`);
    writeBuffer(this.ctx, this.m1, s.m);
    writeBuffer(this.ctx, this.m2, s.v);
    this.steps = s.steps;
  }

  /** Zero the Adam moments and the step counter. */
  resetAdam(): void {
    const zero = new Float32Array(this.nParams);
    writeBuffer(this.ctx, this.m1, zero);
    writeBuffer(this.ctx, this.m2, zero);
    this.steps = 0;
  }

  /** Release all GPU buffers of this model. */
  destroy(): void {
    for (const b of [this.params, this.grad, this.y, this.g, this.m1, this.m2, this.norm, this.dummy, this.part, ...this.adj, ...this.z, ...this.h]) b.destroy();
    for (const u of this.uniforms.values()) u.buffer.destroy();
    this.groups.clear();
  }

  /** Completed Adam steps (t of the bias corrections). */
  get adamSteps(): number {
    return this.steps;
  }

  async getFlat(): Promise<Float32Array> {
    return readF32(this.ctx, this.params, this.nParams);
  }
  async readGrad(): Promise<Float32Array> {
    return readF32(this.ctx, this.grad, this.nParams);
  }
  /** Named tensors `layers.{l}.weight` [out, in] and `layers.{l}.bias` [out], in θ order. */
  async getWeights(): Promise<Record<string, Float32Array>> {
    return unflatten(this.arch, await this.getFlat());
  }
  /** Load named tensors (all must be present) or a flat θ. Adam state is left as is. */
  setWeights(w: Record<string, ArrayLike<number>> | ArrayLike<number>): void {
    const flat = isArrayLike(w) ? w : flatten(this.arch, w);
    if (flat.length !== this.nParams) throw new Error(`weights: flat theta has ${flat.length} elements, arch needs ${this.nParams}`);
    writeBuffer(this.ctx, this.params, Float32Array.from(flat));
  }

  // ---------------------------------------------------------------- encoding helpers

  /** Forward through all layers; S = 3 adds the tangents along a[1], a[2] (hidden layers only). */
  private encFwd(pass: GPUComputePassEncoder, tag: string, S: 1 | 3, a: View[], R: number): void {
    const nL = this.layers.length;
    this.layers.forEach((L, l) => {
      const last = l === nL - 1;
      const k = last ? this.k.fwdLast : S === 3 ? this.k.fwd3[l] : this.k.fwd1[l];
      const src: View[] = l === 0 ? a : [0, 1, 2].map((s) => ({ buffer: this.h[l - 1], offset: s * R * L.nIn }));
      const u = this.uniform(`${tag}.fwd${l}`, k, 'p', {
        M: R, N: L.nOut, K: L.nIn, w_off: L.wOff, b_off: L.bOff,
        a_off0: src[0].offset, a_off1: src[1].offset, a_off2: src[2].offset,
      });
      const g = this.bindCached(`${tag}.fwd${l}`, k, {
        p: u.buffer, theta: this.params, a0: src[0].buffer, a1: src[1].buffer, a2: src[2].buffer,
        zout: last ? this.y : this.z[l], hout: last ? this.dummy : this.h[l],
      });
      this.gemmDispatch(pass, k, g, R, L.nOut, 1);
    });
  }

  /** y and G of all R rows in one dispatch of the fused kernel (FUSED_ROWS rows per invocation). */
  private encFused(pass: GPUComputePassEncoder, k: Kernel, x: F32View, R: number): void {
    this.checkRows(R);
    const xv = this.view('x', x, R * this.arch.inputDim);
    const gr = grid(this.ctx, Math.ceil(R / FUSED_ROWS));
    const u = this.uniform('fused', k, 'p', { R, x_off: xv.offset, gridX: gr.gridX });
    k.dispatch(pass, this.bindCached('fused', k, { p: u.buffer, theta: this.params, x: xv.buffer, y: this.y, g: this.g }), gr.nx, gr.ny);
  }

  /** Output-layer adjoint seeds into adj[0]: stack 0 = yBar (P = 1), tangent stacks one-hot. */
  private encSeed(pass: GPUComputePassEncoder, tag: string, S: number, P: number, R: number, yBar?: View): void {
    const u = this.uniform(`${tag}.seed`, this.k.seed, 'sp', { R, S, P, NO: this.outputs, has_ybar: yBar ? 1 : 0, ybar_off: yBar?.offset ?? 0 });
    const g = this.bindCached(`${tag}.seed`, this.k.seed, { sp: u.buffer, ybar: yBar?.buffer ?? this.dummy, dout: this.adj[0] });
    this.k.seed.dispatch(pass, g, S * R * this.outputs);
  }

  /** Backward through layer l: adjoint stack `din` (layer l) -> `dout` (layer l-1, or raw for l = 0). */
  private encBwd(pass: GPUComputePassEncoder, key: string, k: Kernel, l: number, din: GPUBuffer, dout: GPUBuffer, R: number): void {
    const L = this.layers[l];
    const u = this.uniform(key, k, 'p', { M: R, N: L.nIn, K: L.nOut, w_off: L.wOff });
    const g = this.bindCached(key, k, { p: u.buffer, theta: this.params, dst_in: din, zst: l === 0 ? this.dummy : this.z[l - 1], dout });
    this.gemmDispatch(pass, k, g, R, L.nIn, 1);
  }

  /** Reverse pass with weight gradients (P = 1): S = 1 energy, S = 3 double backward. */
  private encReverse(pass: GPUComputePassEncoder, tag: string, S: 1 | 3, a: View[], R: number, yBar?: View): void {
    this.encSeed(pass, tag, S, 1, R, yBar);
    let cur = 0;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const L = this.layers[l];
      const src: View[] = l === 0 ? a : [0, 1, 2].map((s) => ({ buffer: this.h[l - 1], offset: s * R * L.nIn }));
      this.encWgrad(pass, `${tag}.wg${l}`, l, this.adj[cur], src, S * R, R);
      if (l > 0) {
        this.encBwd(pass, `${tag}.bwd${l}`, S === 3 ? this.k.bwdD[l - 1] : this.k.bwdE[l - 1], l, this.adj[cur], this.adj[1 - cur], R);
        cur = 1 - cur;
      }
    }
  }

  private encWgrad(pass: GPUComputePassEncoder, key: string, l: number, adj: GPUBuffer, b: View[], K: number, R: number): void {
    const L = this.layers[l];
    const k = this.k.wgrad[l];
    const N = L.nIn + 1;
    const nsBound = this.splitBound(l);
    const kChunk = Math.ceil(Math.ceil(K / Math.min(nsBound, Math.ceil(K / BK))) / BK) * BK;
    const nsplit = Math.ceil(K / kChunk);
    const u = this.uniform(key, k, 'p', {
      M: L.nOut, N, K, R, k_chunk: kChunk, nsplit, w_off: L.wOff, b_off: L.bOff,
      b_off0: b[0].offset, b_off1: b[1].offset, b_off2: b[2].offset,
    });
    const g = this.bindCached(key, k, { p: u.buffer, adj, b0: b[0].buffer, b1: b[1].buffer, b2: b[2].buffer, part: this.part });
    this.gemmDispatch(pass, k, g, L.nOut, N, nsplit);
    const gr = this.bindCached(`${key}.r`, this.k.reduce, { p: u.buffer, part_in: this.part, grad: this.grad });
    this.k.reduce.dispatch(pass, gr, L.nOut * N);
  }

  /**
   * Upper bound of the split-K factor of layer L's weight-gradient GEMM (sizes the partials): enough
   * workgroups to fill a GPU — 128 of the 64-invocation core, 256 wide ones (≈ 2 per SM on ~128 SMs).
   */
  private splitBound(l: number): number {
    const L = this.layers[l];
    const g = geometryOf(this.k.wgrad[l]);
    const tiles = Math.ceil((L.nIn + 1) / g.bn) * Math.ceil(L.nOut / g.bm);
    const target = g.wg === WIDE_WG ? 256 : 128;
    return Math.max(1, Math.min(SPLIT_MAX, Math.ceil(target / tiles)));
  }

  private gemmDispatch(pass: GPUComputePassEncoder, k: Kernel, g: GPUBindGroup, M: number, N: number, nz: number): void {
    const geo = geometryOf(k);
    k.dispatch(pass, g, geo.wg * Math.ceil(N / geo.bn), Math.ceil(M / geo.bm), nz);
  }

  private adamValues(h: ReturnType<typeof resolveAdam>, t: number) {
    return { n: this.nParams, lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, wd: h.weightDecay, bc1: 1 - h.beta1 ** t, bc2: 1 - h.beta2 ** t, clip: h.clipNorm };
  }

  private uniform(key: string, k: Kernel, name: string, values: Record<string, number>): Uniform {
    let u = this.uniforms.get(key);
    if (!u) this.uniforms.set(key, (u = new Uniform(this.ctx, k.uniformLayout(name), `mlp.${key}`)));
    return u.set(values);
  }

  private bindCached(key: string, k: Kernel, map: Record<string, GPUBuffer>): GPUBindGroup {
    const bufs = Object.values(map);
    const c = this.groups.get(key);
    if (c && c.bufs.length === bufs.length && c.bufs.every((b, i) => b === bufs[i])) return c.group;
    const group = k.bind(map as BufferMap);
    this.groups.set(key, { bufs, group });
    return group;
  }

  private view(name: string, v: F32View, count: number): View {
    const r: View = 'buffer' in v ? v : { buffer: v, offset: 0 };
    if (!(Number.isSafeInteger(r.offset) && r.offset >= 0)) throw new Error(`${name}.offset must be a non-negative integer, got ${r.offset}`);
    if ((r.offset + count) * 4 > r.buffer.size) throw new Error(`${name}: buffer holds ${r.buffer.size / 4} f32, needs ${r.offset + count} (offset ${r.offset} + ${count})`);
    return r;
  }

  private checkRows(R: number): void {
    if (!(Number.isSafeInteger(R) && R >= 1 && R <= this.maxRows)) throw new Error(`R must be an integer in [1, maxRows=${this.maxRows}], got ${R}`);
  }
}

function isArrayLike(w: unknown): w is ArrayLike<number> {
  return ArrayBuffer.isView(w) || Array.isArray(w);
}

/** Geometry a GEMM kernel was compiled with (recorded at compile time). */
const kernelGeometry = new WeakMap<Kernel, GemmGeometry>();
function geometryOf(k: Kernel): GemmGeometry {
  const g = kernelGeometry.get(k);
  if (g === undefined) throw new Error(`${k.file}#${k.entry}: not a GEMM kernel`);
  return g;
}

async function compileKernels(ctx: GpuContext, arch: MlpArch, layers: LayerLayout[], variant: GemmVariant, fusedInputGrad: boolean) {
  const ACT = ACTIVATIONS.indexOf(arch.activation);
  const ROWS = Infinity; // M of the batched layer GEMMs
  const gemm = async (file: string, M: number, N: number, consts: Record<string, number>) => {
    const geo = gemmGeometry(variant, M, N, consts.S ?? 1);
    const k = await Kernel.get(ctx, `model/${file}`, geo.entry, { ...geo.consts, ...consts });
    kernelGeometry.set(k, geo);
    return k;
  };
  const hidden = layers.slice(0, -1); // layers followed by an activation (forward index l)
  const inner = layers.slice(1); // layers with a backward to a hidden layer (index l - 1)
  const each = (ls: LayerLayout[], f: (L: LayerLayout) => Promise<Kernel>) => Promise.all(ls.map(f));
  const last = layers[layers.length - 1];
  const [fwd1, fwd3, fwdLast, bwdIG, bwdE, bwdD, bwdRaw, wgrad] = await Promise.all([
    each(hidden, (L) => gemm('mlp_fwd.wgsl', ROWS, L.nOut, { S: 1, ACT, LAST: 0 })),
    each(hidden, (L) => gemm('mlp_fwd.wgsl', ROWS, L.nOut, { S: 3, ACT, LAST: 0 })),
    gemm('mlp_fwd.wgsl', ROWS, last.nOut, { S: 1, ACT, LAST: 1 }),
    each(inner, (L) => gemm('mlp_bwd.wgsl', ROWS, L.nIn, { S: 2, P: 0, ACT, RAW: 0 })),
    each(inner, (L) => gemm('mlp_bwd.wgsl', ROWS, L.nIn, { S: 1, P: 1, ACT, RAW: 0 })),
    each(inner, (L) => gemm('mlp_bwd.wgsl', ROWS, L.nIn, { S: 3, P: 1, ACT, RAW: 0 })),
    gemm('mlp_bwd.wgsl', ROWS, layers[0].nIn, { S: 2, P: 0, ACT, RAW: 1 }),
    each(layers, (L) => gemm('mlp_wgrad.wgsl', L.nOut, L.nIn + 1, {})),
  ]);
  const [H0, H1 = 1, H2 = 1, H3 = 1] = arch.hidden; // unused widths: any valid value
  const fusedConsts = { D: arch.inputDim, P: outputCount(arch), NH: arch.hidden.length, H0, H1, H2, H3, ACT };
  const [seed, reduce, adam, sumsq, sumsqFinal, fused] = await Promise.all([
    Kernel.get(ctx, 'model/mlp_bwd.wgsl', 'seed'),
    Kernel.get(ctx, 'model/mlp_wgrad.wgsl', 'reduce'),
    Kernel.get(ctx, 'model/adam.wgsl', 'adam'),
    Kernel.get(ctx, 'model/adam.wgsl', 'sumsq_partial'),
    Kernel.get(ctx, 'model/adam.wgsl', 'sumsq_final'),
    fusedInputGrad ? Kernel.get(ctx, 'model/mlp_fused.wgsl', 'main', fusedConsts) : undefined,
  ]);
  return { fwd1, fwd3, fwdLast, bwdIG, bwdE, bwdD, bwdRaw, wgrad, seed, reduce, adam, sumsq, sumsqFinal, fused };
}
