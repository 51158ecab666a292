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

// Scratch blocks of one slot as element offsets (M*M elements each) from the slot's first element
// `base`: g^L_x and n^L_x for x = 0..Lx-1, g^R_{x+1}, n^R_{x+1}, Gamma_L, Gamma_R, a product T,
// (A_R)_xx, the ping-pong pairs G_xx and (A_L)_xx (x even, x odd), X^+ of the block inverted last:
// 2*Lx + 11 blocks, the host's slotStride. The lane kernel keeps Gamma, T and X^+ in registers
// and leaves their blocks unused.
struct Layout {
  GL: u32, NL: u32, GR: u32, NR: u32, GamL: u32, GamR: u32, T: u32, AR: u32, G: u32, AL: u32, XH: u32,
}

fn slot_layout(base: u32, MM: u32) -> Layout {
  let NL = base + prm.Lx * MM;
  let GR = NL + prm.Lx * MM;
  let AR = GR + 5u * MM;
  let G = AR + MM;
  let AL = G + 2u * MM;
  return Layout(base, NL, GR, GR + MM, GR + 2u * MM, GR + 3u * MM, GR + 4u * MM, AR, G, AL, AL + 2u * MM);
}

// Step st of the sweep and the blocks it touches in layout o.
struct Step {
  x: u32,
  kind: u32,
  first: bool,   // x == 0
  last: bool,    // x == Lx - 1
  withL: bool,   // the block has the -u^2 g^L_{x-1} term (steps L, G; x > 0)
  withR: bool,   // the block has the -u^2 g^R_{x+1} term (steps G, R; x < Lx - 1)
  Gx: u32,       // G_xx
  Gp: u32,       // G_{x+1,x+1}
  ALx: u32,      // (A_L)_xx
  ALp: u32,      // (A_L)_{x+1,x+1}
  dst: u32,      // where the inverted block X goes: g^L_x (L), G_xx (G), g^R (R)
}

fn sweep_step(st: u32, o: Layout, MM: u32) -> Step {
  var x = st;
  var kind = KIND_L;
  if (st >= prm.Lx) {
    let r = st - prm.Lx;
    x = prm.Lx - 1u - r / 2u;
    kind = select(KIND_R, KIND_G, r % 2u == 0u);
  }
  let first = x == 0u;
  let last = x == prm.Lx - 1u;
  let cur = (x % 2u) * MM;        // the ping-pong block of x
  let nxt = (1u - x % 2u) * MM;    // that of x + 1
  var dst = o.GR;
  if (kind == KIND_L) { dst = o.GL + x * MM; }
  if (kind == KIND_G) { dst = o.G + cur; }
  return Step(x, kind, first, last, kind != KIND_R && !first, kind != KIND_L && !last, o.G + cur, o.G + nxt, o.AL + cur, o.AL + nxt, dst);
}

// Target of the left (isL) or right sandwich X W X^+ of step s: n^L_x (L), n^R (R), and at a G
// step (A_L)_xx or (A_R)_xx.
fn sandwich_target(s: Step, o: Layout, MM: u32, isL: bool) -> u32 {
  if (s.kind == KIND_L) { return o.NL + s.x * MM; }
  if (s.kind == KIND_G) { return select(o.AR, s.ALx, isL); }
  return o.NR;
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
