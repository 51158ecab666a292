// Weight gradients of one linear layer as a split-K GEMM, race-free (no atomics):
//   main  : part[z, o, i] = Σ_{k in chunk z} A[k, o] B[k, i],  k over all S·R stacked rows,
//           A = adjoint stack of layer l (S·R × n_out, row-major), B = layer-input stack
//           (stack s = rows s·R..s·R+R-1 read from b{s} at b_off{s}), plus a virtual column
//           i = n_in equal to 1 on stack-0 rows so that part[z, o, n_in] accumulates the bias gradient.
//   reduce: grad[θ index of (o, i)] = Σ_z part[z, o, i] in fixed order (deterministic), scattering
//           column n_in to the bias. Every weight and bias of the layer is written (no zeroing needed).
// GEMM entries: main (matmul_core) and main_wide (matmul_wide); the split-K partition (and so the
// f32 rounding of the weight gradients, never their value) depends on the entry's tile geometry.
// Twin: the ∂L/∂W, ∂L/∂b lines of MlpTwin.backward.
//!include "model/matmul_core.wgsl"
//!include "model/matmul_wide.wgsl"

struct Params {
  M: u32,        // n_out
  N: u32,        // n_in + 1
  K: u32,        // S·R
  R: u32,
  k_chunk: u32,  // rows per split (multiple of BK)
  nsplit: u32,
  w_off: u32,
  b_off: u32,
  b_off0: u32,
  b_off1: u32,
  b_off2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> adj: array<f32>;
@group(0) @binding(2) var<storage, read> b0: array<f32>;
@group(0) @binding(3) var<storage, read> b1: array<f32>;
@group(0) @binding(4) var<storage, read> b2: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<storage, read> part_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad: array<f32>;

const A_K_FAST: bool = false;
const B_K_FAST: bool = false;

fn gemm_a(s: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  return adj[k * p.M + m];
}

fn gemm_b(k: u32, n: u32) -> f32 {
  let nin = p.N - 1u;
  if (n > nin || k >= p.K) { return 0.0; }
  let blk = k / p.R;
  if (n == nin) { return select(0.0, 1.0, blk == 0u); }
  let e = (k - blk * p.R) * nin + n;
  if (blk == 0u) { return b0[p.b_off0 + e]; }
  if (blk == 1u) { return b1[p.b_off1 + e]; }
  return b2[p.b_off2 + e];
}

fn gemm_store(m: u32, n: u32, v: vec3<f32>) {
  part[(m + p.M * wg_z) * p.N + n] = v.x;
}

var<private> wg_z: u32;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let TY = 64u / TX;
  wg_z = wid.z;
  let k0 = wid.z * p.k_chunk;
  gemm_run(lid, wid.y * TY * TM, wid.x * TX * TN, p.M, p.N, k0, min(p.K, k0 + p.k_chunk));
}

// Same GEMM on the wide register-blocked tiles (real GPUs; see matmul_wide.wgsl).
@compute @workgroup_size(256)
fn main_wide(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  wg_z = wid.z;
  let k0 = wid.z * p.k_chunk;
  wide_run(lid, wid.y * wide_bm(), wid.x * wide_bn(), p.M, p.N, k0, min(p.K, k0 + p.k_chunk));
}

@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x;
  let len = p.M * p.N;
  if (e >= len) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.nsplit; z++) { s += part_in[z * len + e]; }
  let o = e / p.N;
  let i = e % p.N;
  if (i == p.N - 1u) { grad[p.b_off + o] = s; } else { grad[p.w_off + o * (p.N - 1u) + i] = s; }
}
