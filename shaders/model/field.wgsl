// ML field h = -(∂E/∂S)⊥ - S × ∂Φ/∂S of ONE configuration, evaluated in row chunks so that no
// N×D×9 Jacobian is ever stored (twin: descriptorF64 → MlpTwin.inputGrad → assemblyForwardF64,
// see src/model/field.ts). Per chunk of rows [r0, r0+R) (centre sites i):
//   features : G[(i-r0)*D + d] = (G_id - μ_d)/σ_d          one invocation per (row, d); rows ≥ N get 0
//   (MLP input gradient of the chunk: g = [gE (R×D) | gP (R×D)], src/model/mlp.ts)
//   slotgrad : partial[i-r0, s] = Σ_{(d,r): role r of feature d is slot s} g_{c,id}/σ_d ∂G_id/∂S_{slot s}
//              for c = E, P: one invocation per row, centre-major; each row owns its S slots (no races).
//              The row's S slot spins are loaded once into a function array (0 for an absent slot);
//              the loops run over slots s, then over the slot's bond and chirality entries
//              (slotStart/slotEntry: one packed u32 per entry with d and the feature's OTHER slots),
//              the same trip counts in every lane. ∂G/∂S of a slot is S_other (bond) or
//              S_{r+1} × S_{r+2} (chirality, roles cyclic) = featGrad of lib/model.wgsl.
//              With the bond-torque head (torque = 1) slot 0 (the centre itself) also gets
//              -(B_i, A_i) (src/model/torque.ts; y = the chunk's network outputs, TORQUE_OUTPUTS per
//              row), so finish adds S × A + B⊥.
//   gather   : acc_j += Σ_s partial[i-r0, s] over the centres i = invSlot[j, s] of the chunk, one
//              invocation per site j of the chunk's cyclic site range [jStart, jStart+jCount) mod N
//              (the host computes it from the neighbour table: the sites the chunk's centres touch).
// After all chunks:
//   finish   : out_j = -perp(accE_j, S_j) - S_j × accP_j, and acc_j ← 0 (acc is zero between calls).
// Race-free, no atomics; each (i, d, r) contributes exactly once (per slot, as the twin); per slot the
// terms are summed in ascending d. acc: N×6 (∂E/∂S_j xyz, ∂Φ/∂S_j xyz); partial: R×S×6 (same
// layout); spins, out: N×3.
// Lavapipe (shaders/README.md rule 12): every storage or function-array access in these loops is a
// per-lane load, so the design minimises their number: ~7-10 per (slot, entry) against ~15-20 for
// the former site-major `accumulate`, which recomputed each feature's spins per touching site
// (measured: scratch/acc, docs/model.md "ML field").
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
@group(0) @binding(7) var<storage, read> invSlot: array<i32>;    // N×S: i with nbr[i*S+s] = j, or -1
@group(0) @binding(8) var<storage, read_write> partial: array<f32>; // R×S×6 per-(row, slot) sums
@group(0) @binding(9) var<storage, read> slotStart: array<u32>;  // 2S+1: slot s: bonds [2s, 2s+1), chiralities [2s+1, 2s+2)
@group(0) @binding(10) var<storage, read> slotEntry: array<u32>; // packed (d, the feature's other slots), entrySlot
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

const SLOT_MAX: u32 = 128u; // most slots per site (checked by the host): size of slotgrad's spin array

// g_{c,d}/σ_d · jac added to (∂E/∂S, ∂Φ/∂S) of a slot, for the potentials the model has.
struct SlotGrad { E: vec3<f32>, P: vec3<f32> }

fn addTerm(a: SlotGrad, row: u32, d: u32, jac: vec3<f32>) -> SlotGrad {
  let w = jac * norm[d].y;
  var r = a;
  if (p.useE != 0u) { r.E += g[row * p.D + d] * w; }
  if (p.useP != 0u) { r.P += g[(p.R + row) * p.D + d] * w; }
  return r;
}

// slotEntry = d | o1 << ENTRY_D_BITS | o2 << (ENTRY_D_BITS + ENTRY_SLOT_BITS) (must match field.ts)
const ENTRY_D_BITS: u32 = 18u;
const ENTRY_SLOT_BITS: u32 = 7u; // SLOT_MAX = 1 << ENTRY_SLOT_BITS

fn entryD(e: u32) -> u32 { return e & ((1u << ENTRY_D_BITS) - 1u); }
fn entrySlot(e: u32, k: u32) -> u32 { return (e >> (ENTRY_D_BITS + k * ENTRY_SLOT_BITS)) & (SLOT_MAX - 1u); }

@compute @workgroup_size(64)
fn slotgrad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  let row = min(t, p.R - 1u);        // no early return: every lane runs the same loops
  let i = min(p.r0 + row, p.N - 1u); // padding rows compute a copy of the last site, never gathered
  // Spins of the slots, 0 where absent: a feature with an absent slot is 0 with zero Jacobian rows,
  // and every row below is a product of the feature's OTHER slots' spins, so zeros give exactly
  // that; the row of the absent slot itself is never gathered (no invSlot entry points at it).
  var sp = array<vec3<f32>, SLOT_MAX>();
  for (var s = 0u; s < p.S; s++) {
    let n = nbr[i * p.S + s];
    sp[s] = select(vec3<f32>(0.0), load3(&spins, u32(max(n, 0))), n >= 0);
  }
  for (var s = 0u; s < p.S; s++) {
    var a = SlotGrad(vec3<f32>(0.0), vec3<f32>(0.0));
    for (var q = slotStart[2u * s]; q < slotStart[2u * s + 1u]; q++) { // bonds S_s · S_other
      let e = slotEntry[q];
      a = addTerm(a, row, entryD(e), sp[entrySlot(e, 0u)]);
    }
    for (var q = slotStart[2u * s + 1u]; q < slotStart[2u * s + 2u]; q++) { // chiralities, s in role r
      let e = slotEntry[q];
      a = addTerm(a, row, entryD(e), cross(sp[entrySlot(e, 0u)], sp[entrySlot(e, 1u)]));
    }
    if (s == 0u && p.torque != 0u) {
      let ab = torqueAB(&spins, &nn, &y, 0u, i, row);
      a.E -= ab.B;
      a.P -= ab.A;
    }
    if (t < p.R) {
      let o = 6u * (row * p.S + s);
      partial[o] = a.E.x;
      partial[o + 1u] = a.E.y;
      partial[o + 2u] = a.E.z;
      partial[o + 3u] = a.P.x;
      partial[o + 4u] = a.P.y;
      partial[o + 5u] = a.P.z;
    }
  }
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * p.gridX;
  if (t >= p.jCount) { return; }
  let j = (p.jStart + t) % p.N;
  var sum = array<f32, 6>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  for (var s = 0u; s < p.S; s++) {
    let i = invSlot[j * p.S + s];
    let row = u32(i) - p.r0; // ≥ R (wrapped) when i < r0 or i = -1
    if (i >= 0 && row < p.R) {
      let o = 6u * (row * p.S + s);
      for (var k = 0u; k < 6u; k++) { sum[k] += partial[o + k]; }
    }
  }
  for (var k = 0u; k < 6u; k++) { acc[6u * j + k] += sum[k]; }
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
