// Descriptor features shared by shaders/model/*.wgsl (value, Jacobian rows; needs lib/spin.wgsl) (must match FEAT_* in src/model/descriptor.ts).
// A feature is vec4<i32>(kind, slot0 | site-feature column, slot1, slot2); unused slots are -1.

const FEAT_SITE: i32 = 0; // lead/site feature, constant in the spins
const FEAT_DOT: i32 = 1;  // S_slot0 · S_slot1
const FEAT_CHI: i32 = 2;  // S_slot0 · (S_slot1 × S_slot2)

// Number of slots (Jacobian roles) a feature kind depends on.
fn featArity(kind: i32) -> u32 {
  return select(select(3u, 2u, kind == FEAT_DOT), 0u, kind == FEAT_SITE);
}

// The spins a feature of centre i depends on (slot0..2 of its neighbourhood, configuration offset
// `base`); ok = false when one of them is beyond an open edge (the feature and its Jacobian are 0).
struct FeatSpins { ok: bool, sa: vec3<f32>, sb: vec3<f32>, sc: vec3<f32> }

fn featSpins(spins: ptr<storage, array<f32>, read>, nbr: ptr<storage, array<i32>, read>, S: u32, i: u32, base: u32, f: vec4<i32>) -> FeatSpins {
  var r = FeatSpins(false, vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
  let a = (*nbr)[i * S + u32(f.y)];
  let b = (*nbr)[i * S + u32(f.z)];
  if (a < 0 || b < 0) { return r; }
  r.sa = load3(spins, base + u32(a));
  r.sb = load3(spins, base + u32(b));
  if (f.x == FEAT_CHI) {
    let c = (*nbr)[i * S + u32(f.w)];
    if (c < 0) { return r; }
    r.sc = load3(spins, base + u32(c));
  }
  r.ok = true;
  return r;
}

// Value of a spin feature: S_a·S_b (FEAT_DOT) or S_a·(S_b × S_c) (FEAT_CHI).
fn featValue(kind: i32, fs: FeatSpins) -> f32 {
  if (kind == FEAT_DOT) { return dot(fs.sa, fs.sb); }
  return dot(fs.sa, cross(fs.sb, fs.sc));
}

// ∂(feature)/∂S of its role r (0, 1, 2 = slot0, slot1, slot2); zero for roles it does not have.
fn featGrad(kind: i32, fs: FeatSpins, r: u32) -> vec3<f32> {
  if (kind == FEAT_DOT) {
    if (r == 0u) { return fs.sb; }
    if (r == 1u) { return fs.sa; }
    return vec3<f32>(0.0);
  }
  if (r == 0u) { return cross(fs.sb, fs.sc); }
  if (r == 1u) { return cross(fs.sc, fs.sa); }
  return cross(fs.sa, fs.sb);
}

// Bond-torque head (src/model/torque.ts): A = Σ_k a_k S_{n_k(i)}, B = Σ_k b_k S_{n_k(i)} over the
// four nearest neighbours (nn: N×4, -1 absent); outputs y row-major with TORQUE_OUTPUTS per row,
// a_k at 2 + k, b_k at 6 + k. `base`: configuration offset of the spins, `yRow`: row of i in y.
const TORQUE_OUTPUTS: u32 = 10u;
struct TorqueAB { A: vec3<f32>, B: vec3<f32> }

fn torqueAB(spins: ptr<storage, array<f32>, read>, nn: ptr<storage, array<i32>, read>, y: ptr<storage, array<f32>, read>, base: u32, i: u32, yRow: u32) -> TorqueAB {
  var r = TorqueAB(vec3<f32>(0.0), vec3<f32>(0.0));
  for (var k = 0u; k < 4u; k++) {
    let j = (*nn)[4u * i + k];
    if (j < 0) { continue; }
    let sj = load3(spins, base + u32(j));
    r.A += (*y)[TORQUE_OUTPUTS * yRow + 2u + k] * sj;
    r.B += (*y)[TORQUE_OUTPUTS * yRow + 6u + k] * sj;
  }
  return r;
}
