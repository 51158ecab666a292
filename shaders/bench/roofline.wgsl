// Device ceilings for the benchmark table: streaming bandwidth and f32 FMA throughput.
// The fused kernels' speed is reported as a fraction of these, measured in the same run.

struct Params { n4: u32, iters: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

// Streaming: one vec4 read + one vec4 write per invocation (8 floats = 32 bytes moved).
@compute @workgroup_size(256)
fn stream(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n4) { return; }
  dst[i] = src[i] * p.a + vec4<f32>(p.b);
}

// FMA peak: 8 independent vec4 chains, `iters` rounds of 8 vec4 FMAs (= 64 FMA = 128 flop per round).
@compute @workgroup_size(256)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n4) { return; }
  let s = f32(i) * 1e-7;
  var c0 = vec4<f32>(s); var c1 = c0 + 0.1; var c2 = c0 + 0.2; var c3 = c0 + 0.3;
  var c4 = c0 + 0.4; var c5 = c0 + 0.5; var c6 = c0 + 0.6; var c7 = c0 + 0.7;
  let a = vec4<f32>(p.a); let b = vec4<f32>(p.b);
  for (var k = 0u; k < p.iters; k = k + 1u) {
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
  }
  dst[i] = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
}
