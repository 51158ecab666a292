/**
 * Batched recursive Green's function (RGF) on the GPU: shaders/negf/rgf.wgsl (sweeps) and
 * shaders/negf/reduce.wgsl (weighted energy sums). float64 twin: ./gpuTwin.ts (dense inversion).
 *
 * Conventions (SPEC §1-§2, t = ħ = 1): slices are columns x = 0..Lx-1; a slice has M = 2*Ly
 * orbitals, orbital o = 2*y + s (s = 0 up, 1 down); site i = x + Lx*y. Slice Hamiltonian: hopping
 * -t between y and y+1 (wrapping only if periodicY && Ly >= 3), exchange -J S_i.sigma on each site's
 * 2x2 block, optional onsite v_i; inter-slice coupling -t*I. Sigma_L(z) acts on slice 0 and
 * Sigma_R(z) on slice Lx-1 (general M x M complex per energy, row-major, supplied by the caller);
 * Gamma_a = i(Sigma_a - Sigma_a^+). G = [z - H - Sigma_L - Sigma_R]^-1, A_a = G Gamma_a G^+.
 *
 * A run evaluates K energies z_k once and forms any number of weight sets from them (e.g. the K15
 * and the embedded G7 rule of a panel, or many panels at once). For weight set s over energies
 * [k0, k0 + len) and each configuration b the kernels return
 *   gdiag[b][i][s][s'] = sum_k wG_k  G(z_k)_{(i,s),(i,s')}          (wG complex)
 *   aL[b][i][s][s']    = sum_k wL_k  A_L(z_k)_{(i,s),(i,s')}        (wL real; aR alike with wR)
 *   bond[b][x][a][c]   = sum_k w_ak  Tr[sigma_c (A_a)_{x+1,x}]       (w_L = wL, w_R = wR; x = 0..Lx-2, a = L,R,
 *                        c = 0 (identity), x, y, z; trace over the orbitals of the slice;
 *                        (A_a)_{x+1,x} = rows of slice x+1, columns of slice x)
 * all complex (re, im interleaved). An energy whose weights vanish in every set skips that part of
 * the work (e.g. complex-contour points need only G).
 *
 * Precision budget (f32 everywhere on the GPU): block inversions by Gauss-Jordan with partial
 * pivoting, relative error ~1e-7 * cond(block); measured against the f64 twin (gpuTwin.ts):
 * max |GPU - f64| / max |f64| = 1e-7..1e-6 per output family (tests/negf-gpu-rgf.test.ts, bound
 * 1e-4). Energy sums are Kahan-compensated (reduce.wgsl; the compensation is applied in f64 on the
 * host): the error stays at ~1e-7 up to K = 4096 energies, where plain f32 adds reach 6e-7..1e-6.
 * No long products of Green's-function blocks are formed, and G_xx comes from an inversion of D_x
 * minus both connected self-energies rather than from g^L + g^L G g^L, which can cancel
 * catastrophically in f32 when a left-connected block is near-singular (weakly broadened states
 * behind an insulating region). Blocks are nonsingular when Im z > 0 or the leads broaden every
 * state; an exactly singular block gives non-finite sums.
 *
 * Work decomposition: the energies are processed in chunks whose per-energy outputs fit the output
 * budget; per chunk one sweep dispatch of B x P workgroups (workgroup (p, b) owns one scratch slot
 * and takes the chunk's energies p, p + P, ...; P = min(chunk, lanes), lanes as many as the scratch
 * budget allows) writes the unweighted outputs of every energy, and one reduce dispatch adds each
 * weight set's share to its Kahan accumulators. All chunks go into one command buffer (one submit).
 */
import type { GpuContext } from '../gpu/context.js';
import { Kernel, Uniform } from '../gpu/kernel.js';
import { storageBuffer, writeBuffer, readF32 } from '../gpu/buffers.js';

export interface RgfModel {
  Lx: number;
  Ly: number;
  periodicY: boolean;
  t: number;
  J: number;
  /** onsite energies v_i, length Lx*Ly (default 0) */
  onsite?: ArrayLike<number>;
}

export interface RgfCapacity {
  /** largest number of configurations per run */
  maxBatch: number;
  /** largest number of energies per run */
  maxEnergies: number;
  /** largest number of weight sets per run (default 1) */
  maxSets?: number;
  /**
   * bound on the sweep scratch in bytes (default: min(1 GiB, device binding limit) on hardware,
   * 64 MiB on software adapters, which run few workgroups at a time)
   */
  scratchBytes?: number;
  /** bound on the per-energy output buffer of one chunk in bytes (default as scratchBytes, 256 MiB on hardware) */
  outputBytes?: number;
  /**
   * invocations per workgroup ('block': see below; 'lane': 8 on software adapters, one SIMD vector
   * of lavapipe, else 64); 'block' default 64 for blocks up to 16 wide and 256 above on hardware
   * (every element of a block has its own invocation during the inversion steps), 8 on software
   * adapters (lavapipe runs a workgroup as WG/8 coroutines and a barrier costs ~0.1 us at 8 but ~4 us
   * at 64; measured 2x faster overall)
   */
  workgroupSize?: number;
  /**
   * sweep kernel: 'block' (rgf.wgsl: one workgroup per energy lane, every block element its own
   * invocation, barriers between steps) or 'lane' (rgf_lane.wgsl: one invocation per energy lane,
   * blocks in function memory, no barriers; M <= 16 only). Default: the environment variable
   * NEQSPIN_RGF_KERNEL if set, else 'lane' on software adapters when M <= 16 (measured 5-10x faster
   * on lavapipe, BENCHMARKS.md) and 'block' otherwise (hardware GPUs: not yet measured for 'lane').
   */
  kernel?: RgfKernel;
}

export type RgfKernel = 'block' | 'lane';
/** widest slice (M = 2*Ly orbitals) of the 'lane' kernel (LCAP in rgf_lane.wgsl) */
export const RGF_LANE_MAX_M = 16;

export interface RgfEnergies {
  /** z_k interleaved (re, im), length 2K */
  z: Float64Array;
  /** complex weight of G_ii, interleaved, length 2K */
  wG: Float64Array;
  /** real weights of A_L, A_R, length K */
  wL: Float64Array;
  wR: Float64Array;
}

/** Weights of energies [k0, k0 + wL.length) of a run (wG complex interleaved, wL, wR real). */
export interface RgfWeightSet {
  k0: number;
  wG: Float64Array;
  wL: Float64Array;
  wR: Float64Array;
}

export interface RgfSums {
  B: number;
  /** [B][N][2][2] complex (re, im interleaved) */
  gdiag: Float64Array;
  aL: Float64Array;
  aR: Float64Array;
  /** [B][Lx-1][2 (L, R)][4 (1, sx, sy, sz)] complex */
  bond: Float64Array;
}

/** Layout of one configuration's row of the output buffer, in complex (vec2<f32>) elements. */
export function rgfOutputLayout(Lx: number, Ly: number) {
  const N = Lx * Ly;
  return { gdiag: 0, aL: 4 * N, aR: 8 * N, bond: 12 * N, perConfig: 12 * N + 8 * (Lx - 1) };
}

/** Workgroup memory of the sweep for block capacity MCAP (see rgf.wgsl). */
function workgroupBytes(mcap: number): number {
  return 8 * mcap * mcap + 56 * mcap + 12;
}

/**
 * Block capacity (override MCAP) for M orbitals: a few size classes, so that one compiled pipeline
 * serves several widths (compilation is slow on software adapters) without reserving 20 KiB of
 * workgroup memory for narrow samples on real GPUs.
 */
function blockCapacity(M: number): number {
  for (const c of [8, 16, 32, 48]) if (M <= c) return c;
  return M;
}

const isInt = (v: number, lo: number) => Number.isInteger(v) && v >= lo;

/** Uniforms and bind groups of one energy chunk of a run. */
interface Chunk {
  sweepU: Uniform;
  sweepG: GPUBindGroup;
  reduceU: Uniform;
  reduceG: GPUBindGroup;
}

export class GpuRgf {
  readonly M: number;
  readonly N: number;
  /** energy lanes: workgroups (and scratch slots) per configuration; lane p takes energies p, p + lanes, ... of a chunk */
  readonly lanes: number;
  /** energies per chunk (per-energy output buffer capacity) */
  readonly chunkEnergies: number;
  /** Kahan pairs (sum, compensation) of every weight set, [maxSets][maxBatch][perConfig] vec4<f32>; valid after enqueue() */
  readonly output: GPUBuffer;
  readonly layout: ReturnType<typeof rgfOutputLayout>;
  private readonly maxSets: number;
  private readonly chunks: Chunk[] = [];
  private last = { B: 0, S: 0 };

  private constructor(
    readonly kernel: RgfKernel,
    readonly ctx: GpuContext,
    readonly model: Readonly<RgfModel>,
    readonly cap: Readonly<RgfCapacity>,
    private readonly sweepK: Kernel,
    private readonly reduceK: Kernel,
    private readonly slotStride: number,
    lanes: number,
    chunkEnergies: number,
    private readonly buf: { spins: GPUBuffer; onsite: GPUBuffer; epts: GPUBuffer; sigma: GPUBuffer; scr: GPUBuffer; xout: GPUBuffer; sets: GPUBuffer; wts: GPUBuffer },
  ) {
    this.M = 2 * model.Ly;
    this.N = model.Lx * model.Ly;
    this.lanes = lanes;
    this.chunkEnergies = chunkEnergies;
    this.layout = rgfOutputLayout(model.Lx, model.Ly);
    this.maxSets = cap.maxSets ?? 1;
    this.output = storageBuffer(ctx, this.maxSets * cap.maxBatch * this.layout.perConfig * 16, 'rgf.acc');
  }

  static async create(ctx: GpuContext, model: RgfModel, cap: RgfCapacity): Promise<GpuRgf> {
    const { Lx, Ly } = model;
    if (!isInt(Lx, 1)) throw new Error(`Lx: must be an integer >= 1 (got ${Lx})`);
    if (!isInt(Ly, 1)) throw new Error(`Ly: must be an integer >= 1 (got ${Ly})`);
    if (!Number.isFinite(model.t) || model.t === 0) throw new Error(`t: must be finite and nonzero (got ${model.t})`);
    if (!Number.isFinite(model.J)) throw new Error(`J: must be finite (got ${model.J})`);
    if (!isInt(cap.maxBatch, 1)) throw new Error(`maxBatch: must be an integer >= 1 (got ${cap.maxBatch})`);
    if (!isInt(cap.maxEnergies, 1)) throw new Error(`maxEnergies: must be an integer >= 1 (got ${cap.maxEnergies})`);
    if (!isInt(cap.maxSets ?? 1, 1)) throw new Error(`maxSets: must be an integer >= 1 (got ${cap.maxSets})`);
    const N = Lx * Ly;
    const M = 2 * Ly;
    const onsite = new Float32Array(N);
    if (model.onsite !== undefined) {
      if (model.onsite.length !== N) throw new Error(`onsite: length ${model.onsite.length}, expected Lx*Ly = ${N}`);
      for (let i = 0; i < N; i++) {
        if (!Number.isFinite(model.onsite[i])) throw new Error(`onsite: entry ${i} is not finite`);
        onsite[i] = model.onsite[i];
      }
    }
    const lim = ctx.device.limits;
    const soft = ctx.info.software;
    const env = process.env.NEQSPIN_RGF_KERNEL;
    if (env !== undefined && env !== '' && env !== 'lane' && env !== 'block') throw new Error(`NEQSPIN_RGF_KERNEL: must be 'lane' or 'block' (got '${env}')`);
    const kernel: RgfKernel = cap.kernel ?? (env === 'lane' || env === 'block' ? env : soft && M <= RGF_LANE_MAX_M ? 'lane' : 'block');
    if (kernel !== 'lane' && kernel !== 'block') throw new Error(`kernel: must be 'lane' or 'block' (got '${kernel}')`);
    if (kernel === 'lane' && M > RGF_LANE_MAX_M) throw new Error(`Ly: the 'lane' RGF kernel handles Ly <= ${RGF_LANE_MAX_M / 2} (got ${Ly})`);
    const mcap = blockCapacity(M);
    if (kernel === 'block' && workgroupBytes(mcap) > lim.maxComputeWorkgroupStorageSize) {
      throw new Error(`Ly: ${Ly} needs ${workgroupBytes(mcap)} B of workgroup memory, device allows ${lim.maxComputeWorkgroupStorageSize}`);
    }
    const wg = cap.workgroupSize ?? (soft ? 8 : kernel === 'lane' ? 64 : Math.min(mcap > 16 ? 256 : 64, lim.maxComputeInvocationsPerWorkgroup));
    if (!isInt(wg, 1) || wg > lim.maxComputeInvocationsPerWorkgroup) throw new Error(`workgroupSize: invalid (${wg})`);
    // register tile of the block products: the tiles of an MCAP-wide block about fill the workgroup
    const tile = Math.min(4, Math.max(1, Math.ceil(mcap / Math.floor(Math.sqrt(wg)))));

    const slotStride = (2 * Lx + 11) * M * M;
    const bindLimit = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    const dflt = soft ? 64 * 2 ** 20 : 2 ** 30;
    const budget = Math.min(cap.scratchBytes ?? dflt, bindLimit);
    const nOut = rgfOutputLayout(Lx, Ly).perConfig;
    const lanes = Math.min(cap.maxEnergies, Math.floor(budget / (cap.maxBatch * slotStride * 8)));
    if (lanes < 1) throw new Error(`scratchBytes: ${budget} B cannot hold one energy lane for maxBatch = ${cap.maxBatch} (${cap.maxBatch * slotStride * 8} B)`);
    const outBudget = Math.min(cap.outputBytes ?? (soft ? dflt : 2 ** 28), bindLimit);
    const chunkEnergies = Math.min(cap.maxEnergies, Math.floor(outBudget / (cap.maxBatch * nOut * 8)));
    if (chunkEnergies < 1) throw new Error(`outputBytes: ${outBudget} B cannot hold the outputs of one energy for maxBatch = ${cap.maxBatch}`);
    const maxSets = cap.maxSets ?? 1;

    const [sweepK, reduceK] = await Promise.all([
      kernel === 'lane'
        ? Kernel.get(ctx, 'negf/rgf_lane.wgsl', 'sweep', { WG: wg })
        : Kernel.get(ctx, 'negf/rgf.wgsl', 'sweep', { MCAP: mcap, WG: wg, TILE: tile }),
      Kernel.get(ctx, 'negf/reduce.wgsl', 'reduce'),
    ]);
    const buf = {
      spins: storageBuffer(ctx, cap.maxBatch * 3 * N * 4, 'rgf.spins'),
      onsite: storageBuffer(ctx, onsite, 'rgf.onsite'),
      epts: storageBuffer(ctx, cap.maxEnergies * 16, 'rgf.energies'),
      sigma: storageBuffer(ctx, 2 * cap.maxEnergies * M * M * 8, 'rgf.sigma'),
      scr: storageBuffer(ctx, cap.maxBatch * lanes * slotStride * 8, 'rgf.scratch'),
      xout: storageBuffer(ctx, chunkEnergies * cap.maxBatch * nOut * 8, 'rgf.xout'),
      sets: storageBuffer(ctx, maxSets * 16, 'rgf.sets'),
      wts: storageBuffer(ctx, cap.maxEnergies * 16, 'rgf.weights'),
    };
    return new GpuRgf(kernel, ctx, { ...model }, { ...cap }, sweepK, reduceK, slotStride, lanes, chunkEnergies, buf);
  }

  /** make the weight buffer hold n weights (grown on demand; the reduce bind groups are rebuilt) */
  private ensureWeights(n: number): void {
    if (this.buf.wts.size >= 16 * n) return;
    this.buf.wts.destroy();
    this.buf.wts = storageBuffer(this.ctx, 16 * n, 'rgf.weights');
    for (const c of this.chunks) {
      c.reduceG = this.reduceK.bind({ prm: c.reduceU.buffer, xin: this.buf.xout, sets: this.buf.sets, wts: this.buf.wts, acc: this.output });
    }
  }

  /** uniforms and bind groups of chunk c (created on first use) */
  private chunk(c: number): Chunk {
    while (this.chunks.length <= c) {
      const { ctx, buf } = this;
      const sweepU = new Uniform(ctx, this.sweepK.uniformLayout('prm'), 'rgf.sweep');
      const reduceU = new Uniform(ctx, this.reduceK.uniformLayout('prm'), 'rgf.reduce');
      const { sets, wts, xout, ...sweepBufs } = buf;
      this.chunks.push({
        sweepU, reduceU,
        sweepG: this.sweepK.bind({ prm: sweepU.buffer, ...sweepBufs, xout }),
        reduceG: this.reduceK.bind({ prm: reduceU.buffer, xin: xout, sets, wts, acc: this.output }),
      });
    }
    return this.chunks[c];
  }

  /**
   * Upload one batch and submit the sweeps and weighted sums of weight sets `sets` over energies z
   * (interleaved, K points) with self-energies sigmaL, sigmaR (K·M·M complex each; pass the same
   * array for identical leads to upload it once); the Kahan pairs
   * stay on the GPU in `output` (set-major, then configuration). Returns the batch size B.
   */
  enqueueSets(spins: Float32Array, z: Float64Array, sigmaL: Float32Array, sigmaR: Float32Array, sets: RgfWeightSet[]): number {
    const { N, M } = this;
    const { Lx, Ly } = this.model;
    if (spins.length === 0 || spins.length % (3 * N) !== 0) throw new Error(`spins: length ${spins.length} is not a positive multiple of 3*N = ${3 * N}`);
    const B = spins.length / (3 * N);
    if (B > this.cap.maxBatch) throw new Error(`spins: batch ${B} exceeds maxBatch ${this.cap.maxBatch}`);
    for (let i = 0; i < spins.length; i++) if (!Number.isFinite(spins[i])) throw new Error(`spins: entry ${i} is not finite`);
    const K = z.length / 2;
    if (!Number.isInteger(K) || K < 1 || K > this.cap.maxEnergies) throw new Error(`energies.z: ${z.length / 2} energies, allowed 1..${this.cap.maxEnergies}`);
    for (let i = 0; i < 2 * K; i++) if (!Number.isFinite(z[i])) throw new Error(`energies.z: entry ${i} is not finite`);
    const S = sets.length;
    if (S < 1 || S > this.maxSets) throw new Error(`sets: ${S} weight sets, allowed 1..${this.maxSets}`);
    const need = new Uint8Array(K);
    const setTab = new Uint32Array(4 * S);
    const nW = sets.reduce((n, w) => n + w.wL.length, 0);
    const wts = new Float32Array(4 * nW);
    let woff = 0;
    sets.forEach((w, s) => {
      const len = w.wL.length;
      if (!isInt(w.k0, 0) || w.k0 + len > K) throw new Error(`sets[${s}].k0: range [${w.k0}, ${w.k0 + len}) outside the ${K} energies`);
      const want: [keyof RgfEnergies & keyof RgfWeightSet, number][] = [['wG', 2 * len], ['wR', len], ['wL', len]];
      for (const [name, n] of want) {
        const a = w[name];
        if (a.length !== n) throw new Error(`energies.${name}: length ${a.length}, expected ${n}`);
        for (let i = 0; i < n; i++) if (!Number.isFinite(a[i])) throw new Error(`energies.${name}: entry ${i} is not finite`);
      }
      for (let j = 0; j < len; j++) {
        const q = [w.wG[2 * j], w.wG[2 * j + 1], w.wL[j], w.wR[j]];
        wts.set(q, 4 * (woff + j));
        need[w.k0 + j] |= (q[0] !== 0 || q[1] !== 0 ? 1 : 0) | (q[2] !== 0 ? 2 : 0) | (q[3] !== 0 ? 4 : 0);
      }
      setTab.set([w.k0, len, woff, 0], 4 * s);
      woff += len;
    });
    for (const [name, s] of [['sigmaL', sigmaL], ['sigmaR', sigmaR]] as const) {
      if (s.length !== 2 * K * M * M) throw new Error(`${name}: length ${s.length}, expected 2*K*M*M = ${2 * K * M * M}`);
      for (let i = 0; i < s.length; i++) if (!Number.isFinite(s[i])) throw new Error(`${name}: entry ${i} is not finite`);
    }
    const ep = new Float32Array(4 * K);
    for (let k = 0; k < K; k++) ep.set([z[2 * k], z[2 * k + 1], need[k], 0], 4 * k);
    // identical leads (the same array) are uploaded once
    const sigR = sigmaR === sigmaL ? 0 : K * M * M;
    const { ctx, buf } = this;
    writeBuffer(ctx, buf.spins, spins);
    writeBuffer(ctx, buf.epts, ep);
    writeBuffer(ctx, buf.sigma, sigmaL);
    if (sigR) writeBuffer(ctx, buf.sigma, sigmaR, 8 * sigR);
    writeBuffer(ctx, buf.sets, setTab);
    this.ensureWeights(nW);
    writeBuffer(ctx, buf.wts, wts);

    const nOut = this.layout.perConfig;
    const enc = ctx.device.createCommandEncoder();
    enc.clearBuffer(this.output, 0, S * B * nOut * 16);
    for (let c = 0, kBase = 0; kBase < K; c++, kBase += this.chunkEnergies) {
      const nE = Math.min(this.chunkEnergies, K - kBase);
      const P = Math.min(this.lanes, nE);
      const ch = this.chunk(c);
      ch.sweepU.set({
        Lx, Ly, periodicY: this.model.periodicY ? 1 : 0, kBase, nE, nB: B, P, slotStride: this.slotStride, nOut,
        t: this.model.t, J: this.model.J, M, sigR,
      });
      ch.reduceU.set({ nB: B, nOut, N, kBase, nE, opaque: 0 });
      const pass = enc.beginComputePass();
      // block: one workgroup per lane; lane: one invocation per lane
      this.sweepK.dispatch(pass, ch.sweepG, this.kernel === 'lane' ? P : P * this.sweepK.workgroupSize[0], B);
      this.reduceK.dispatch(pass, ch.reduceG, nOut, B, S);
      pass.end();
    }
    ctx.device.queue.submit([enc.finish()]);
    this.last = { B, S };
    return B;
  }

  /** One weight set over all energies: enqueueSets(spins, energies.z, sigmaL, sigmaR, [energies as set]). */
  enqueue(spins: Float32Array, energies: RgfEnergies, sigmaL: Float32Array, sigmaR: Float32Array): number {
    return this.enqueueSets(spins, energies.z, sigmaL, sigmaR, [{ k0: 0, wG: energies.wG, wL: energies.wL, wR: energies.wR }]);
  }

  /**
   * Read back the sums of the last enqueue: [S][B][perConfig] complex (re, im) in f64, each the
   * compensated Kahan sum (sum − compensation).
   */
  async readSets(): Promise<Float64Array> {
    const { B, S } = this.last;
    if (B === 0) throw new Error('read: nothing enqueued');
    const n = S * B * this.layout.perConfig;
    const raw = await readF32(this.ctx, this.output, 4 * n);
    const out = new Float64Array(2 * n);
    for (let q = 0; q < n; q++) {
      out[2 * q] = raw[4 * q] - raw[4 * q + 2];
      out[2 * q + 1] = raw[4 * q + 1] - raw[4 * q + 3];
    }
    return out;
  }

  /** Read back the sums of weight set `set` of the last enqueue. */
  async read(set = 0): Promise<RgfSums> {
    const all = await this.readSets();
    const B = this.last.B;
    const { gdiag, aL, aR, bond, perConfig } = this.layout;
    const o0 = 2 * set * B * perConfig;
    const part = (off: number, len: number) => {
      const o = new Float64Array(2 * B * len);
      for (let b = 0; b < B; b++) o.set(all.subarray(o0 + 2 * (b * perConfig + off), o0 + 2 * (b * perConfig + off + len)), 2 * b * len);
      return o;
    };
    return { B, gdiag: part(gdiag, 4 * this.N), aL: part(aL, 4 * this.N), aR: part(aR, 4 * this.N), bond: part(bond, perConfig - bond) };
  }

  /** enqueue() then read(). */
  run(spins: Float32Array, energies: RgfEnergies, sigmaL: Float32Array, sigmaR: Float32Array): Promise<RgfSums> {
    this.enqueue(spins, energies, sigmaL, sigmaR);
    return this.read();
  }

  destroy(): void {
    for (const b of Object.values(this.buf)) b.destroy();
    for (const c of this.chunks) {
      c.sweepU.buffer.destroy();
      c.reduceU.buffer.destroy();
    }
    this.output.destroy();
  }
}
