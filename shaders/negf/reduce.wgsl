// Weighted energy sums of the per-energy RGF outputs (host: src/negf/gpuRgf.ts).
// xin[kk][b][e] holds the unweighted outputs of energy k = kBase + kk (rgf.wgsl). Weight set s covers
// energies [k0_s, k0_s + len_s) with weights wts[woff_s + k - k0_s] = (wG re, wG im, wL, wR): the G
// section (e < 4N) takes the complex wG, the A_L section and the L bond traces wL, the A_R section
// and the R bond traces wR. Invocation (e, b, s) adds this chunk's share to the Kahan pair
// acc[s][b][e] = (sum, compensation); the host takes sum - compensation. Zero weights are skipped, so
// outputs an energy did not compute (need bits) are never read. Compilers may fold the compensation
// (a + y) - a - y to 0 when f32 adds are treated as reassociable (Mesa's NIR does); XOR-ing the bits
// with a runtime zero (`opaque`) keeps the intermediate values out of such rewrites.

struct Params {
  nB: u32,
  nOut: u32,
  N: u32,         // sites (section length / 4)
  kBase: u32,     // first energy of this chunk
  nE: u32,        // energies in this chunk
  opaque: u32,    // always 0
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> xin: array<vec2<f32>>;       // [nE][B][nOut]
@group(0) @binding(2) var<storage, read> sets: array<vec4<u32>>;      // [S]: (k0, len, woff, -)
@group(0) @binding(3) var<storage, read> wts: array<vec4<f32>>;       // weights, see above
@group(0) @binding(4) var<storage, read_write> acc: array<vec4<f32>>; // [S][B][nOut]

fn opq(v: vec2<f32>) -> vec2<f32> {
  return bitcast<vec2<f32>>(bitcast<vec2<u32>>(v) ^ vec2<u32>(prm.opaque));
}

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) g: vec3<u32>) {
  let e = g.x;
  let b = g.y;
  let s = g.z;
  if (e >= prm.nOut || b >= prm.nB) { return; }
  let ws = sets[s];
  let lo = max(ws.x, prm.kBase);
  let hi = min(ws.x + ws.y, prm.kBase + prm.nE);
  if (lo >= hi) { return; }
  // weight family of output e: 0 G (complex), 1 L, 2 R
  var fam = e / (4u * prm.N);
  if (fam >= 3u) { fam = 1u + ((e - 12u * prm.N) / 4u) % 2u; }
  let idx = (s * prm.nB + b) * prm.nOut + e;
  let a = acc[idx];
  var sum = a.xy;
  var c = a.zw;
  for (var k = lo; k < hi; k++) {
    let w4 = wts[ws.z + k - ws.x];
    var w = vec2<f32>(w4.x, w4.y);
    if (fam == 1u) { w = vec2<f32>(w4.z, 0.0); }
    if (fam == 2u) { w = vec2<f32>(w4.w, 0.0); }
    if (any(w != vec2<f32>(0.0))) {
      let x = xin[((k - prm.kBase) * prm.nB + b) * prm.nOut + e];
      let y = opq(vec2<f32>(w.x * x.x - w.y * x.y, w.x * x.y + w.y * x.x) - c);
      let t = opq(sum + y);
      c = (t - sum) - y;
      sum = t;
    }
  }
  acc[idx] = vec4<f32>(sum, c);
}
