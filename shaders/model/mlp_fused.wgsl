// Fused per-row MLP input gradient for SMALL networks (twin: MlpTwin.forward + MlpTwin.inputGrad).
// For its rows, one invocation computes the whole forward
//   z_l = W_l h_{l-1} + b_l,  h_l = σ(z_l)  (hidden l = 0..NH-1, h_{-1} = x_r),  y = W_NH h_{NH-1} + b_NH
// and both input-gradient backward passes (channels c = 0 ε, 1 φ; seed δ_NH^c = e_c, so the first
// adjoint is row c of the output weight)
//   δ_{NH-1}^c = σ'(z_{NH-1}) ⊙ W_NH[c, :],  δ_{l-1}^c = σ'(z_{l-1}) ⊙ W_lᵀ δ_l^c,  g^c = W_0ᵀ δ_0^c,
// keeping every hidden vector in private arrays and reading the weights straight from θ (the same
// address in every invocation: a broadcast load). No workgroup memory, no barriers: one dispatch
// replaces the 2·(NH+1)+1 dispatches of the layered path (mlp_fwd / mlp_bwd).
// Outputs in MlpGpu's layouts: y at r·P + c (all P outputs), g^0 at r·D + k, g^1 at R·D + r·D + k.
//
// Rows per invocation: ROWS = 4, one per vec4 lane, so each weight load feeds 4 rows and each
// private-array access moves 4 values (on lavapipe, where an invocation is a SIMD lane, the kernel
// is bound by these loads: 1 row per invocation measured 2-3x slower). Register blocks: the forward
// runs dot products over 4 outputs at a time, the backward over 2 inputs × 2 channels.
//
// Sizes are pipeline overrides: D inputs (any size: x and g stream through storage), P outputs,
// NH hidden layers (1..4) of widths H0..H3 (each 1..MAXW, together ≤ MAXU; unused ones are
// ignored). Private arrays have the fixed sizes MAXW = 64 (per layer) and MAXU = 128 (the σ'(z)
// of all hidden layers, flat); loop bounds are the override widths. Larger private arrays cost
// shader-compile time on lavapipe (8.6 s for a per-layer 4×64 σ' store vs 1.8 s for this one).
// Precision: f32, each value a sequential fma chain over the layer's inputs in the twin's order,
// so the error is that of the layered GEMMs (~sqrt(K)·2^-24 relative).
//!include "model/mlp_act.wgsl"

const MAXW: u32 = 64u;
const MAXU: u32 = 128u; // hidden units in all (σ' store)
const ROWS: u32 = 4u; // rows per invocation (the lanes of every vec4)

override D: u32 = 1u;
override P: u32 = 2u;
override NH: u32 = 1u;
override H0: u32 = 1u;
override H1: u32 = 1u;
override H2: u32 = 1u;
override H3: u32 = 1u;

struct Params {
  R: u32,      // rows of this call
  x_off: u32,  // element offset of x in its buffer
  gridX: u32,  // invocations per grid row (2-D dispatch)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;

/** Width of hidden layer l < NH. */
fn hidden_width(l: u32) -> u32 {
  switch l {
    case 0u: { return H0; }
    case 1u: { return H1; }
    case 2u: { return H2; }
    default: { return H3; }
  }
}
/** Inputs and outputs of linear layer l = 0..NH. */
fn n_in(l: u32) -> u32 { return select(hidden_width(l - 1u), D, l == 0u); }
fn n_out(l: u32) -> u32 { return select(hidden_width(l), P, l == NH); }
/** Offset of hidden layer l in the σ' store. */
fn u_off(l: u32) -> u32 {
  var o = 0u;
  for (var j = 0u; j < l; j++) { o += hidden_width(j); }
  return o;
}
/** θ offset of layer l's weight [n_out, n_in] (its bias follows at + n_in·n_out). */
fn w_off(l: u32) -> u32 {
  var o = 0u;
  for (var j = 0u; j < l; j++) { o += (n_in(j) + 1u) * n_out(j); }
  return o;
}

/** Input k of rows r0..r0+3 (rows past R repeat row R-1; their results are not stored). */
fn x4(r0: u32, k: u32) -> vec4<f32> {
  let m = p.R - 1u;
  let b = p.x_off + k;
  return vec4<f32>(x[b + min(r0, m) * D], x[b + min(r0 + 1u, m) * D], x[b + min(r0 + 2u, m) * D], x[b + min(r0 + 3u, m) * D]);
}

/** Weight θ[w + min(i, n-1)·stride]: index i of a block clamped into the layer (width n). */
fn wt(w: u32, i: u32, n: u32, stride: u32) -> vec4<f32> {
  return vec4<f32>(theta[w + min(i, n - 1u) * stride]);
}

@compute @workgroup_size(64) // = the WG of grid() in src/model/descriptor-gpu.ts (host 2-D dispatch)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r0 = ROWS * (gid.x + gid.y * p.gridX);
  if (r0 >= p.R) { return; }
  // every vector holds rows r0..r0+3 (vec4 lanes); arrays are indexed by unit
  var ds: array<vec4<f32>, MAXU>;              // σ'(z_l) of every hidden layer, at u_off(l)
  var h: array<vec4<f32>, MAXW>;                // activations of the previous layer
  var acc: array<vec4<f32>, MAXW>;              // outputs of the current layer

  // forward: dot products in blocks of 4 outputs (stores past N land in the padding, N ≤ MAXW);
  // layer 0 reads x from storage
  for (var l = 0u; l <= NH; l++) {
    let K = n_in(l);
    let N = n_out(l);
    let w = w_off(l);
    let b = w + K * N;
    for (var n0 = 0u; n0 < N; n0 += 4u) {
      var s0 = wt(b, n0, N, 1u);
      var s1 = wt(b, n0 + 1u, N, 1u);
      var s2 = wt(b, n0 + 2u, N, 1u);
      var s3 = wt(b, n0 + 3u, N, 1u);
      for (var k = 0u; k < K; k++) {
        var a: vec4<f32>;
        if (l == 0u) { a = x4(r0, k); } else { a = h[k]; }
        s0 = fma(wt(w + k, n0, N, K), a, s0);
        s1 = fma(wt(w + k, n0 + 1u, N, K), a, s1);
        s2 = fma(wt(w + k, n0 + 2u, N, K), a, s2);
        s3 = fma(wt(w + k, n0 + 3u, N, K), a, s3);
      }
      acc[n0] = s0;
      acc[n0 + 1u] = s1;
      acc[n0 + 2u] = s2;
      acc[n0 + 3u] = s3;
    }
    if (l == NH) { break; }
    for (var n = 0u; n < N; n++) {
      var hv: vec4<f32>;
      var dv: vec4<f32>;
      for (var i = 0u; i < ROWS; i++) {
        let f = act3(acc[n][i]);
        hv[i] = f.x;
        dv[i] = f.y;
      }
      h[n] = hv;
      ds[u_off(l) + n] = dv;
    }
  }
  let rows = min(ROWS, p.R - r0);
  for (var i = 0u; i < rows; i++) {
    for (var c = 0u; c < P; c++) { y[(r0 + i) * P + c] = acc[c][i]; }
  }

  // backward, both channels; δ of the last hidden layer from the output weight's rows 0 and 1
  var dE: array<vec4<f32>, MAXW>;
  var dP: array<vec4<f32>, MAXW>;
  let KL = n_in(NH);
  let wL = w_off(NH);
  let uL = u_off(NH - 1u);
  for (var k = 0u; k < KL; k++) {
    dE[k] = ds[uL + k] * theta[wL + k];
    dP[k] = ds[uL + k] * theta[wL + KL + k];
  }
  // a^c = W_lᵀ δ_l^c in blocks of 2 inputs k; layer 0 (K = D, any size) writes g^c to storage
  for (var l = NH; l >= 1u; l--) {
    let K = n_in(l - 1u);
    let N = n_out(l - 1u);
    let w = w_off(l - 1u);
    for (var k0 = 0u; k0 < K; k0 += 2u) {
      var e0 = vec4<f32>(0.0);
      var e1 = e0;
      var q0 = e0;
      var q1 = e0;
      for (var n = 0u; n < N; n++) {
        let w0 = wt(w + n * K, k0, K, 1u);
        let w1 = wt(w + n * K, k0 + 1u, K, 1u);
        e0 = fma(w0, dE[n], e0);
        e1 = fma(w1, dE[n], e1);
        q0 = fma(w0, dP[n], q0);
        q1 = fma(w1, dP[n], q1);
      }
      if (l == 1u) {
        let two = k0 + 1u < K;
        for (var i = 0u; i < rows; i++) {
          let gE = (r0 + i) * D + k0;
          let gP = p.R * D + gE;
          g[gE] = e0[i];
          g[gP] = q0[i];
          if (two) {
            g[gE + 1u] = e1[i];
            g[gP + 1u] = q1[i];
          }
        }
      } else {
        // δ_{l-2} = σ'(z_{l-2}) ⊙ a; dE/dP still hold δ_{l-1}, so it goes to h/acc (free in the
        // backward) and is copied after the block loop (k0 + 1 < MAXW: K ≤ MAXW, k0 even)
        let u = u_off(l - 2u) + k0;
        h[k0] = ds[u] * e0;
        h[k0 + 1u] = ds[min(u + 1u, MAXU - 1u)] * e1;
        acc[k0] = ds[u] * q0;
        acc[k0 + 1u] = ds[min(u + 1u, MAXU - 1u)] * q1;
      }
    }
    if (l > 1u) {
      for (var k = 0u; k < K; k++) {
        dE[k] = h[k];
        dP[k] = acc[k];
      }
    }
  }
}
