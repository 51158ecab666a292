/**
 * Compute kernels: a WGSL file + entry point + override constants -> a cached pipeline whose
 * bind-group layout and uniform layouts come from reflection.
 *
 * Conventions (see shaders/README.md): all bindings of a kernel live in @group(0); a kernel's
 * uniform parameters are one struct; bindings are addressed by their WGSL variable names.
 */
import type { GpuContext } from './context.js';
import { composeShader, compileShader, type ComposedShader } from './shader.js';
import { reflectWgsl, entryBindings, UniformLayout, type BindingInfo, type ReflectedModule } from './reflect.js';

interface ModuleEntry {
  composed: ComposedShader;
  reflected: ReflectedModule;
  module: Promise<GPUShaderModule>;
}

const moduleCache = new WeakMap<GPUDevice, Map<string, ModuleEntry>>();
const kernelCache = new WeakMap<GPUDevice, Map<string, Promise<Kernel>>>();

function moduleFor(ctx: GpuContext, file: string): ModuleEntry {
  let m = moduleCache.get(ctx.device);
  if (!m) moduleCache.set(ctx.device, (m = new Map()));
  let e = m.get(file);
  if (!e) {
    const composed = composeShader(file);
    const reflected = reflectWgsl(composed.code);
    e = { composed, reflected, module: compileShader(ctx.device, composed) };
    e.module.catch(() => m!.delete(file));
    m.set(file, e);
  }
  return e;
}

/** Reflection of a shader file without compiling it (for host-side layout queries and tests). */
export function reflectShaderFile(file: string): ReflectedModule {
  return reflectWgsl(composeShader(file).code);
}

export type BufferMap = Record<string, GPUBuffer | GPUBufferBinding>;

export class Kernel {
  readonly bindings: BindingInfo[];
  readonly workgroupSize: [number, number, number];
  private constructor(
    readonly ctx: GpuContext,
    readonly file: string,
    readonly entry: string,
    readonly pipeline: GPUComputePipeline,
    readonly layout: GPUBindGroupLayout,
    bindings: BindingInfo[],
    wg: [number, number, number],
    private readonly reflected: ReflectedModule,
  ) {
    this.bindings = bindings;
    this.workgroupSize = wg;
  }

  /** Get (compile once, then cached per device) a kernel. */
  static get(ctx: GpuContext, file: string, entry: string, constants: Record<string, number> = {}): Promise<Kernel> {
    let c = kernelCache.get(ctx.device);
    if (!c) kernelCache.set(ctx.device, (c = new Map()));
    const key = `${file}#${entry}#${JSON.stringify(Object.entries(constants).sort())}`;
    let k = c.get(key);
    if (!k) {
      k = Kernel.build(ctx, file, entry, constants);
      k.catch(() => c!.delete(key));
      c.set(key, k);
    }
    return k;
  }

  private static async build(ctx: GpuContext, file: string, entry: string, constants: Record<string, number>): Promise<Kernel> {
    const me = moduleFor(ctx, file);
    const module = await me.module;
    const used = entryBindings(me.reflected, entry);
    for (const b of used) {
      if (b.group !== 0) throw new Error(`shaders/${file}: binding ${b.name} must be in @group(0)`);
    }
    const layout = ctx.device.createBindGroupLayout({
      label: `${file}#${entry}`,
      entries: used.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.kind },
      })),
    });
    ctx.device.pushErrorScope('validation');
    const pipeline = await ctx.device.createComputePipelineAsync({
      label: `${file}#${entry}`,
      layout: ctx.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry, constants },
    });
    const err = await ctx.device.popErrorScope();
    if (err) throw new Error(`shaders/${file}#${entry}: ${err.message}`);
    const ep = me.reflected.reflect.entry.compute.find((e) => e.name === entry)!;
    const wg = (ep.workgroupSize ?? [1, 1, 1]).map((x) => Number(x) || 1) as [number, number, number];
    return new Kernel(ctx, file, entry, pipeline, layout, used, wg, me.reflected);
  }

  /** The uniform struct layout of binding `name`. */
  uniformLayout(name: string): UniformLayout {
    const b = this.reflected.bindings.find((x) => x.name === name);
    if (!b || b.kind !== 'uniform') throw new Error(`shaders/${this.file}: no uniform binding '${name}'`);
    return new UniformLayout(name, b.type);
  }

  /** Bind buffers by WGSL variable name; missing or unknown names throw. */
  bind(buffers: BufferMap): GPUBindGroup {
    const names = new Set(Object.keys(buffers));
    const entries: GPUBindGroupEntry[] = [];
    for (const b of this.bindings) {
      const buf = buffers[b.name];
      if (!buf) throw new Error(`${this.file}#${this.entry}: binding '${b.name}' not provided`);
      names.delete(b.name);
      entries.push({ binding: b.binding, resource: 'buffer' in buf ? buf : { buffer: buf } });
    }
    // extra names are allowed only if another entry of the same file uses them
    for (const n of names) {
      if (!this.reflected.bindings.some((b) => b.name === n)) throw new Error(`${this.file}: unknown binding '${n}'`);
    }
    return this.ctx.device.createBindGroup({ label: `${this.file}#${this.entry}`, layout: this.layout, entries });
  }

  /** Record a dispatch covering `n` invocations along x (and optionally y, z). */
  dispatch(pass: GPUComputePassEncoder, group: GPUBindGroup, nx: number, ny = 1, nz = 1): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    const [wx, wy, wz] = this.workgroupSize;
    const gx = Math.ceil(nx / wx), gy = Math.ceil(ny / wy), gz = Math.ceil(nz / wz);
    const max = this.ctx.device.limits.maxComputeWorkgroupsPerDimension;
    if (gx > max || gy > max || gz > max) throw new Error(`${this.file}#${this.entry}: dispatch ${gx}x${gy}x${gz} exceeds ${max} per dimension`);
    pass.dispatchWorkgroups(gx, gy, gz);
  }
}

/** A uniform buffer tied to a reflected struct layout. */
export class Uniform {
  readonly buffer: GPUBuffer;
  private readonly data: ArrayBuffer;
  private readonly values: Record<string, number | ArrayLike<number> | boolean> = {};
  constructor(private readonly ctx: GpuContext, readonly layout: UniformLayout, label = layout.name) {
    this.data = new ArrayBuffer(layout.size);
    this.buffer = ctx.device.createBuffer({ label, size: layout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }
  /** Set members and upload (all members must have been set at least once). */
  set(values: Record<string, number | ArrayLike<number> | boolean>): this {
    this.layout.write(this.data, values);
    Object.assign(this.values, values);
    const miss = this.layout.missing(this.values);
    if (miss.length) throw new Error(`uniform ${this.layout.name}: members not set: ${miss.join(', ')}`);
    this.ctx.device.queue.writeBuffer(this.buffer, 0, this.data);
    return this;
  }
}
