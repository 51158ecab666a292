// MLP backward through one linear layer + the previous activation, S = 1..3 adjoint stacks
// (twin: MlpTwin.inputGrad / backward). With ā_s = W_lᵀ d_s (d = adjoint stack at layer l, R×K per
// stack, K = n_l; C = D W, W [out=K, in=N] row-major):
//   RAW          : out_s = ā_s                           (layer 1: the input gradient g^c)
//   tangent s≥P  : out_s = σ'(z) ā_s                     (δ^c, also the input-gradient recursion)
//   primal  s=0<P: out_0 = σ'(z) ā_0 + σ''(z) Σ_{s≥1} ā_s ż_s   (z̄ of the double backward)
// where z, ż_s are the stacked pre-activations (zst: stack s at s·R·N) of layer l-1.
// Entry `seed` writes the adjoint stack of the output layer: stack 0 = Ȳ (or 0) when P = 1, and the
// one-hot channel seeds e_c for the tangent stacks.
// GEMM entries: main (matmul_core) and main_wide (matmul_wide), chosen per layer by the host.
//!include "model/mlp_act.wgsl"
//!include "model/matmul_core.wgsl"
//!include "model/matmul_wide.wgsl"

struct Params {
  M: u32,      // rows R
  N: u32,      // n_{l-1}
  K: u32,      // n_l
  w_off: u32,
}

struct SeedParams {
  R: u32,
  S: u32,
  P: u32,
  NO: u32,     // outputs per row (2, or 10 with the bond-torque head)
  has_ybar: u32,
  ybar_off: u32,
}

override P: u32 = 0u;
override RAW: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> dst_in: array<f32>;
@group(0) @binding(3) var<storage, read> zst: array<f32>;
@group(0) @binding(4) var<storage, read_write> dout: array<f32>;
@group(0) @binding(5) var<uniform> sp: SeedParams;
@group(0) @binding(6) var<storage, read> ybar: array<f32>;

const A_K_FAST: bool = true;
const B_K_FAST: bool = false;

fn gemm_a(s: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  return dst_in[s * p.M * p.K + m * p.K + k];
}

fn gemm_b(k: u32, n: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  return theta[p.w_off + k * p.N + n];
}

fn gemm_store(m: u32, n: u32, v: vec3<f32>) {
  let e = m * p.N + n;
  let st = p.M * p.N;
  var o = v;
  if (!RAW) {
    let f = act3(zst[e]);
    o = f.y * v;
    if (P == 1u) {
      var c = 0.0;
      if (S >= 2u) { c += v.y * zst[st + e]; }
      if (S >= 3u) { c += v.z * zst[2u * st + e]; }
      o.x += f.z * c;
    }
  }
  dout[e] = o.x;
  if (S >= 2u) { dout[st + e] = o.y; }
  if (S >= 3u) { dout[2u * st + e] = o.z; }
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let TY = 64u / TX;
  gemm_run(lid, wid.y * TY * TM, wid.x * TX * TN, p.M, p.N, 0u, p.K);
}

// Same GEMM on the wide register-blocked tiles (real GPUs; see matmul_wide.wgsl).
@compute @workgroup_size(256)
fn main_wide(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  wide_run(lid, wid.y * wide_bm(), wid.x * wide_bn(), p.M, p.N, 0u, p.K);
}

// Output-layer adjoint stack, R×NO per stack (tangent seeds one-hot on channels 0 = ε, 1 = φ).
@compute @workgroup_size(64)
fn seed(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  if (e >= sp.S * sp.R * sp.NO) { return; }
  let s = e / (sp.R * sp.NO);
  let c = e % sp.NO;
  var v = 0.0;
  if (s < sp.P) {
    if (sp.has_ybar != 0u) { v = ybar[sp.ybar_off + e]; }
  } else {
    v = select(0.0, 1.0, c == s - sp.P);
  }
  dout[e] = v;
}
