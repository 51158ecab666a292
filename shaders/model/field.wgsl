// ML field h = -(∂E/∂S)⊥ - S × ∂Φ/∂S of ONE configuration, evaluated in row chunks so that no
// N×D×9 Jacobian is ever stored (twin: descriptorF64 → MlpTwin.inputGrad → assemblyForwardF64,
// see src/model/field.ts). Per chunk of rows [r0, r0+R) (centre sites i):
//   features   : G[(i-r0)*D + d] = (G_id - μ_d)/σ_d          one invocation per (row, d); rows ≥ N get 0
//   (MLP input gradient of the chunk: g = [gE (R×D) | gP (R×D)], src/model/mlp.ts)
//   accumulate : acc_j += Σ_{(i,s) ∈ inv(j), i in chunk} Σ_{(d,r) ∈ inc(s)} g_{c,id}/σ_d ∂G_id/∂S_{slot r}
//                one invocation per site j of the chunk's cyclic site range [jStart, jStart+jCount) mod N
//                (the host computes it from the neighbour table: the sites the chunk's centres touch);
//                the Jacobian block is recomputed from the spins (same formulas as descriptor.wgsl).
//                With the bond-torque head (torque = 1) the invocation of a centre j of the chunk also
//                subtracts (B_j, A_j) from (∂E/∂S_j, ∂Φ/∂S_j) (src/model/torque.ts; y = the chunk's
//                network outputs, TORQUE_OUTPUTS per row), so finish adds S × A + B⊥.
// After all chunks:
//   finish     : out_j = -perp(accE_j, S_j) - S_j × accP_j, and acc_j ← 0 (acc is zero between calls).
// Race-free gathers, no atomics; each (i, d, r) contributes exactly once (per-slot, as the twin).
// acc: N×6 (∂E/∂S_j xyz, ∂Φ/∂S_j xyz); spins, out: N×3.
//!include "lib/spin.wgsl"
//!include "lib/model.wgsl"

struct Params {
  N: u32,
  D: u32,
  S: u32,       // slots per site (centre + neighbours)
  C: u32,       // site features per site
  r0: u32,      // first row (centre site) of the chunk
  R: u32,       // rows per chunk (the MLP batch; rows ≥ N are padding)
  jStart: u32,  // first site of the chunk's cyclic site range
  jCount: u32,  // sites in that range (≤ N)
  useE: u32,
  useP: u32,
  torque: u32,  // bond-torque head on
  gridX: u32,   // invocations per grid row (2-D dispatch)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> spins: array<f32>;
@group(0) @binding(2) var<storage, read> nbr: array<i32>;        // N×S
@group(0) @binding(3) var<storage, read> feat: array<vec4<i32>>; // D: (kind, s0|column, s1, s2)
@group(0) @binding(4) var<storage, read> siteValues: array<f32>; // N×C
@group(0) @binding(5) var<storage, read> norm: array<vec2<f32>>; // D: (mean, 1/std)
@group(0) @binding(6) var<storage, read_write> G: array<f32>;    // R×D
@group(0) @binding(7) var<storage, read> invStart: array<u32>;   // N+1
@group(0) @binding(8) var<storage, read> invEntry: array<u32>;   // i*S + s
@group(0) @binding(9) var<storage, read> incStart: array<u32>;   // S+1
@group(0) @binding(10) var<storage, read> incEntry: array<u32>;  // d*3 + r
@group(0) @binding(11) var<storage, read> g: array<f32>;         // [gE R×D | gP R×D]
@group(0) @binding(12) var<storage, read_write> acc: array<f32>; // N×6
@group(0) @binding(13) var<storage, read_write> out: array<f32>; // N×3
@group(0) @binding(14) var<storage, read> y: array<f32>;         // R×TORQUE_OUTPUTS network outputs
@group(0) @binding(15) var<storage, read> nn: array<i32>;        // N×4 nearest neighbours

@compute @workgroup_size(64)
fn features(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  if (t >= p.R * p.D) { return; }
  let d = t % p.D;
  let i = p.r0 + t / p.D;
  if (i >= p.N) {
    G[t] = 0.0;
    return;
  }
  let f = feat[d];
  var v = 0.0;
  if (f.x == FEAT_SITE) {
    v = siteValues[i * p.C + u32(f.y)];
  } else {
    let fs = featSpins(&spins, &nbr, p.S, i, 0u, f);
    if (fs.ok) { v = featValue(f.x, fs); }
  }
  let nm = norm[d];
  G[t] = (v - nm.x) * nm.y;
}

// ∂G_id/∂S_{role r} (un-normalised) of spin feature f at centre i; zero if a site is absent.
fn jacobian(i: u32, f: vec4<i32>, r: u32) -> vec3<f32> {
  let fs = featSpins(&spins, &nbr, p.S, i, 0u, f);
  if (!fs.ok) { return vec3<f32>(0.0); }
  return featGrad(f.x, fs, r);
}

@compute @workgroup_size(64)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  if (t >= p.jCount) { return; }
  let j = (p.jStart + t) % p.N;
  var gradE = vec3<f32>(0.0);
  var gradP = vec3<f32>(0.0);
  for (var e = invStart[j]; e < invStart[j + 1u]; e++) {
    let packed = invEntry[e];
    let i = packed / p.S;
    if (i < p.r0 || i >= p.r0 + p.R) { continue; }
    let s = packed % p.S;
    let row = i - p.r0;
    for (var q = incStart[s]; q < incStart[s + 1u]; q++) {
      let dr = incEntry[q];
      let d = dr / 3u;
      let w = jacobian(i, feat[d], dr % 3u) * norm[d].y;
      if (p.useE != 0u) { gradE += g[row * p.D + d] * w; }
      if (p.useP != 0u) { gradP += g[(p.R + row) * p.D + d] * w; }
    }
  }
  if (p.torque != 0u && j >= p.r0 && j < p.r0 + p.R) {
    let t = torqueAB(&spins, &nn, &y, 0u, j, j - p.r0);
    gradE -= t.B;
    gradP -= t.A;
  }
  let o = 6u * j;
  acc[o] += gradE.x;
  acc[o + 1u] += gradE.y;
  acc[o + 2u] += gradE.z;
  acc[o + 3u] += gradP.x;
  acc[o + 4u] += gradP.y;
  acc[o + 5u] += gradP.z;
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x + gid.y * p.gridX;
  if (j >= p.N) { return; }
  let o = 6u * j;
  let gradE = vec3<f32>(acc[o], acc[o + 1u], acc[o + 2u]);
  let gradP = vec3<f32>(acc[o + 3u], acc[o + 4u], acc[o + 5u]);
  let sj = load3(&spins, j);
  let h = -perp(gradE, sj) - cross(sj, gradP);
  out[3u * j] = h.x;
  out[3u * j + 1u] = h.y;
  out[3u * j + 2u] = h.z;
  for (var k = 0u; k < 6u; k++) { acc[o + k] = 0.0; }
}
