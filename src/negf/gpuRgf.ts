/**
 * Batched recursive Green's function (RGF) on the GPU: shaders/negf/rgf.wgsl (sweeps) and
 * shaders/negf/reduce.wgsl (energy reduction). float64 twin: ./gpuTwin.ts (dense inversion).
 *
 * Conventions (SPEC §1-§2, t = ħ = 1): slices are columns x = 0..Lx-1; a slice has M = 2*Ly
 * orbitals, orbital o = 2*y + s (s = 0 up, 1 down); site i = x + Lx*y. Slice Hamiltonian: hopping
 * -t between y and y+1 (wrapping only if periodicY && Ly >= 3), exchange -J S_i.sigma on each site's
 * 2x2 block, optional onsite v_i; inter-slice coupling -t*I. Sigma_L(z) acts on slice 0 and
 * Sigma_R(z) on slice Lx-1 (general M x M complex per energy, row-major, supplied by the caller);
 * Gamma_a = i(Sigma_a - Sigma_a^+). G = [z - H - Sigma_L - Sigma_R]^-1, A_a = G Gamma_a G^+.
 *
 * For each configuration b the kernel returns, summed over the energies k of one run:
 *   gdiag[b][i][s][s'] = sum_k wG_k  G(z_k)_{(i,s),(i,s')}          (wG complex)
 *   aL[b][i][s][s']    = sum_k wL_k  A_L(z_k)_{(i,s),(i,s')}        (wL real; aR alike with wR)
 *   bond[b][x][a][c]   = sum_k w_ak  Tr[sigma_c (A_a)_{x+1,x}]       (w_L = wL, w_R = wR; x = 0..Lx-2, a = L,R,
 *                        c = 0 (identity), x, y, z; trace over the orbitals of the slice;
 *                        (A_a)_{x+1,x} = rows of slice x+1, columns of slice x)
 * all complex (re, im interleaved). A point with wL = 0 (wR = 0, wG = 0) skips that part of the
 * work (e.g. complex-contour points need only G).
 *
 * Precision budget (f32 everywhere on the GPU): block inversions by Gauss-Jordan with partial
 * pivoting, relative error ~1e-7 * cond(block); measured against the f64 twin (gpuTwin.ts):
 * max |GPU - f64| / max |f64| = 1e-7..1e-6 per output family (tests/negf-gpu-rgf.test.ts, bound
 * 1e-4). Energy sums are Kahan-compensated inside each lane and across lanes: the error stays at
 * ~1e-7 up to K = 4096 energies, where plain f32 adds reach 6e-7..1e-6. No long products of
 * Green's-function blocks are formed, and G_xx comes from an inversion of D_x minus both connected
 * self-energies rather than from g^L + g^L G g^L, which can cancel catastrophically in f32 when a
 * left-connected block is near-singular (weakly broadened states behind an insulating region).
 * Blocks are nonsingular when Im z > 0 or the leads broaden every state; an exactly singular block
 * gives non-finite sums.
 *
 * Work decomposition: one dispatch of B x P workgroups; workgroup (p, b) owns one scratch slot and
 * one Kahan accumulator slot and processes energies k = p, p + P, ... of configuration b (no
 * atomics); P = min(K, lanes), lanes as many as the scratch budget allows. A second dispatch sums
 * the P lanes (reduce.wgsl).
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
  /** bound on the sweep scratch in bytes (default: min(256 MiB, device binding limit)) */
  scratchBytes?: number;
  /**
   * invocations per workgroup; default 64, or 8 on software adapters (lavapipe runs a workgroup as
   * WG/8 coroutines and a barrier costs ~0.1 us at 8 but ~4 us at 64; measured 2x faster overall)
   */
  workgroupSize?: number;
}

export interface RgfEnergies {
  /** z_k interleaved (re, im), length 2K */
  z: Float64Array;
  /** complex weight of G_ii, interleaved, length 2K */
  wG: Float64Array;
  /** real weights of A_L, A_R, length K */
  wL: Float64Array;
  wR: Float64Array;
}

export interface RgfSums {
  B: number;
  /** [B][N][2][2] complex (re, im interleaved) */
  gdiag: Float32Array;
  aL: Float32Array;
  aR: Float32Array;
  /** [B][Lx-1][2 (L, R)][4 (1, sx, sy, sz)] complex */
  bond: Float32Array;
}

/** Layout of one configuration's row of the output buffer, in complex (vec2<f32>) elements. */
export function rgfOutputLayout(Lx: number, Ly: number) {
  const N = Lx * Ly;
  return { gdiag: 0, aL: 4 * N, aR: 8 * N, bond: 12 * N, perConfig: 12 * N + 8 * (Lx - 1) };
}

/** Workgroup memory of the sweep for block capacity MCAP (see rgf.wgsl). */
function workgroupBytes(mcap: number): number {
  return 8 * (mcap * mcap + 4 * mcap) + 4 * mcap + 4;
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

export class GpuRgf {
  readonly M: number;
  readonly N: number;
  /** energy lanes: workgroups (and scratch slots) per configuration; lane p takes energies p, p + lanes, ... */
  readonly lanes: number;
  /** per configuration: rgfOutputLayout(...).perConfig complex f32; valid after enqueue() */
  readonly output: GPUBuffer;
  readonly layout: ReturnType<typeof rgfOutputLayout>;
  private readonly sweepUniform: Uniform;
  private readonly sweepGroup: GPUBindGroup;
  private readonly reduceUniform: Uniform;
  private readonly reduceGroup: GPUBindGroup;
  private lastB = 0;

  private constructor(
    readonly ctx: GpuContext,
    readonly model: Readonly<RgfModel>,
    readonly cap: Readonly<RgfCapacity>,
    private readonly sweepK: Kernel,
    private readonly reduceK: Kernel,
    private readonly slotStride: number,
    lanes: number,
    private readonly buf: { spins: GPUBuffer; onsite: GPUBuffer; epts: GPUBuffer; sigma: GPUBuffer; scr: GPUBuffer; acc: GPUBuffer },
  ) {
    this.M = 2 * model.Ly;
    this.N = model.Lx * model.Ly;
    this.lanes = lanes;
    this.layout = rgfOutputLayout(model.Lx, model.Ly);
    this.output = storageBuffer(ctx, cap.maxBatch * this.layout.perConfig * 8, 'rgf.out');
    this.sweepUniform = new Uniform(ctx, sweepK.uniformLayout('prm'), 'rgf.sweep');
    this.sweepGroup = sweepK.bind({ prm: this.sweepUniform.buffer, ...buf });
    this.reduceUniform = new Uniform(ctx, reduceK.uniformLayout('prm'), 'rgf.reduce');
    this.reduceGroup = reduceK.bind({ prm: this.reduceUniform.buffer, acc: buf.acc, out: this.output });
  }

  static async create(ctx: GpuContext, model: RgfModel, cap: RgfCapacity): Promise<GpuRgf> {
    const { Lx, Ly } = model;
    if (!isInt(Lx, 1)) throw new Error(`Lx: must be an integer >= 1 (got ${Lx})`);
    if (!isInt(Ly, 1)) throw new Error(`Ly: must be an integer >= 1 (got ${Ly})`);
    if (!Number.isFinite(model.t) || model.t === 0) throw new Error(`t: must be finite and nonzero (got ${model.t})`);
    if (!Number.isFinite(model.J)) throw new Error(`J: must be finite (got ${model.J})`);
    if (!isInt(cap.maxBatch, 1)) throw new Error(`maxBatch: must be an integer >= 1 (got ${cap.maxBatch})`);
    if (!isInt(cap.maxEnergies, 1)) throw new Error(`maxEnergies: must be an integer >= 1 (got ${cap.maxEnergies})`);
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
    const mcap = blockCapacity(M);
    if (workgroupBytes(mcap) > lim.maxComputeWorkgroupStorageSize) {
      throw new Error(`Ly: ${Ly} needs ${workgroupBytes(mcap)} B of workgroup memory, device allows ${lim.maxComputeWorkgroupStorageSize}`);
    }
    const wg = cap.workgroupSize ?? (ctx.info.software ? 8 : 64);
    if (!isInt(wg, 1) || wg > lim.maxComputeInvocationsPerWorkgroup) throw new Error(`workgroupSize: invalid (${wg})`);

    const slotStride = (2 * Lx + 11) * M * M;
    const bindLimit = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    const budget = Math.min(cap.scratchBytes ?? 256 * 2 ** 20, bindLimit);
    const nOut = rgfOutputLayout(Lx, Ly).perConfig;
    const slotBytes = 8 * slotStride + 16 * nOut;
    const lanes = Math.min(cap.maxEnergies, Math.floor(budget / (cap.maxBatch * slotBytes)));
    if (lanes < 1) throw new Error(`scratchBytes: ${budget} B cannot hold one energy lane for maxBatch = ${cap.maxBatch} (${cap.maxBatch * slotBytes} B)`);
    const slots = cap.maxBatch * lanes;

    const [sweepK, reduceK] = await Promise.all([
      Kernel.get(ctx, 'negf/rgf.wgsl', 'sweep', { MCAP: mcap, WG: wg }),
      Kernel.get(ctx, 'negf/reduce.wgsl', 'reduce'),
    ]);
    const buf = {
      spins: storageBuffer(ctx, cap.maxBatch * 3 * N * 4, 'rgf.spins'),
      onsite: storageBuffer(ctx, onsite, 'rgf.onsite'),
      epts: storageBuffer(ctx, cap.maxEnergies * 32, 'rgf.energies'),
      sigma: storageBuffer(ctx, 2 * cap.maxEnergies * M * M * 8, 'rgf.sigma'),
      scr: storageBuffer(ctx, slots * slotStride * 8, 'rgf.scratch'),
      acc: storageBuffer(ctx, slots * nOut * 16, 'rgf.acc'),
    };
    return new GpuRgf(ctx, { ...model }, { ...cap }, sweepK, reduceK, slotStride, lanes, buf);
  }

  /**
   * Upload one batch and submit the sweeps and the reduction; the sums stay on the GPU in
   * `output` (layout `layout`, configuration-major). Returns the batch size B.
   */
  enqueue(spins: Float32Array, energies: RgfEnergies, sigmaL: Float32Array, sigmaR: Float32Array): number {
    const { N, M } = this;
    const { Lx, Ly } = this.model;
    if (spins.length === 0 || spins.length % (3 * N) !== 0) throw new Error(`spins: length ${spins.length} is not a positive multiple of 3*N = ${3 * N}`);
    const B = spins.length / (3 * N);
    if (B > this.cap.maxBatch) throw new Error(`spins: batch ${B} exceeds maxBatch ${this.cap.maxBatch}`);
    for (let i = 0; i < spins.length; i++) if (!Number.isFinite(spins[i])) throw new Error(`spins: entry ${i} is not finite`);
    const K = energies.wL.length;
    if (K < 1 || K > this.cap.maxEnergies) throw new Error(`energies.wL: ${K} energies, allowed 1..${this.cap.maxEnergies}`);
    const want: [keyof RgfEnergies, number][] = [['z', 2 * K], ['wG', 2 * K], ['wL', K], ['wR', K]];
    const ep = new Float32Array(8 * K);
    for (const [name, len] of want) {
      const a = energies[name];
      if (a.length !== len) throw new Error(`energies.${name}: length ${a.length}, expected ${len}`);
      for (let i = 0; i < len; i++) if (!Number.isFinite(a[i])) throw new Error(`energies.${name}: entry ${i} is not finite`);
    }
    for (let k = 0; k < K; k++) {
      ep.set([energies.z[2 * k], energies.z[2 * k + 1], energies.wG[2 * k], energies.wG[2 * k + 1], energies.wL[k], energies.wR[k]], 8 * k);
    }
    for (const [name, s] of [['sigmaL', sigmaL], ['sigmaR', sigmaR]] as const) {
      if (s.length !== 2 * K * M * M) throw new Error(`${name}: length ${s.length}, expected 2*K*M*M = ${2 * K * M * M}`);
      for (let i = 0; i < s.length; i++) if (!Number.isFinite(s[i])) throw new Error(`${name}: entry ${i} is not finite`);
    }
    const { ctx, buf } = this;
    writeBuffer(ctx, buf.spins, spins);
    writeBuffer(ctx, buf.epts, ep);
    writeBuffer(ctx, buf.sigma, sigmaL);
    writeBuffer(ctx, buf.sigma, sigmaR, K * M * M * 8);

    const P = Math.min(this.lanes, K);
    const nOut = this.layout.perConfig;
    this.sweepUniform.set({
      Lx, Ly, periodicY: this.model.periodicY ? 1 : 0, nE: K, nB: B, P, slotStride: this.slotStride, nOut,
      t: this.model.t, J: this.model.J, M, opaque: 0,
    });
    this.reduceUniform.set({ nB: B, P, nOut, opaque: 0 });
    const enc = ctx.device.createCommandEncoder();
    enc.clearBuffer(buf.acc, 0, B * P * nOut * 16);
    const pass = enc.beginComputePass();
    this.sweepK.dispatch(pass, this.sweepGroup, P * this.sweepK.workgroupSize[0], B);
    this.reduceK.dispatch(pass, this.reduceGroup, nOut, B);
    pass.end();
    ctx.device.queue.submit([enc.finish()]);
    this.lastB = B;
    return B;
  }

  /** Read back the sums of the last enqueue(). */
  async read(): Promise<RgfSums> {
    const B = this.lastB;
    if (B === 0) throw new Error('read: nothing enqueued');
    const { gdiag, aL, aR, bond, perConfig } = this.layout;
    const all = await readF32(this.ctx, this.output, 2 * B * perConfig);
    const part = (off: number, len: number) => {
      const o = new Float32Array(2 * B * len);
      for (let b = 0; b < B; b++) o.set(all.subarray(2 * (b * perConfig + off), 2 * (b * perConfig + off + len)), 2 * b * len);
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
    this.sweepUniform.buffer.destroy();
    this.reduceUniform.buffer.destroy();
    this.output.destroy();
  }
}
