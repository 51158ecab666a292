/**
 * GPU force assembly and its transpose (shaders/model/assembly.wgsl; twin: src/model/assembly.ts).
 *
 *   forward:   (spins, dG, g = [gE | gP]) → h = -(∂E/∂S)⊥ - S × ∂Φ/∂S        (B×N×3)
 *   transpose: (spins, dG, a = ∂L/∂h)     → u = [UE | UP] = [∂L/∂gE | ∂L/∂gP]
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
}

export class AssemblyGpu {
  private readonly uniforms = new Map<string, Uniform>();

  private constructor(
    readonly ctx: GpuContext,
    readonly descriptor: DescriptorGpu,
    private readonly fwd: Kernel,
    private readonly tr: Kernel,
  ) {}

  static async create(ctx: GpuContext, descriptor: DescriptorGpu): Promise<AssemblyGpu> {
    const [fwd, tr] = await Promise.all([Kernel.get(ctx, 'model/assembly.wgsl', 'forward'), Kernel.get(ctx, 'model/assembly.wgsl', 'transpose')]);
    return new AssemblyGpu(ctx, descriptor, fwd, tr);
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
    const values = { B, N, D, S: L.S, useE: call.useE ? 1 : 0, useP: call.useP ? 1 : 0, offE: lay.offsetE, offP: lay.offsetP, stride: lay.stride, gridX: gr.gridX };
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
    const gr = grid(this.ctx, rows);
    this.fwd.dispatch(pass, this.fwd.bind({ p: u.buffer, spins: call.spins, dG: call.dG, g: call.g, h: call.h, ...this.tables() }), gr.nx, gr.ny);
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
