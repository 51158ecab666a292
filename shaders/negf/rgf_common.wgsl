// Shared by the two RGF sweep kernels, rgf.wgsl ('block') and rgf_lane.wgsl ('lane'): the parameter
// struct and bindings the host (src/negf/gpuRgf.ts) binds to either kernel, the step schedule, the
// lead broadening and the bond-trace outputs, so the two kernels cannot drift apart.
//!include "lib/complex.wgsl"

struct Params {
  Lx: u32,
  Ly: u32,
  periodicY: u32,   // 1: wrap y (applied only when Ly >= 3)
  kBase: u32,       // first energy of this chunk
  nE: u32,          // energies in this chunk
  nB: u32,          // configurations in this run (B)
  P: u32,           // energy lanes (scratch slots per configuration)
  slotStride: u32,  // complex elements of scratch per slot
  nOut: u32,        // complex outputs per energy and configuration (12*N + 8*(Lx-1))
  t: f32,
  J: f32,
  M: u32,           // orbitals per slice (2*Ly), at most the kernel's block capacity (MCAP, LCAP)
  sigR: u32,        // offset of Sigma_R in sigma: 0 (same as Sigma_L) or K*M*M
}

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> spins: array<f32>;        // [B][N][3]
@group(0) @binding(2) var<storage, read> onsite: array<f32>;       // [N]
@group(0) @binding(3) var<storage, read> epts: array<vec4<f32>>;   // [K]: (zr, zi, need bits (1 G, 2 A_L, 4 A_R), 0)
@group(0) @binding(4) var<storage, read> sigma: array<vec2<f32>>;  // Sigma_L [K][M][M], then Sigma_R at prm.sigR
@group(0) @binding(5) var<storage, read_write> scr: array<vec2<f32>>;   // scratch slots (layout: the kernel's header)
@group(0) @binding(6) var<storage, read_write> xout: array<vec2<f32>>;  // [nE][B][nOut]

// Steps of a sweep (one block inversion each): L(x) for x = 0..Lx-1, then G(Lx-1), R(Lx-1),
// G(Lx-2), R(Lx-2), ..., G(1), R(1), G(0); 3*Lx - 1 in all.
const KIND_L = 0u;
const KIND_G = 1u;
const KIND_R = 2u;

// (x, kind) of step st
fn sweep_step(st: u32) -> vec2<u32> {
  if (st < prm.Lx) { return vec2<u32>(st, KIND_L); }
  let r = st - prm.Lx;
  return vec2<u32>(prm.Lx - 1u - r / 2u, select(KIND_R, KIND_G, r % 2u == 0u));
}

// element (i, j) of Gamma = i (Sigma - Sigma^+) of lead `lead` (0 L, 1 R) at energy k
fn gamma_at(lead: u32, k: u32, i: u32, j: u32) -> vec2<f32> {
  let M = prm.M;
  let s0 = select(0u, prm.sigR, lead == 1u) + k * M * M;
  let d = sigma[s0 + i * M + j] - cconj(sigma[s0 + j * M + i]);
  return vec2<f32>(-d.y, d.x);
}

// xout[dst .. dst+3] = s [Tr Z, Tr sx Z, Tr sy Z, Tr sz Z] from the slice-summed 2x2 spin block
// zs[2 s' + s] = sum_y Z_{(y,s'),(y,s)}
fn put_traces(dst: u32, zs: array<vec2<f32>, 4>, s: f32) {
  let i = vec2<f32>(0.0, 1.0);
  xout[dst] = s * (zs[0] + zs[3]);
  xout[dst + 1u] = s * (zs[1] + zs[2]);
  xout[dst + 2u] = s * cmul(i, zs[1] - zs[2]);   // -i Z_10 + i Z_01
  xout[dst + 3u] = s * (zs[0] - zs[3]);
}
