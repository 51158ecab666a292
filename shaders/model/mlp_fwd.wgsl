// MLP forward for one linear layer, batched over R rows, S = 1..3 stacks (twin: MlpTwin.forward and
// the tangent pass of MlpTwin.doubleBackward).
//   stack 0 (primal):   z = W h + b,  writes z and h' = σ(z)            (hidden layer)
//                       y = W h + b,  writes y to zout                  (LAST: output layer, S = 1)
//   stack c = 1, 2:     ż = W ḣ (no bias), writes ż and σ'(z) ż        (tangents along U^E, U^Φ)
// A operand: stack s reads `a{s}` at element offset a_off{s} + m·K + k (row-major R×K); for the
// first layer these are x, U^E, U^Φ; for later layers the same stacked buffer bound three times.
// B operand: W of this layer in θ (PyTorch [out, in] row-major at w_off), i.e. C = A Wᵀ.
// Outputs: stack s at element s·R·N + m·N + n of zout / hout.
// Entries: main (matmul_core: direct or 64-invocation tiles, override TX) and main_wide
// (matmul_wide: 256-invocation register-blocked tiles, override WTN); the host picks per layer.
//!include "model/mlp_act.wgsl"
//!include "model/matmul_core.wgsl"
//!include "model/matmul_wide.wgsl"

struct Params {
  M: u32,      // rows R
  N: u32,      // layer outputs
  K: u32,      // layer inputs
  w_off: u32,
  b_off: u32,
  a_off0: u32,
  a_off1: u32,
  a_off2: u32,
}

override LAST: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> a0: array<f32>;
@group(0) @binding(3) var<storage, read> a1: array<f32>;
@group(0) @binding(4) var<storage, read> a2: array<f32>;
@group(0) @binding(5) var<storage, read_write> zout: array<f32>;
@group(0) @binding(6) var<storage, read_write> hout: array<f32>;

const A_K_FAST: bool = true;
const B_K_FAST: bool = true;

fn gemm_a(s: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  let e = m * p.K + k;
  if (s == 0u) { return a0[p.a_off0 + e]; }
  if (s == 1u) { return a1[p.a_off1 + e]; }
  return a2[p.a_off2 + e];
}

fn gemm_b(k: u32, n: u32) -> f32 {
  if (n >= p.N || k >= p.K) { return 0.0; }
  return theta[p.w_off + n * p.K + k];
}

fn gemm_store(m: u32, n: u32, v: vec3<f32>) {
  let e = m * p.N + n;
  let z = v.x + theta[p.b_off + n];
  zout[e] = z;
  if (LAST) { return; }
  let f = act3(z);
  hout[e] = f.x;
  let st = p.M * p.N;
  if (S >= 2u) { zout[st + e] = v.y; hout[st + e] = f.y * v.y; }
  if (S >= 3u) { zout[2u * st + e] = v.z; hout[2u * st + e] = f.y * v.z; }
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
