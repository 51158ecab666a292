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
// Rows per invocation: ROWS = 4, one per vec4 lane, so each weight load feeds 4 rows.
//
// Code shape: why every layer has its own function. Sizes are pipeline overrides, i.e. constants
// of the compiled pipeline: D inputs, P outputs, NH hidden layers (1..4) of widths H0..H3 (each
// 1..MAXW = 32). Every loop that indexes a private array has a trip count that is such a constant
// *used directly* (not passed as a function argument), so a SIMD driver's compiler can unroll it
// and keep the array in registers: Mesa's NIR (lavapipe) unrolls such loops up to 32 iterations,
// after which every private-array index is a constant. A loop over layers with the widths looked
// up at run time (this kernel's first form) left every hidden vector in per-lane scratch memory,
// a gather or scatter per access; a bound passed as a function argument cost 3-3.5× in a
// micro-benchmark (shaders/README.md rule 12). So the layer transitions are spelled out (the NH override removes the unused
// ones), the θ offsets are override expressions, nothing returns early (invocations past R
// recompute the last rows and store nothing: an exit on a lane-dependent condition puts the rest
// under an execution mask) and the only lane-dependent branches guard the stores.
// Precision: f32, each value a sequential fma chain over the layer's inputs in the twin's order,
// so the error is that of the layered GEMMs (~sqrt(K)·2^-24 relative).
//!include "model/mlp_act.wgsl"

const MAXW: u32 = 32u; // widest hidden layer (NIR unrolls loops of up to 32 iterations)
const ROWS: u32 = 4u; // rows per invocation (the lanes of every vec4)

override D: u32 = 1u;
override P: u32 = 2u;
override NH: u32 = 1u;
override H0: u32 = 1u;
override H1: u32 = 1u;
override H2: u32 = 1u;
override H3: u32 = 1u;
// θ offsets of the weights of layers 1..4 (a layer's bias follows its weight) and of the output layer
override W1: u32 = (D + 1u) * H0;
override W2: u32 = W1 + (H0 + 1u) * H1;
override W3: u32 = W2 + (H1 + 1u) * H2;
override W4: u32 = W3 + (H2 + 1u) * H3;
override WL: u32 = select(select(select(W4, W3, NH == 3u), W2, NH == 2u), W1, NH == 1u);
override HL: u32 = select(select(select(H3, H2, NH == 3u), H1, NH == 2u), H0, NH == 1u); // last hidden width

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

alias Units = array<vec4<f32>, MAXW>; // one vec4 (4 rows) per unit of a layer

/** θ[i] in all four rows. */
fn wt(i: u32) -> vec4<f32> { return vec4<f32>(theta[i]); }

/** Input k of the invocation's rows r0..r0+3 (rows past R repeat row R-1). */
fn x4(r0: u32, k: u32) -> vec4<f32> {
  let m = p.R - 1u;
  let b = p.x_off + k;
  return vec4<f32>(x[b + min(r0, m) * D], x[b + min(r0 + 1u, m) * D], x[b + min(r0 + 2u, m) * D], x[b + min(r0 + 3u, m) * D]);
}

/** h = σ(z), ds = σ'(z) for all MAXW units (units past a layer's width are never read). */
fn activate(z: ptr<function, Units>, h: ptr<function, Units>, ds: ptr<function, Units>) {
  for (var n = 0u; n < MAXW; n++) {
    let v = (*z)[n];
    let f0 = act3(v.x);
    let f1 = act3(v.y);
    let f2 = act3(v.z);
    let f3 = act3(v.w);
    (*h)[n] = vec4<f32>(f0.x, f1.x, f2.x, f3.x);
    (*ds)[n] = vec4<f32>(f0.y, f1.y, f2.y, f3.y);
  }
}

// z = W a + b of hidden layers 1, 2, 3 (weights at W1, W2, W3)
fn dense1(a: ptr<function, Units>, z: ptr<function, Units>) {
  for (var n = 0u; n < H1; n++) { (*z)[n] = wt(W1 + H0 * H1 + n); }
  for (var k = 0u; k < H0; k++) {
    let v = (*a)[k];
    for (var n = 0u; n < H1; n++) { (*z)[n] = fma(wt(W1 + n * H0 + k), v, (*z)[n]); }
  }
}
fn dense2(a: ptr<function, Units>, z: ptr<function, Units>) {
  for (var n = 0u; n < H2; n++) { (*z)[n] = wt(W2 + H1 * H2 + n); }
  for (var k = 0u; k < H1; k++) {
    let v = (*a)[k];
    for (var n = 0u; n < H2; n++) { (*z)[n] = fma(wt(W2 + n * H1 + k), v, (*z)[n]); }
  }
}
fn dense3(a: ptr<function, Units>, z: ptr<function, Units>) {
  for (var n = 0u; n < H3; n++) { (*z)[n] = wt(W3 + H2 * H3 + n); }
  for (var k = 0u; k < H2; k++) {
    let v = (*a)[k];
    for (var n = 0u; n < H3; n++) { (*z)[n] = fma(wt(W3 + n * H2 + k), v, (*z)[n]); }
  }
}

/**
 * Output layer from the last hidden layer (h, its σ' in ds): stores y of the invocation's rows and
 * seeds the backward, δ^c = σ'(z) ⊙ W_out[c, :] for c = 0 (dE) and 1 (dP).
 */
fn head(h: ptr<function, Units>, ds: ptr<function, Units>, dE: ptr<function, Units>, dP: ptr<function, Units>, r0: u32, rows: u32) {
  for (var c = 0u; c < P; c++) {
    var s = wt(WL + HL * P + c);
    for (var k = 0u; k < HL; k++) { s = fma(wt(WL + c * HL + k), (*h)[k], s); }
    for (var i = 0u; i < ROWS; i++) {
      if (i < rows) { y[(r0 + i) * P + c] = s[i]; }
    }
  }
  for (var k = 0u; k < HL; k++) {
    (*dE)[k] = (*ds)[k] * theta[WL + k];
    (*dP)[k] = (*ds)[k] * theta[WL + HL + k];
  }
}

// backward through hidden layers 3, 2, 1 for both channels: e^c = W_lᵀ δ_l^c, then
// δ_{l-1}^c = σ'(z_{l-1}) ⊙ e^c written over dE/dP (ds = σ' of layer l-1)
fn back3(dE: ptr<function, Units>, dP: ptr<function, Units>, ds: ptr<function, Units>) {
  var eE = Units();
  var eP = Units();
  for (var n = 0u; n < H3; n++) {
    let vE = (*dE)[n];
    let vP = (*dP)[n];
    for (var k = 0u; k < H2; k++) {
      let wv = wt(W3 + n * H2 + k);
      eE[k] = fma(wv, vE, eE[k]);
      eP[k] = fma(wv, vP, eP[k]);
    }
  }
  for (var k = 0u; k < H2; k++) {
    (*dE)[k] = (*ds)[k] * eE[k];
    (*dP)[k] = (*ds)[k] * eP[k];
  }
}
fn back2(dE: ptr<function, Units>, dP: ptr<function, Units>, ds: ptr<function, Units>) {
  var eE = Units();
  var eP = Units();
  for (var n = 0u; n < H2; n++) {
    let vE = (*dE)[n];
    let vP = (*dP)[n];
    for (var k = 0u; k < H1; k++) {
      let wv = wt(W2 + n * H1 + k);
      eE[k] = fma(wv, vE, eE[k]);
      eP[k] = fma(wv, vP, eP[k]);
    }
  }
  for (var k = 0u; k < H1; k++) {
    (*dE)[k] = (*ds)[k] * eE[k];
    (*dP)[k] = (*ds)[k] * eP[k];
  }
}
fn back1(dE: ptr<function, Units>, dP: ptr<function, Units>, ds: ptr<function, Units>) {
  var eE = Units();
  var eP = Units();
  for (var n = 0u; n < H1; n++) {
    let vE = (*dE)[n];
    let vP = (*dP)[n];
    for (var k = 0u; k < H0; k++) {
      let wv = wt(W1 + n * H0 + k);
      eE[k] = fma(wv, vE, eE[k]);
      eP[k] = fma(wv, vP, eP[k]);
    }
  }
  for (var k = 0u; k < H0; k++) {
    (*dE)[k] = (*ds)[k] * eE[k];
    (*dP)[k] = (*ds)[k] * eP[k];
  }
}

@compute @workgroup_size(64) // = the WG of grid() in src/model/descriptor-gpu.ts (host 2-D dispatch)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // no early return (see the header): invocations past R recompute the last full block of rows
  let q = ROWS * (gid.x + gid.y * p.gridX);
  let r0 = min(q, ROWS * ((p.R - 1u) / ROWS));
  let rows = select(0u, min(ROWS, p.R - r0), q < p.R); // rows this invocation stores

  var z = Units();
  var h0 = Units();
  var d0 = Units();
  // layer 0 reads x from storage: one gather of the 4 rows per input, fed to all H0 outputs
  for (var n = 0u; n < H0; n++) { z[n] = wt(D * H0 + n); }
  for (var k = 0u; k < D; k++) {
    let v = x4(r0, k);
    for (var n = 0u; n < H0; n++) { z[n] = fma(wt(n * D + k), v, z[n]); }
  }
  activate(&z, &h0, &d0);

  var dE = Units();
  var dP = Units();
  if (NH == 1u) {
    head(&h0, &d0, &dE, &dP, r0, rows);
  } else {
    var h1 = Units();
    var d1 = Units();
    dense1(&h0, &z);
    activate(&z, &h1, &d1);
    if (NH == 2u) {
      head(&h1, &d1, &dE, &dP, r0, rows);
    } else {
      var h2 = Units();
      var d2 = Units();
      dense2(&h1, &z);
      activate(&z, &h2, &d2);
      if (NH == 3u) {
        head(&h2, &d2, &dE, &dP, r0, rows);
      } else {
        var h3 = Units();
        var d3 = Units();
        dense3(&h2, &z);
        activate(&z, &h3, &d3);
        head(&h3, &d3, &dE, &dP, r0, rows);
        back3(&dE, &dP, &d2);
      }
      back2(&dE, &dP, &d1);
    }
    back1(&dE, &dP, &d0);
  }

  // g^c = W_0ᵀ δ_0^c (D entries, any D): one scatter of the 4 rows per input and channel
  for (var k = 0u; k < D; k++) {
    var eE = vec4<f32>(0.0);
    var eP = vec4<f32>(0.0);
    for (var n = 0u; n < H0; n++) {
      let wv = wt(n * D + k);
      eE = fma(wv, dE[n], eE);
      eP = fma(wv, dP[n], eP);
    }
    for (var i = 0u; i < ROWS; i++) {
      if (i < rows) {
        let gE = (r0 + i) * D + k;
        g[gE] = eE[i];
        g[p.R * D + gE] = eP[i];
      }
    }
  }
}
