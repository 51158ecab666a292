import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, Kernel, Uniform, registerShaderSource, storageBuffer, readF32, readU32, submit, ShaderCompileError, reflectShaderFile, type GpuContext } from '../src/gpu/index.js';
import { philox4x32, normal4 } from '../src/gpu/rng.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

registerShaderSource(
  'test/rng_probe.wgsl',
  `//!include "lib/rng.wgsl"
struct Params { n: u32, key0: u32, key1: u32, scale: f32, offs: vec3<f32> }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> bits: array<u32>;
@group(0) @binding(2) var<storage, read_write> gauss: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= p.n) { return; }
  let c = vec4<u32>(i, 7u, 0u, 1u);
  let r = philox4x32(c, vec2<u32>(p.key0, p.key1));
  bits[4u*i] = r.x; bits[4u*i+1u] = r.y; bits[4u*i+2u] = r.z; bits[4u*i+3u] = r.w;
  let g = normal4(c, vec2<u32>(p.key0, p.key1));
  gauss[4u*i] = g.x * p.scale + p.offs.x; gauss[4u*i+1u] = g.y; gauss[4u*i+2u] = g.z; gauss[4u*i+3u] = g.w;
}
`,
);
registerShaderSource('test/broken.wgsl', `//!include "lib/spin.wgsl"\n@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n`);

describe('GPU runtime', () => {
  it('reports an adapter with explicit limits', () => {
    expect(ctx.info.limits.maxComputeWorkgroupSizeX).toBeGreaterThan(0);
    // limits were requested explicitly, not WebGPU defaults
    expect(ctx.device.limits.maxStorageBufferBindingSize).toBe(ctx.info.limits.maxStorageBufferBindingSize);
  });

  it('reflects uniform layouts (vec3 alignment) and bindings', () => {
    const r = reflectShaderFile('test/rng_probe.wgsl');
    expect(r.bindings.map((b) => b.name)).toEqual(['p', 'bits', 'gauss']);
    expect(r.bindings[1].kind).toBe('storage');
  });

  it('Philox and Box-Muller match the TypeScript twin (bits exact, normals to 1e-5)', async () => {
    const k = await Kernel.get(ctx, 'test/rng_probe.wgsl', 'main');
    const lay = k.uniformLayout('p');
    expect(lay.fields.get('offs')!.offset).toBe(16); // vec3 aligned to 16
    const n = 500;
    const u = new Uniform(ctx, lay).set({ n, key0: 12345, key1: 0xdeadbeef, scale: 1, offs: [0, 0, 0] });
    const bits = storageBuffer(ctx, 16 * n);
    const gauss = storageBuffer(ctx, 16 * n);
    submit(ctx, (pass) => k.dispatch(pass, k.bind({ p: u.buffer, bits, gauss }), n));
    const b = await readU32(ctx, bits, 4 * n);
    const g = await readF32(ctx, gauss, 4 * n);
    let maxErr = 0;
    for (let i = 0; i < n; i++) {
      const ref = philox4x32([i, 7, 0, 1], [12345, 0xdeadbeef]);
      for (let c = 0; c < 4; c++) expect(b[4 * i + c]).toBe(ref[c]);
      const rg = normal4([i, 7, 0, 1], [12345, 0xdeadbeef]);
      for (let c = 0; c < 4; c++) maxErr = Math.max(maxErr, Math.abs(g[4 * i + c] - rg[c]) / (1 + Math.abs(rg[c])));
    }
    expect(maxErr).toBeLessThan(1e-5);
  });

  it('rejects unknown uniform members and missing bindings', async () => {
    const k = await Kernel.get(ctx, 'test/rng_probe.wgsl', 'main');
    expect(() => new Uniform(ctx, k.uniformLayout('p')).set({ nope: 1 })).toThrow(/no member 'nope'/);
    expect(() => new Uniform(ctx, k.uniformLayout('p')).set({ n: 1 })).toThrow(/not set/);
    expect(() => k.bind({ p: storageBuffer(ctx, 64) })).toThrow(/'bits' not provided/);
  });

  it('maps WGSL compile errors to the original file and line', async () => {
    const err = await Kernel.get(ctx, 'test/broken.wgsl', 'main').catch((e) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect(String(err.message)).toMatch(/shaders\/test\/broken\.wgsl:4:/);
  });

  it('caches pipelines', async () => {
    const a = await Kernel.get(ctx, 'test/rng_probe.wgsl', 'main');
    const b = await Kernel.get(ctx, 'test/rng_probe.wgsl', 'main');
    expect(a).toBe(b);
  });
});
