/**
 * GPU descriptor: G (B×N×D) and Jacobian dG (B×N×D×3×3) of B spin configurations in one dispatch
 * of shaders/model/descriptor.wgsl (twin: `descriptorF64`). Layouts and conventions are those of
 * src/model/descriptor.ts; the normalisation (if set) is applied in the kernel, so the network and
 * the assembly see normalised G and dG.
 *
 * Precision (f32): |G - G_twin| ≲ 1e-6 (products of unit vectors), divided by the std when
 * normalised; dG entries likewise.
 */
import { Kernel, Uniform, storageBuffer, submit, writeBuffer, type GpuContext } from '../gpu/index.js';
import type { Lattice } from '../lattice/lattice.js';
import { DescriptorLayout, checkNormalisation, type DescriptorConfig, type Normalisation } from './descriptor.js';

const WG = 64;
const F32 = 4;

/** A 2-D dispatch covering `total` invocations of a 1-D problem: index t = x + y*gridX. */
export interface Grid {
  nx: number;
  ny: number;
  gridX: number;
}

export function grid(ctx: GpuContext, total: number): Grid {
  const groups = Math.max(1, Math.ceil(total / WG));
  const gx = Math.min(groups, ctx.device.limits.maxComputeWorkgroupsPerDimension);
  return { nx: gx * WG, ny: Math.ceil(groups / gx), gridX: gx * WG };
}

export function checkBatch(B: number): void {
  if (!Number.isInteger(B) || B < 1) throw new Error(`batch B must be a positive integer, got ${B}`);
}

/** Throws unless `buf` holds at least `floats` f32 values. */
export function checkBufferSize(buf: GPUBuffer, floats: number, what: string): void {
  if (buf.size < floats * F32) throw new Error(`${what} buffer holds ${buf.size / F32} floats, needs ${floats}`);
}

/** Static neighbourhood tables of a `DescriptorLayout`, uploaded once. */
export interface DescriptorTables {
  nbr: GPUBuffer;
  feat: GPUBuffer;
  siteValues: GPUBuffer;
  invStart: GPUBuffer;
  invEntry: GPUBuffer;
  incStart: GPUBuffer;
  incEntry: GPUBuffer;
}

export interface DescriptorOutputs {
  /** B×N×D */
  G: GPUBuffer;
  /** B×N×D×3×3 */
  dG: GPUBuffer;
}

export class DescriptorGpu {
  readonly N: number;
  readonly D: number;
  readonly tables: DescriptorTables;
  private readonly norm: GPUBuffer;
  private normalisationValue: Normalisation | null = null;
  private readonly uniforms = new Map<number, Uniform>();
  private outputsCache?: { B: number; out: DescriptorOutputs };

  private constructor(
    readonly ctx: GpuContext,
    readonly layout: DescriptorLayout,
    private readonly kernel: Kernel,
  ) {
    this.N = layout.N;
    this.D = layout.D;
    this.tables = {
      nbr: storageBuffer(ctx, layout.nbr, 'descriptor.nbr'),
      feat: storageBuffer(ctx, layout.features, 'descriptor.feat'),
      siteValues: storageBuffer(ctx, Float32Array.from(layout.siteValues), 'descriptor.siteValues'),
      invStart: storageBuffer(ctx, layout.inverse.start, 'descriptor.invStart'),
      invEntry: storageBuffer(ctx, layout.inverse.entry, 'descriptor.invEntry'),
      incStart: storageBuffer(ctx, layout.incidence.start, 'descriptor.incStart'),
      incEntry: storageBuffer(ctx, layout.incidence.entry, 'descriptor.incEntry'),
    };
    this.norm = storageBuffer(ctx, 2 * F32 * layout.D, 'descriptor.norm');
    this.setNormalisation(null);
  }

  /** Build the layout (or take a prebuilt one), upload its tables and compile the kernel. */
  static async create(ctx: GpuContext, lattice: Lattice, config: DescriptorConfig | DescriptorLayout): Promise<DescriptorGpu> {
    const layout = config instanceof DescriptorLayout ? config : DescriptorLayout.build(lattice, config);
    if (layout.lattice !== lattice) throw new Error('descriptor.layout was built for another lattice');
    const kernel = await Kernel.get(ctx, 'model/descriptor.wgsl', 'descriptor');
    return new DescriptorGpu(ctx, layout, kernel);
  }

  get normalisation(): Normalisation | null {
    return this.normalisationValue;
  }

  /** Set (or clear with null) the per-feature normalisation applied by the kernel (takes effect for work submitted afterwards). */
  setNormalisation(norm: Normalisation | null): void {
    if (norm) checkNormalisation(norm, this.D);
    const v = new Float32Array(2 * this.D);
    for (let d = 0; d < this.D; d++) {
      v[2 * d] = norm ? norm.mean[d] : 0;
      v[2 * d + 1] = norm ? 1 / norm.std[d] : 1;
    }
    writeBuffer(this.ctx, this.norm, v);
    this.normalisationValue = norm;
  }

  /** Output buffers for batch B (reused while B does not change; destroyed when B changes). */
  outputs(B: number): DescriptorOutputs {
    checkBatch(B);
    if (this.outputsCache?.B !== B) {
      this.outputsCache?.out.G.destroy();
      this.outputsCache?.out.dG.destroy();
      const n = B * this.N * this.D;
      this.outputsCache = { B, out: { G: storageBuffer(this.ctx, n * F32, 'descriptor.G'), dG: storageBuffer(this.ctx, 9 * n * F32, 'descriptor.dG') } };
    }
    return this.outputsCache.out;
  }

  /** Record the descriptor of `spins` (B×N×3) into `pass`. */
  encode(pass: GPUComputePassEncoder, spins: GPUBuffer, B: number, out: DescriptorOutputs = this.outputs(B)): DescriptorOutputs {
    checkBatch(B);
    const n = B * this.N * this.D;
    checkBufferSize(spins, 3 * B * this.N, 'spins');
    checkBufferSize(out.G, n, 'G');
    checkBufferSize(out.dG, 9 * n, 'dG');
    const gr = grid(this.ctx, n);
    let u = this.uniforms.get(B);
    if (!u) {
      const L = this.layout;
      u = new Uniform(this.ctx, this.kernel.uniformLayout('p')).set({ B, N: L.N, D: L.D, S: L.S, C: L.C, gridX: gr.gridX });
      this.uniforms.set(B, u);
    }
    const t = this.tables;
    const group = this.kernel.bind({ p: u.buffer, spins, nbr: t.nbr, feat: t.feat, siteValues: t.siteValues, norm: this.norm, G: out.G, dG: out.dG });
    this.kernel.dispatch(pass, group, gr.nx, gr.ny);
    return out;
  }

  /** Compute and submit; the result buffers stay on the GPU. */
  compute(spins: GPUBuffer, B: number, out?: DescriptorOutputs): DescriptorOutputs {
    let res!: DescriptorOutputs;
    submit(this.ctx, (pass) => (res = this.encode(pass, spins, B, out)));
    return res;
  }
}
