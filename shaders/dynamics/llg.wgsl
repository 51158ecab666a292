// Landau-Lifshitz step kernels (SPEC §3), γ = 1:  dS/dt = -S × h1,  h1 = H + α S × H + η.
// Fused field H = B + 2K(S·e)e - 2Kh(S·h)h + J_H Σ_nn S_j + F_ext. Conventions, noise derivation and
// the float64 twin: src/dynamics/{params,fields,twin}.ts. One invocation per site; f32 state.
//
// Entry points (one 2D dispatch (Lx, Ly) each, ping-pong buffers chosen by the host's bind groups):
//   midpoint    : sIn -> sOut, field history `hist` (h1_{n-1}) updated in place per site.
//   stage1      : predictor sIn -> sOut (= predictor buffer), stores h1_n + η in `hist`.
//   stage2      : corrector (sIn, sPred, hist) -> sOut.        METHOD: 0 heun, 1 depondt.
// Step counter: ctrIn = [n, hasHistory] of the input state, the updating kernel writes
// ctrOut = [n + 1, 1]; the noise counter is (site, n, 0, NOISE_STREAM), so trajectories depend on
// the seed only, never on dispatch size. Divergence: a non-finite or non-unit output spin sets
// flag[0] = min(step); every later kernel returns without writing, so the input state of the
// failing step survives in its ping-pong buffer.
//!include "lib/rng.wgsl"
//!include "lib/spin.wgsl"

struct Params {
  useExt: u32, key0: u32, key1: u32,
  dt: f32, alpha: f32, sigma: f32, JH: f32,
  B: vec3<f32>, K: f32,
  e: vec3<f32>, Kh: f32,
  h: vec3<f32>, _pad0: f32,
  lx: u32, ly: u32, pbcY: u32, _pad1: u32,
}

override METHOD: u32 = 0u;
const NOISE_STREAM: u32 = 0x4C4C0001u;
const NO_FLAG: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> sIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> sOut: array<f32>;
@group(0) @binding(4) var<storage, read> ext: array<f32>;
@group(0) @binding(5) var<storage, read> ctrIn: array<u32>;
@group(0) @binding(6) var<storage, read_write> ctrOut: array<u32>;
@group(0) @binding(7) var<storage, read_write> hist: array<f32>;
@group(0) @binding(8) var<storage, read> sPred: array<f32>;
@group(0) @binding(9) var<storage, read_write> flag: array<atomic<u32>>;

// Σ_nn S_j on the square lattice (src/lattice/lattice.ts), order +x, -x, +y, -y as the twin.
// Sites come from a 2D dispatch (x, y) = gid.xy, so neighbours need no table to stream (16 B/site)
// and no integer division (which software adapters scalarise).
fn neighbour_sum(src: ptr<storage, array<f32>, read>, x: u32, y: u32) -> vec3<f32> {
  let i = x + prm.lx * y;
  var acc = vec3<f32>(0.0);
  if (x + 1u < prm.lx) { acc = acc + load3(src, i + 1u); }
  if (x > 0u) { acc = acc + load3(src, i - 1u); }
  if (y + 1u < prm.ly) { acc = acc + load3(src, i + prm.lx); } else if (prm.pbcY != 0u) { acc = acc + load3(src, x); }
  if (y > 0u) { acc = acc + load3(src, i - prm.lx); } else if (prm.pbcY != 0u) { acc = acc + load3(src, x + prm.lx * (prm.ly - 1u)); }
  return acc;
}

// Deterministic h1 = H + α S × H at site (x, y), i = x + Lx y, of configuration `src` (s = src[i]).
fn h1_at(src: ptr<storage, array<f32>, read>, x: u32, y: u32, s: vec3<f32>) -> vec3<f32> {
  let i = x + prm.lx * y;
  var H = prm.B + (2.0 * prm.K * dot(s, prm.e)) * prm.e - (2.0 * prm.Kh * dot(s, prm.h)) * prm.h;
  if (prm.JH != 0.0) { H = H + prm.JH * neighbour_sum(src, x, y); }
  if (prm.useExt != 0u) { H = H + vec3<f32>(ext[3u * i], ext[3u * i + 1u], ext[3u * i + 2u]); }
  return H + prm.alpha * cross(s, H);
}

fn noise(i: u32, step: u32) -> vec3<f32> {
  if (prm.sigma == 0.0) { return vec3<f32>(0.0); }
  return prm.sigma * normal4(vec4<u32>(i, step, 0u, NOISE_STREAM), vec2<u32>(prm.key0, prm.key1)).xyz;
}

// Exact solution of S' - S = -(S + S') × a (Cayley rotation about a by 2 atan|a|).
fn cayley(s: vec3<f32>, a: vec3<f32>) -> vec3<f32> {
  let a2 = dot(a, a);
  return ((1.0 - a2) * s + (2.0 * dot(a, s)) * a + 2.0 * cross(a, s)) / (1.0 + a2);
}

// Rotation by the angle |w| dt about w (exact flow of dS/dt = -S × w).
fn rotate_by(s: vec3<f32>, w: vec3<f32>) -> vec3<f32> {
  let wn = length(w);
  if (wn == 0.0) { return s; }
  return rotate(s, w / wn, wn * prm.dt);
}

fn store3(i: u32, v: vec3<f32>) {
  sOut[3u * i] = v.x; sOut[3u * i + 1u] = v.y; sOut[3u * i + 2u] = v.z;
}

fn halted() -> bool {
  return atomicLoad(&flag[0]) != NO_FLAG;
}

// Normalise, flag non-finite / non-unit results, store, and advance the step counter.
fn finish(i: u32, step: u32, v: vec3<f32>) {
  let s = v * inverseSqrt(dot(v, v));
  let q = dot(s, s);
  if ((bitcast<u32>(q) & 0x7F800000u) == 0x7F800000u || abs(q - 1.0) > 1e-3) { atomicMin(&flag[0], step); }
  store3(i, s);
  if (i == 0u) { ctrOut[0] = step + 1u; ctrOut[1] = 1u; }
}

@compute @workgroup_size(64, 1)
fn midpoint(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= prm.lx || gid.y >= prm.ly || halted()) { return; }
  let i = gid.x + prm.lx * gid.y;
  let step = ctrIn[0];
  let s = load3(&sIn, i);
  let hn = h1_at(&sIn, gid.x, gid.y, s);
  var hp = hn;
  if (ctrIn[1] != 0u) { hp = vec3<f32>(hist[3u * i], hist[3u * i + 1u], hist[3u * i + 2u]); }
  hist[3u * i] = hn.x; hist[3u * i + 1u] = hn.y; hist[3u * i + 2u] = hn.z;
  let hm = (0.5 * prm.dt) * (1.5 * hn - 0.5 * hp + noise(i, step));
  finish(i, step, cayley(s, hm));
}

@compute @workgroup_size(64, 1)
fn stage1(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= prm.lx || gid.y >= prm.ly || halted()) { return; }
  let i = gid.x + prm.lx * gid.y;
  let s = load3(&sIn, i);
  let w = h1_at(&sIn, gid.x, gid.y, s) + noise(i, ctrIn[0]);
  hist[3u * i] = w.x; hist[3u * i + 1u] = w.y; hist[3u * i + 2u] = w.z;
  var p: vec3<f32>;
  if (METHOD == 0u) { p = normalize(s - prm.dt * cross(s, w)); } else { p = normalize(rotate_by(s, w)); }
  store3(i, p);
}

@compute @workgroup_size(64, 1)
fn stage2(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= prm.lx || gid.y >= prm.ly || halted()) { return; }
  let i = gid.x + prm.lx * gid.y;
  let step = ctrIn[0];
  let s = load3(&sIn, i);
  let p = load3(&sPred, i);
  let w0 = vec3<f32>(hist[3u * i], hist[3u * i + 1u], hist[3u * i + 2u]);
  let w1 = h1_at(&sPred, gid.x, gid.y, p) + noise(i, step);
  var out: vec3<f32>;
  if (METHOD == 0u) {
    out = s - (0.5 * prm.dt) * (cross(s, w0) + cross(p, w1));
  } else {
    out = rotate_by(s, 0.5 * (w0 + w1));
  }
  finish(i, step, out);
}
