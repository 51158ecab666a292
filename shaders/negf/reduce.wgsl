// Energy reduction of the RGF accumulators (host: src/negf/gpuRgf.ts).
// acc[b*P + p][e] holds a Kahan pair (sum, compensation) per energy lane p; the lanes are summed
// with Kahan compensation again and written as out[b][e] = sum - compensation (complex f32).
// `opaque` (always 0) keeps compilers from folding the compensation (see rgf.wgsl, kahan_add).

struct Params {
  nB: u32,
  P: u32,
  nOut: u32,
  opaque: u32,
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> acc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) g: vec3<u32>) {
  let e = g.x;
  let b = g.y;
  if (e >= prm.nOut || b >= prm.nB) { return; }
  var s = vec2<f32>(0.0, 0.0);
  var c = vec2<f32>(0.0, 0.0);
  for (var p = 0u; p < prm.P; p++) {
    let a = acc[(b * prm.P + p) * prm.nOut + e];
    let y = bitcast<vec2<f32>>(bitcast<vec2<u32>>((a.xy - a.zw) - c) ^ vec2<u32>(prm.opaque));
    let t = bitcast<vec2<f32>>(bitcast<vec2<u32>>(s + y) ^ vec2<u32>(prm.opaque));
    c = (t - s) - y;
    s = t;
  }
  out[b * prm.nOut + e] = s - c;
}
