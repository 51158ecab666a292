// Force assembly h = -(∂E/∂S)⊥ - S × ∂Φ/∂S [+ S × A + B⊥, bond-torque head] and its transpose,
// B configurations (twins: src/model/assembly.ts, src/model/torque.ts). Race-free: `forward` gathers
// per spin j over the inverse neighbour table, `transpose` computes each (b, i, d) from the ≤ 3
// sites of feature d, `torque_transpose` each row's Ȳ from its own neighbours; no atomics.
//
// Input gradients / output U share one layout: channel E of (row = b*N + i, feature d) lives at
// g[offE + row*stride + d], channel Φ at g[offP + row*stride + d].
// dG: B×N×D×3×3 from descriptor.wgsl; spins, h, dLdh: B×N×3.
//!include "lib/spin.wgsl"
//!include "lib/model.wgsl"

struct Params {
  B: u32,
  N: u32,
  D: u32,
  S: u32,
  useE: u32,
  useP: u32,
  offE: u32,
  offP: u32,
  stride: u32,
  torque: u32,  // bond-torque head on: y holds TORQUE_OUTPUTS per row
  gridX: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> spins: array<f32>;
@group(0) @binding(2) var<storage, read> dG: array<f32>;
@group(0) @binding(3) var<storage, read> nbr: array<i32>;         // N×S
@group(0) @binding(4) var<storage, read> feat: array<vec4<i32>>;  // D: (kind, s0, s1, s2)
@group(0) @binding(5) var<storage, read> invStart: array<u32>;    // N+1
@group(0) @binding(6) var<storage, read> invEntry: array<u32>;    // i*S + s
@group(0) @binding(7) var<storage, read> incStart: array<u32>;    // S+1
@group(0) @binding(8) var<storage, read> incEntry: array<u32>;    // d*3 + r
@group(0) @binding(9) var<storage, read> g: array<f32>;           // forward input (gE, gP)
@group(0) @binding(10) var<storage, read_write> h: array<f32>;    // forward output
@group(0) @binding(11) var<storage, read> dLdh: array<f32>;       // transpose input
@group(0) @binding(12) var<storage, read_write> u: array<f32>;    // transpose output (UE, UP)
@group(0) @binding(13) var<storage, read> y: array<f32>;          // network outputs, B×N×TORQUE_OUTPUTS
@group(0) @binding(14) var<storage, read> nn: array<i32>;         // N×4 nearest neighbours
@group(0) @binding(15) var<storage, read_write> ybar: array<f32>; // torque_transpose output

fn jac(o: u32) -> vec3<f32> {
  return vec3<f32>(dG[o], dG[o + 1u], dG[o + 2u]);
}

// One invocation per (b, j), row = b*N + j.
@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.gridX;
  if (row >= p.B * p.N) { return; }
  let j = row % p.N;
  let base = row - j;
  var gradE = vec3<f32>(0.0);
  var gradP = vec3<f32>(0.0);
  for (var e = invStart[j]; e < invStart[j + 1u]; e++) {
    let packed = invEntry[e];
    let s = packed % p.S;
    let ri = base + packed / p.S;            // row of the centre site i
    for (var q = incStart[s]; q < incStart[s + 1u]; q++) {
      let dr = incEntry[q];
      let d = dr / 3u;
      let w = jac(9u * (ri * p.D + d) + 3u * (dr % 3u));
      if (p.useE != 0u) { gradE += g[p.offE + ri * p.stride + d] * w; }
      if (p.useP != 0u) { gradP += g[p.offP + ri * p.stride + d] * w; }
    }
  }
  if (p.torque != 0u) {
    let t = torqueAB(&spins, &nn, &y, base, j, row);
    gradE -= t.B;
    gradP -= t.A;
  }
  let sj = load3(&spins, row);
  let hj = -perp(gradE, sj) - cross(sj, gradP);
  h[3u * row] = hj.x;
  h[3u * row + 1u] = hj.y;
  h[3u * row + 2u] = hj.z;
}

// One invocation per (b, i, d), t = row*D + d.
@compute @workgroup_size(64)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  if (t >= p.B * p.N * p.D) { return; }
  let d = t % p.D;
  let row = t / p.D;
  let i = row % p.N;
  let base = row - i;
  let f = feat[d];
  let slots = vec3<i32>(f.y, f.z, f.w);
  let arity = featArity(f.x);
  var uE = 0.0;
  var uP = 0.0;
  for (var r = 0u; r < arity; r++) {
    let j = nbr[i * p.S + u32(slots[r])];
    if (j < 0) { continue; }
    let rj = base + u32(j);
    let sj = load3(&spins, rj);
    let a = load3(&dLdh, rj);
    let w = jac(9u * t + 3u * r);
    uE -= dot(perp(a, sj), w);
    uP += dot(cross(sj, a), w);
  }
  u[p.offE + row * p.stride + d] = select(0.0, uE, p.useE != 0u);
  u[p.offP + row * p.stride + d] = select(0.0, uP, p.useP != 0u);
}

// Ȳ = ∂L/∂y of the bond-torque head, one invocation per row (b, i): channels ε, φ get 0,
// ∂L/∂a_k = r·(S_i × S_j), ∂L/∂b_k = r·S_j - (r·S_i)(S_i·S_j), r = ∂L/∂h_i, j = n_k(i).
@compute @workgroup_size(64)
fn torque_transpose(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.gridX;
  if (row >= p.B * p.N) { return; }
  let i = row % p.N;
  let base = row - i;
  let si = load3(&spins, row);
  let r = load3(&dLdh, row);
  let o = TORQUE_OUTPUTS * row;
  ybar[o] = 0.0;
  ybar[o + 1u] = 0.0;
  for (var k = 0u; k < 4u; k++) {
    let j = nn[4u * i + k];
    var a = 0.0;
    var b = 0.0;
    if (j >= 0) {
      let sj = load3(&spins, base + u32(j));
      a = dot(r, cross(si, sj));
      b = dot(r, sj) - dot(r, si) * dot(si, sj);
    }
    ybar[o + 2u + k] = a;
    ybar[o + 6u + k] = b;
  }
}
