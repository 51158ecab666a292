/**
 * GPU Landau-Lifshitz engine (SPEC §3): host side of shaders/dynamics/llg.wgsl and sample.wgsl.
 *
 * - State: two ping-pong spin buffers (f32, packed xyz), each with a [step, hasHistory] counter
 *   buffer; the kernels read the counter of their input and write that of their output, so many
 *   steps are recorded per submit with no per-step uniform and RNG counters stay exact.
 * - run(n, {sampleEvery: k}) records n steps (1 dispatch per step for midpoint, 2 for heun and
 *   depondt) plus one sampling dispatch every k steps, in command buffers of ≤ CHUNK steps, and
 *   reads back the divergence flag and the samples once at the end.
 * - Divergence: if any output spin is non-finite or non-unit, the kernels stop writing; run() then
 *   throws naming the step and the engine keeps the last good state (the input of that step).
 * - Step hook (setStepHook): a callback that records extra dispatches into the same compute pass
 *   before every step, given the buffer holding S_n, e.g. a GPU field model writing
 *   externalFieldBuffer from S_n (src/dynamics/mlDriven.ts). The field is then F[S_n], frozen over
 *   the step's stages (as for NEGF driving, driven.ts), with no read-back.
 * Precision: state and fields in f32; the float64 reference is twin.ts (same algorithm, same noise);
 * they agree to < 1e-6 over ~25 steps and |S| stays 1 to ~1e-7 (each update renormalises).
 * Cost on lavapipe (dispatch-bound for N ≲ 10³): ~40-60 µs per midpoint step, ~75 µs per Heun or
 * Depondt step (two dispatches).
 */
import type { GpuContext } from '../gpu/context.js';
import { Kernel, Uniform } from '../gpu/kernel.js';
import { storageBuffer, writeBuffer, readF32, readU32 } from '../gpu/buffers.js';
import { seedKey } from '../gpu/rng.js';
import type { Lattice } from '../lattice/lattice.js';
import { resolveParams, noiseSigma, type LLParams, type LLParamsInput } from './params.js';
import { localEnergy } from './fields.js';
import { checkSpins, checkField, historyKept } from './validate.js';

const FILE = 'dynamics/llg.wgsl';
const SAMPLE_FILE = 'dynamics/sample.wgsl';
const NO_FLAG = 0xffffffff;
/** steps per command buffer */
const CHUNK = 2048;

/** One GPU sample: means over the lattice and column profiles (Lx each). */
export interface LLSample {
  /** step counter of the sampled state */
  step: number;
  /** magnetisation (mean S) */
  m: [number, number, number];
  /** lattice mean of c_i */
  cMean: number;
  sx: Float32Array;
  sy: Float32Array;
  sz: Float32Array;
  /** column mean of c_i = mean_j S_i·S_j over existing nearest neighbours */
  c: Float32Array;
}

export interface RunOptions {
  /** record a sample every k steps (0 or absent: no samples) */
  sampleEvery?: number;
}

/**
 * Records dispatches before each step into the step's compute pass; `spins` is the buffer holding
 * the state S_n the step starts from. It must not write the spin buffers.
 */
export type StepHook = (pass: GPUComputePassEncoder, spins: GPUBuffer) => void;

export class LLDivergenceError extends Error {
  constructor(readonly step: number) {
    super(`LL dynamics diverged at step ${step} (non-finite or non-unit spin); the engine keeps the state at step ${step}`);
  }
}

interface Kernels {
  midpoint: Kernel;
  heun1: Kernel;
  heun2: Kernel;
  dep1: Kernel;
  dep2: Kernel;
  sample: Kernel;
}

export class LLEngine {
  private p: LLParams;
  private readonly spins: [GPUBuffer, GPUBuffer];
  private readonly ctrs: [GPUBuffer, GPUBuffer];
  private readonly pred: GPUBuffer;
  private readonly hist: GPUBuffer;
  private readonly nbr: GPUBuffer;
  private readonly ext: GPUBuffer;
  private readonly flag: GPUBuffer;
  private samples: GPUBuffer;
  private readonly uni: Uniform;
  private readonly suni: Uniform;
  private groups!: { midpoint: GPUBindGroup[]; stage1: GPUBindGroup[]; stage2: GPUBindGroup[]; sample: GPUBindGroup[] };
  private cur = 0;
  private useExt = false;
  private stepCount = 0;
  private hook: StepHook | null = null;

  private constructor(
    readonly ctx: GpuContext,
    readonly lattice: Lattice,
    params: LLParams,
    private readonly k: Kernels,
  ) {
    const N = lattice.N;
    this.p = params;
    const init = new Float32Array(3 * N);
    for (let i = 0; i < N; i++) init[3 * i + 2] = 1;
    this.spins = [storageBuffer(ctx, init, 'll.spinsA'), storageBuffer(ctx, init, 'll.spinsB')];
    this.ctrs = [storageBuffer(ctx, new Uint32Array(4), 'll.ctrA'), storageBuffer(ctx, new Uint32Array(4), 'll.ctrB')];
    this.pred = storageBuffer(ctx, 12 * N, 'll.predictor');
    this.hist = storageBuffer(ctx, 12 * N, 'll.history');
    this.nbr = storageBuffer(ctx, lattice.neighbours, 'll.neighbours');
    this.ext = storageBuffer(ctx, 12 * N, 'll.external');
    this.flag = storageBuffer(ctx, Uint32Array.of(NO_FLAG), 'll.flag');
    this.samples = storageBuffer(ctx, 16, 'll.samples');
    this.uni = new Uniform(ctx, k.midpoint.uniformLayout('prm'), 'll.params');
    this.suni = new Uniform(ctx, k.sample.uniformLayout('sp'), 'll.sampleParams');
    this.upload();
    this.bindAll();
  }

  /** Compile (cached) the kernels and allocate the state; spins start along +z. */
  static async create(ctx: GpuContext, lattice: Lattice, params: LLParamsInput): Promise<LLEngine> {
    const p = resolveParams(params);
    const [midpoint, heun1, heun2, dep1, dep2, sample] = await Promise.all([
      Kernel.get(ctx, FILE, 'midpoint'),
      Kernel.get(ctx, FILE, 'stage1', { METHOD: 0 }),
      Kernel.get(ctx, FILE, 'stage2', { METHOD: 0 }),
      Kernel.get(ctx, FILE, 'stage1', { METHOD: 1 }),
      Kernel.get(ctx, FILE, 'stage2', { METHOD: 1 }),
      Kernel.get(ctx, SAMPLE_FILE, 'sample'),
    ]);
    return new LLEngine(ctx, lattice, p, { midpoint, heun1, heun2, dep1, dep2, sample });
  }

  get params(): Readonly<LLParams> {
    return this.p;
  }
  /** steps taken so far (the noise counter of the current state) */
  get step(): number {
    return this.stepCount;
  }
  /** the buffer holding the current state (3N f32), e.g. for an NEGF/ML kernel to read */
  get spinBuffer(): GPUBuffer {
    return this.spins[this.cur];
  }
  /** the per-site external field buffer (3N f32) that other GPU modules may write directly;
   * it is read only while enabled with setExternalField(...) or enableExternalField(true) */
  get externalFieldBuffer(): GPUBuffer {
    return this.ext;
  }

  setParams(update: Partial<LLParams>): void {
    const next = resolveParams(update, this.p);
    const keep = historyKept(this.p, next);
    this.p = next;
    this.upload();
    if (!keep) this.writeCounter(false);
  }

  /**
   * Set all spins (3N; each normalised, except f32 input already unit to 1e-6, which is uploaded
   * bit-exact). Resets the midpoint field history. `step` sets the step
   * counter (the noise stream position), e.g. when resuming from a checkpoint.
   */
  setSpins(s: ArrayLike<number>, step?: number): void {
    if (step !== undefined) {
      if (!Number.isInteger(step) || step < 0 || step >= 2 ** 32) throw new Error(`setSpins.step: must be an integer in [0, 2^32), got ${step}`);
      this.stepCount = step;
    }
    const unit = checkSpins(s, this.lattice.N);
    // f32 input that is already unit to f32 precision (e.g. a checkpoint) is uploaded bit-exact
    let exact = s instanceof Float32Array;
    for (let i = 0; exact && i < this.lattice.N; i++) exact = Math.abs(Math.hypot(s[3 * i], s[3 * i + 1], s[3 * i + 2]) - 1) < 1e-6;
    writeBuffer(this.ctx, this.spins[this.cur], exact ? (s as Float32Array) : Float32Array.from(unit));
    this.writeCounter(false);
  }

  async getSpins(): Promise<Float32Array> {
    return readF32(this.ctx, this.spins[this.cur], 3 * this.lattice.N);
  }

  /** Upload a per-site external field (3N) and enable it, or pass null to disable it. */
  setExternalField(f: ArrayLike<number> | null): void {
    if (f) writeBuffer(this.ctx, this.ext, Float32Array.from(checkField(f, this.lattice.N)));
    this.enableExternalField(f !== null);
  }

  /** Read (or skip reading) externalFieldBuffer in the step kernels. */
  enableExternalField(on: boolean): void {
    this.useExt = on;
    this.upload();
  }

  /** Install (or remove with null) the per-step hook; see StepHook. */
  setStepHook(hook: StepHook | null): void {
    this.hook = hook;
  }

  /** Energy of the local terms (float64 on the host, from the current state). */
  async energy(): Promise<number> {
    return localEnergy(this.lattice, this.p, await this.getSpins());
  }

  /**
   * Advance nSteps, sampling every `sampleEvery` steps on the GPU. Throws LLDivergenceError (state
   * kept at the failing step) if the dynamics produced a non-finite or non-unit spin.
   */
  async run(nSteps: number, opts: RunOptions = {}): Promise<{ samples: LLSample[] }> {
    if (!Number.isInteger(nSteps) || nSteps < 0) throw new Error(`run.nSteps must be a non-negative integer, got ${nSteps}`);
    const every = opts.sampleEvery ?? 0;
    if (!Number.isInteger(every) || every < 0) throw new Error(`run.sampleEvery must be a non-negative integer, got ${every}`);
    if (this.stepCount + nSteps > 0xffffffff) throw new Error('run.nSteps: the u32 step counter would overflow');
    const { Lx, Ly } = this.lattice;
    const nRec = every ? Math.floor(nSteps / every) : 0;
    const stride = 4 + 4 * Lx;
    if (nRec) this.ensureSamples(nRec * stride * 4);
    this.suni.set({ lx: Lx, ly: Ly, runStart: this.stepCount, every: Math.max(every, 1), maxRecords: nRec });
    writeBuffer(this.ctx, this.flag, Uint32Array.of(NO_FLAG));
    const start = this.stepCount, cur0 = this.cur;
    const g = this.groups;
    const stages: [Kernel, GPUBindGroup[]][] =
      this.p.integrator === 'midpoint'
        ? [[this.k.midpoint, g.midpoint]]
        : this.p.integrator === 'heun'
          ? [[this.k.heun1, g.stage1], [this.k.heun2, g.stage2]]
          : [[this.k.dep1, g.stage1], [this.k.dep2, g.stage2]];
    const N = this.lattice.N;
    for (let done = 0; done < nSteps; ) {
      const enc = this.ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      const end = Math.min(nSteps, done + CHUNK);
      for (; done < end; done++) {
        this.hook?.(pass, this.spins[this.cur]);
        for (const [k, groups] of stages) k.dispatch(pass, groups[this.cur], this.lattice.Lx, this.lattice.Ly);
        this.cur ^= 1;
        if (every && (done + 1) % every === 0) this.k.sample.dispatch(pass, g.sample[this.cur], 64);
      }
      pass.end();
      this.ctx.device.queue.submit([enc.finish()]);
    }
    const flag = (await readU32(this.ctx, this.flag, 1))[0];
    const raw = nRec ? await readF32(this.ctx, this.samples, nRec * stride) : new Float32Array(0);
    const good = flag === NO_FLAG ? nSteps : flag - start;
    if (flag !== NO_FLAG) {
      this.cur = cur0 ^ (good & 1);
      this.stepCount = flag;
      this.writeCounter(false);
      throw new LLDivergenceError(flag);
    }
    this.stepCount += nSteps;
    const samples: LLSample[] = [];
    for (let r = 0; r < nRec; r++) {
      const rec = raw.subarray(r * stride, (r + 1) * stride);
      const col = (k: number) => Float32Array.from({ length: Lx }, (_, x) => rec[4 + 4 * x + k]);
      samples.push({ step: start + (r + 1) * every, m: [rec[0], rec[1], rec[2]], cMean: rec[3], sx: col(0), sy: col(1), sz: col(2), c: col(3) });
    }
    return { samples };
  }

  /** Release the GPU buffers. */
  destroy(): void {
    for (const b of [...this.spins, ...this.ctrs, this.pred, this.hist, this.nbr, this.ext, this.flag, this.samples, this.uni.buffer, this.suni.buffer]) b.destroy();
  }

  private upload(): void {
    const p = this.p;
    const [key0, key1] = seedKey(p.seed);
    this.uni.set({
      useExt: this.useExt ? 1 : 0,
      key0,
      key1,
      dt: p.dt,
      alpha: p.alpha,
      sigma: noiseSigma(p),
      JH: p.JH,
      B: p.B,
      K: p.K,
      e: p.easyAxis,
      Kh: p.Kh,
      h: p.hardAxis,
      lx: this.lattice.Lx,
      ly: this.lattice.Ly,
      pbcY: this.lattice.periodicY ? 1 : 0,
    });
  }

  /** Write [step, hasHistory] of the current state. */
  private writeCounter(hasHistory: boolean): void {
    writeBuffer(this.ctx, this.ctrs[this.cur], Uint32Array.of(this.stepCount, hasHistory ? 1 : 0, 0, 0));
  }

  private ensureSamples(bytes: number): void {
    if (this.samples.size >= bytes) return;
    this.samples.destroy();
    this.samples = storageBuffer(this.ctx, bytes, 'll.samples');
    this.bindAll();
  }

  private bindAll(): void {
    const { midpoint, heun1, heun2, sample } = this.k;
    const common = { prm: this.uni.buffer, ext: this.ext, hist: this.hist, flag: this.flag };
    const groups = { midpoint: [] as GPUBindGroup[], stage1: [] as GPUBindGroup[], stage2: [] as GPUBindGroup[], sample: [] as GPUBindGroup[] };
    for (const c of [0, 1]) {
      const io = { sIn: this.spins[c], ctrIn: this.ctrs[c] };
      const out = { sOut: this.spins[1 - c], ctrOut: this.ctrs[1 - c] };
      groups.midpoint.push(midpoint.bind({ ...common, ...io, ...out }));
      // heun and depondt share these groups (same entry points, equal layouts, different METHOD)
      groups.stage1.push(heun1.bind({ ...common, ...io, sOut: this.pred }));
      groups.stage2.push(heun2.bind({ ...common, ...io, ...out, sPred: this.pred }));
      groups.sample.push(sample.bind({ sp: this.suni.buffer, spins: this.spins[c], nbr: this.nbr, ctr: this.ctrs[c], samples: this.samples, flag: this.flag }));
    }
    this.groups = groups;
  }
}
