/**
 * GPU force assembly and its transpose (shaders/model/assembly.wgsl; twin: src/model/assembly.ts).
 *
 *   forward:   (spins, dG, g = [gE | gP]) → h = -(∂E/∂S)⊥ - S × ∂Φ/∂S        (B×N×3)
 *   transpose: (spins, dG, a = ∂L/∂h)     → u = [UE | UP] = [∂L/∂gE | ∂L/∂gP]
 *   torque:    with `torque` set, forward adds the bond-torque head S × A + B⊥ from the network
 *              outputs `y` (B×N×TORQUE_OUTPUTS; ./torque.ts) and `encodeTorqueTranspose` writes its
 *              upstream Ȳ = ∂L/∂y (B×N×TORQUE_OUTPUTS) for the MLP double backward.
 *
 * Both channels of g (input) and u (output) live in ONE buffer addressed by a `GradLayout`:
 * channel E of (row = b*N + i, feature d) at offsetE + row*stride + d, channel Φ at
 * offsetP + row*stride + d. The default is planar: [gE (B×N×D) | gP (B×N×D)]. A disabled channel
 * is not read by `forward`; `transpose` writes zeros into it.
 *
 * Race-free (no atomics): forward gathers over the inverse neighbour table, one invocation per spin;
 * transpose has one invocation per (b, i, d).
 */
import { Kernel, Uniform, storageBuffer, submit, type GpuContext } from '../gpu/index.js';
import type { AssemblyOptions } from './assembly.js';
import { TORQUE_OUTPUTS } from './weights.js';
import { checkBatch, checkBufferSize, grid, type DescriptorGpu } from './descriptor-gpu.js';

const F32 = 4;

export interface GradLayout {
  /** element offset of channel E (gE or UE) */
  offsetE: number;
  /** element offset of channel Φ (gP or UP) */
  offsetP: number;
  /** elements between consecutive rows (b*N + i); ≥ D */
  stride: number;
}

/** [channel E: B×N×D | channel Φ: B×N×D] */
export function planarGradLayout(B: number, N: number, D: number): GradLayout {
  return { offsetE: 0, offsetP: B * N * D, stride: D };
}

/** Floats a buffer needs to hold both channels of `lay` for B×N rows of D features. */
export function gradLayoutFloats(lay: GradLayout, rows: number, D: number): number {
  return Math.max(lay.offsetE, lay.offsetP) + (rows - 1) * lay.stride + D;
}

export interface AssemblyCall extends AssemblyOptions {
  B: number;
  /** B×N×3 */
  spins: GPUBuffer;
  /** B×N×D×3×3 from DescriptorGpu (normalised consistently with g) */
  dG: GPUBuffer;
  /** layout of the gradient buffer g / u; planar by default */
  layout?: GradLayout;
  /** network outputs (B×N×TORQUE_OUTPUTS), read by forward when `torque` is set */
  y?: GPUBuffer;
}

export class AssemblyGpu {
  private readonly uniforms = new Map<string, Uniform>();
  /** nearest-neighbour table (N×4) of the bond-torque head */
  private readonly nn: GPUBuffer;
  /** bound in place of `y` when the head is off */
  private readonly dummy: GPUBuffer;

  private constructor(
    readonly ctx: GpuContext,
    readonly descriptor: DescriptorGpu,
    private readonly fwd: Kernel,
    private readonly tr: Kernel,
    private readonly ttr: Kernel,
  ) {
    this.nn = storageBuffer(ctx, descriptor.layout.lattice.neighbours, 'assembly.nn');
    this.dummy = storageBuffer(ctx, 16, 'assembly.dummy');
  }

  static async create(ctx: GpuContext, descriptor: DescriptorGpu): Promise<AssemblyGpu> {
    const get = (e: string) => Kernel.get(ctx, 'model/assembly.wgsl', e);
    const [fwd, tr, ttr] = await Promise.all([get('forward'), get('transpose'), get('torque_transpose')]);
    return new AssemblyGpu(ctx, descriptor, fwd, tr, ttr);
  }

  private params(kernel: Kernel, call: AssemblyCall, threads: number, gradBuf: GPUBuffer, gradName: string): Uniform {
    const { N, D, layout: L } = this.descriptor;
    const { B } = call;
    checkBatch(B);
    if (typeof call.useE !== 'boolean') throw new Error(`assembly.useE must be a boolean, got ${call.useE}`);
    if (typeof call.useP !== 'boolean') throw new Error(`assembly.useP must be a boolean, got ${call.useP}`);
    const lay = call.layout ?? planarGradLayout(B, N, D);
    for (const k of ['offsetE', 'offsetP', 'stride'] as const) {
      if (!Number.isInteger(lay[k]) || lay[k] < 0) throw new Error(`assembly.layout.${k} must be a non-negative integer, got ${lay[k]}`);
    }
    if (lay.stride < D) throw new Error(`assembly.layout.stride must be ≥ D=${D}, got ${lay.stride}`);
    checkBufferSize(call.spins, 3 * B * N, 'spins');
    checkBufferSize(call.dG, 9 * B * N * D, 'dG');
    checkBufferSize(gradBuf, gradLayoutFloats(lay, B * N, D), gradName);
    const gr = grid(this.ctx, threads);
    const torque = call.torque ? 1 : 0;
    return this.uniform(kernel, { B, N, D, S: L.S, useE: call.useE ? 1 : 0, useP: call.useP ? 1 : 0, offE: lay.offsetE, offP: lay.offsetP, stride: lay.stride, torque, gridX: gr.gridX });
  }

  /** The kernel's uniform `p` with these values (one per distinct set, kept). */
  private uniform(kernel: Kernel, values: Record<string, number>): Uniform {
    const key = `${kernel.entry}:${JSON.stringify(values)}`;
    let u = this.uniforms.get(key);
    if (!u) this.uniforms.set(key, (u = new Uniform(this.ctx, kernel.uniformLayout('p')).set(values)));
    return u;
  }

  private tables() {
    const t = this.descriptor.tables;
    return { nbr: t.nbr, feat: t.feat, invStart: t.invStart, invEntry: t.invEntry, incStart: t.incStart, incEntry: t.incEntry };
  }

  /** Record h (B×N×3, written into `h`) from the input gradients `g`. */
  encodeForward(pass: GPUComputePassEncoder, call: AssemblyCall & { g: GPUBuffer; h: GPUBuffer }): void {
    const rows = call.B * this.descriptor.N;
    const u = this.params(this.fwd, call, rows, call.g, 'g');
    checkBufferSize(call.h, 3 * rows, 'h');
    if (call.torque) {
      if (!call.y) throw new Error('assembly.y (network outputs) is required with the bond-torque head');
      checkBufferSize(call.y, TORQUE_OUTPUTS * rows, 'y');
    }
    const gr = grid(this.ctx, rows);
    const y = call.torque ? call.y! : this.dummy;
    this.fwd.dispatch(pass, this.fwd.bind({ p: u.buffer, spins: call.spins, dG: call.dG, g: call.g, h: call.h, y, nn: this.nn, ...this.tables() }), gr.nx, gr.ny);
  }

  /** Record Ȳ = ∂L/∂y of the bond-torque head (B×N×TORQUE_OUTPUTS, into `ybar`) from a = ∂L/∂h. */
  encodeTorqueTranspose(pass: GPUComputePassEncoder, call: { B: number; spins: GPUBuffer; dLdh: GPUBuffer; ybar: GPUBuffer }): void {
    const { N, D } = this.descriptor;
    const rows = call.B * N;
    checkBatch(call.B);
    checkBufferSize(call.spins, 3 * rows, 'spins');
    checkBufferSize(call.dLdh, 3 * rows, 'dLdh');
    checkBufferSize(call.ybar, TORQUE_OUTPUTS * rows, 'ybar');
    const gr = grid(this.ctx, rows);
    const u = this.uniform(this.ttr, { B: call.B, N, D, S: this.descriptor.layout.S, useE: 0, useP: 0, offE: 0, offP: 0, stride: D, torque: 1, gridX: gr.gridX });
    this.ttr.dispatch(pass, this.ttr.bind({ p: u.buffer, spins: call.spins, dLdh: call.dLdh, ybar: call.ybar, nn: this.nn }), gr.nx, gr.ny);
  }

  /** Record u = [UE | UP] (written into `u` with the call's layout) from a = ∂L/∂h (B×N×3). */
  encodeTranspose(pass: GPUComputePassEncoder, call: AssemblyCall & { dLdh: GPUBuffer; u: GPUBuffer }): void {
    const threads = call.B * this.descriptor.N * this.descriptor.D;
    const u = this.params(this.tr, call, threads, call.u, 'u');
    checkBufferSize(call.dLdh, 3 * call.B * this.descriptor.N, 'dLdh');
    const gr = grid(this.ctx, threads);
    this.tr.dispatch(pass, this.tr.bind({ p: u.buffer, spins: call.spins, dG: call.dG, dLdh: call.dLdh, u: call.u, ...this.tables() }), gr.nx, gr.ny);
  }

  /** Submit a forward pass; allocates `h` when not given. */
  forward(call: AssemblyCall & { g: GPUBuffer; h?: GPUBuffer }): GPUBuffer {
    const h = call.h ?? storageBuffer(this.ctx, 3 * call.B * this.descriptor.N * F32, 'assembly.h');
    submit(this.ctx, (pass) => this.encodeForward(pass, { ...call, h }));
    return h;
  }

  /** Submit a transpose; allocates `u` (sized for the call's layout) when not given. */
  transpose(call: AssemblyCall & { dLdh: GPUBuffer; u?: GPUBuffer }): GPUBuffer {
    const { N, D } = this.descriptor;
    const lay = call.layout ?? planarGradLayout(call.B, N, D);
    const u = call.u ?? storageBuffer(this.ctx, gradLayoutFloats(lay, call.B * N, D) * F32, 'assembly.u');
    submit(this.ctx, (pass) => this.encodeTranspose(pass, { ...call, u }));
    return u;
  }
}
