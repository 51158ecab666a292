// Descriptor G and its Jacobian dG for B configurations (twin: src/model/descriptor.ts).
// One invocation per (b, i, d), flattened t = (b*N + i)*D + d over a 2-D grid (t = x + y*gridX).
// spins: B×N×3; G: B×N×D; dG: B×N×D×3×3 (role r, xyz). Both normalised: G̃ = (G-μ)·invStd,
// dG̃ = dG·invStd. A feature touching an absent site (nbr = -1) is 0 with zero Jacobian.
//!include "lib/spin.wgsl"
//!include "lib/model.wgsl"

struct Params {
  B: u32,
  N: u32,
  D: u32,
  S: u32,      // slots per site (centre + neighbours)
  C: u32,      // site features per site
  gridX: u32,  // invocations per grid row
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> spins: array<f32>;
@group(0) @binding(2) var<storage, read> nbr: array<i32>;        // N×S
@group(0) @binding(3) var<storage, read> feat: array<vec4<i32>>; // D: (kind, s0|column, s1, s2)
@group(0) @binding(4) var<storage, read> siteValues: array<f32>; // N×C
@group(0) @binding(5) var<storage, read> norm: array<vec2<f32>>; // D: (mean, 1/std)
@group(0) @binding(6) var<storage, read_write> G: array<f32>;
@group(0) @binding(7) var<storage, read_write> dG: array<f32>;

@compute @workgroup_size(64)
fn descriptor(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  if (t >= p.B * p.N * p.D) { return; }
  let d = t % p.D;
  let row = t / p.D;           // b*N + i
  let i = row % p.N;
  let base = row - i;          // b*N
  let f = feat[d];
  var g = 0.0;
  var j0 = vec3<f32>(0.0);
  var j1 = vec3<f32>(0.0);
  var j2 = vec3<f32>(0.0);
  if (f.x == FEAT_SITE) {
    g = siteValues[i * p.C + u32(f.y)];
  } else {
    let fs = featSpins(&spins, &nbr, p.S, i, base, f);
    if (fs.ok) {
      g = featValue(f.x, fs);
      j0 = featGrad(f.x, fs, 0u);
      j1 = featGrad(f.x, fs, 1u);
      j2 = featGrad(f.x, fs, 2u);
    }
  }
  let nm = norm[d];
  G[t] = (g - nm.x) * nm.y;
  let o = 9u * t;
  var w = array<vec3<f32>, 3>(j0 * nm.y, j1 * nm.y, j2 * nm.y);
  for (var r = 0u; r < 3u; r++) {
    dG[o + 3u * r] = w[r].x;
    dG[o + 3u * r + 1u] = w[r].y;
    dG[o + 3u * r + 2u] = w[r].z;
  }
}
