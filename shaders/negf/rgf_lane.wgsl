// Batched recursive Green's function (RGF) sweeps, one invocation per (configuration, energy lane):
// the "lane" variant of rgf.wgsl for narrow slices (M = 2*Ly <= LCAP = 16 orbitals).
// Host: src/negf/gpuRgf.ts (kernel: 'lane'). f64 twin: src/negf/gpuTwin.ts. Same recursions, bindings,
// parameter struct (rgf_common.wgsl, shared), energy-lane scheme and per-energy outputs (xout) as
// rgf.wgsl, whose header states the recursions; only the work decomposition differs:
//
// * Invocation p of configuration b (p < P; workgroup_id.y = b) takes the chunk's energies p, p + P,
//   ... one after the other and runs the whole sweep alone: no barriers, no workgroup memory.
// * The blocks being worked on (the one inverted, the sandwiched W, the intermediate T and the
//   result) live in function-scope arrays indexed only by loop counters that are the same in every
//   invocation; the per-slice history (g^L_x, n^L_x for every x, g^R, n^R, G_xx, A_L, A_R) lives in
//   the scratch buffer, interleaved by slot (element e of slot s at scr[e * nSlots + s]) so that
//   neighbouring invocations touch neighbouring addresses.
// * Block inversion: in-place Gauss-Jordan with partial pivoting by explicit row swaps, columns
//   swapped back at the end; every array index is uniform (the swaps loop over candidate rows).
//
// On software adapters (lavapipe runs the 8 invocations of a workgroup as one SIMD vector), this
// turns the barrier-bound workgroup kernel into straight vector arithmetic: measured on lavapipe
// 20-30 GFLOP/s in the block inversions and products against 1-3 GFLOP/s for rgf.wgsl
// (BENCHMARKS.md). Precision budget as rgf.wgsl (same algorithm: GJ with partial pivoting in f32,
// ~1e-7 * cond(block) per inversion); tests/negf-gpu-rgf.test.ts runs both variants against the twin.
//!include "negf/rgf_common.wgsl"

override WG: u32 = 8u;     // invocations per workgroup (energy lanes of one configuration)
const LCAP = 16u;          // largest M
const LMM = 256u;          // LCAP * LCAP

var<private> nSlots: u32;  // slots of this run (nB * P): the interleave stride of scr
var<private> slot: u32;
var<private> live: bool;   // this invocation's energy is in the chunk (else: no outputs)

// scratch element e of the block at slot offset off
fn si(off: u32, e: u32) -> u32 { return (off + e) * nSlots + slot; }

// ---------------------------------------------------------------- blocks in function memory

// a = D_x - u^2 (scr[offL] if useL) - u^2 (scr[offR] if useR)
fn build_block(a: ptr<function, array<vec2<f32>, LMM>>, b: u32, k: u32, x: u32, z: vec2<f32>,
               offL: u32, useL: bool, offR: u32, useR: bool) {
  let M = prm.M;
  let Lx = prm.Lx;
  let Ly = prm.Ly;
  let N = Lx * Ly;
  let t2 = prm.t * prm.t;
  let wrap = prm.periodicY == 1u && Ly >= 3u;
  let sigL = k * M * M;
  let sigR = prm.sigR + sigL;
  for (var i = 0u; i < M; i++) {
    for (var j = 0u; j < M; j++) { (*a)[i * M + j] = vec2<f32>(0.0, 0.0); }
  }
  for (var y = 0u; y < Ly; y++) {
    let site = x + Lx * y;
    let sp = 3u * (b * N + site);
    let S = vec3<f32>(spins[sp], spins[sp + 1u], spins[sp + 2u]);
    let o = 2u * y;
    // z - v_i + J (S.sigma), S.sigma = [[Sz, Sx - i Sy], [Sx + i Sy, -Sz]]
    let v = onsite[site];
    (*a)[o * M + o] = z + vec2<f32>(S.z * prm.J - v, 0.0);
    (*a)[(o + 1u) * M + o + 1u] = z + vec2<f32>(-S.z * prm.J - v, 0.0);
    (*a)[o * M + o + 1u] = prm.J * vec2<f32>(S.x, -S.y);
    (*a)[(o + 1u) * M + o] = prm.J * vec2<f32>(S.x, S.y);
    // -H_{y,y+1} = +t (spin-diagonal), wrapping when periodic
    if (y + 1u < Ly || (wrap && y + 1u == Ly)) {
      let o2 = 2u * ((y + 1u) % Ly);
      for (var s = 0u; s < 2u; s++) {
        (*a)[(o + s) * M + o2 + s] += vec2<f32>(prm.t, 0.0);
        (*a)[(o2 + s) * M + o + s] += vec2<f32>(prm.t, 0.0);
      }
    }
  }
  let edgeL = x == 0u;
  let edgeR = x == Lx - 1u;
  for (var e = 0u; e < M * M; e++) {
    var v = (*a)[e];
    if (edgeL) { v -= sigma[sigL + e]; }
    if (edgeR) { v -= sigma[sigR + e]; }
    if (useL) { v -= t2 * scr[si(offL, e)]; }
    if (useR) { v -= t2 * scr[si(offR, e)]; }
    (*a)[e] = v;
  }
}

// a = Gamma of lead `lead` (0 L, 1 R) at energy k
fn load_gamma(a: ptr<function, array<vec2<f32>, LMM>>, lead: u32, k: u32) {
  let M = prm.M;
  for (var i = 0u; i < M; i++) {
    for (var j = 0u; j < M; j++) { (*a)[i * M + j] = gamma_at(lead, k, i, j); }
  }
}

fn load_blk(a: ptr<function, array<vec2<f32>, LMM>>, off: u32) {
  for (var e = 0u; e < prm.M * prm.M; e++) { (*a)[e] = scr[si(off, e)]; }
}

fn store_blk(off: u32, a: ptr<function, array<vec2<f32>, LMM>>) {
  for (var e = 0u; e < prm.M * prm.M; e++) { scr[si(off, e)] = (*a)[e]; }
}

// in-place inverse: Gauss-Jordan with partial pivoting (row swaps), columns unswapped at the end
fn invert(a: ptr<function, array<vec2<f32>, LMM>>) {
  let M = prm.M;
  var perm = array<u32, LCAP>();
  for (var k = 0u; k < M; k++) {
    var p = k;
    var best = cabs2((*a)[k * M + k]);
    for (var i = k + 1u; i < M; i++) {
      let v = cabs2((*a)[i * M + k]);
      if (v > best) { best = v; p = i; }
    }
    perm[k] = p;
    // swap rows k and p through uniform indices (a lane-dependent index into a function-memory
    // array makes the compiler of a SIMD driver scatter/gather every access to it: 1.6x slower)
    for (var i = k + 1u; i < M; i++) {
      if (i == p) {
        for (var j = 0u; j < M; j++) {
          let t = (*a)[i * M + j];
          (*a)[i * M + j] = (*a)[k * M + j];
          (*a)[k * M + j] = t;
        }
      }
    }
    let ip = cinv((*a)[k * M + k]);
    (*a)[k * M + k] = vec2<f32>(1.0, 0.0);
    for (var j = 0u; j < M; j++) { (*a)[k * M + j] = cmul((*a)[k * M + j], ip); }
    for (var i = 0u; i < M; i++) {
      if (i == k) { continue; }
      let f = -(*a)[i * M + k];
      (*a)[i * M + k] = vec2<f32>(0.0, 0.0);
      for (var j = 0u; j < M; j++) { (*a)[i * M + j] = cfma(f, (*a)[k * M + j], (*a)[i * M + j]); }
    }
  }
  for (var kk = 0u; kk < M; kk++) {
    let k = M - 1u - kk;
    let p = perm[k];
    for (var c = k + 1u; c < M; c++) {
      if (c == p) {
        for (var i = 0u; i < M; i++) {
          let t = (*a)[i * M + c];
          (*a)[i * M + c] = (*a)[i * M + k];
          (*a)[i * M + k] = t;
        }
      }
    }
  }
}

// c = s * a . b (hb false) or s * a . b^+ (hb true); M even, columns in pairs
fn matmul(c: ptr<function, array<vec2<f32>, LMM>>, a: ptr<function, array<vec2<f32>, LMM>>,
          b: ptr<function, array<vec2<f32>, LMM>>, hb: bool, s: f32) {
  let M = prm.M;
  for (var i = 0u; i < M; i++) {
    for (var j = 0u; j < M; j += 2u) {
      var c0 = vec2<f32>(0.0, 0.0);
      var c1 = vec2<f32>(0.0, 0.0);
      if (hb) {
        for (var q = 0u; q < M; q++) {
          let av = (*a)[i * M + q];
          c0 = cfma(av, cconj((*b)[j * M + q]), c0);
          c1 = cfma(av, cconj((*b)[(j + 1u) * M + q]), c1);
        }
      } else {
        for (var q = 0u; q < M; q++) {
          let av = (*a)[i * M + q];
          c0 = cfma(av, (*b)[q * M + j], c0);
          c1 = cfma(av, (*b)[q * M + j + 1u], c1);
        }
      }
      (*c)[i * M + j] = s * c0;
      (*c)[i * M + j + 1u] = s * c1;
    }
  }
}

// ---------------------------------------------------------------- outputs (layout as rgf.wgsl)

fn put_diag(out0: u32, sec: u32, x: u32, a: ptr<function, array<vec2<f32>, LMM>>) {
  let M = prm.M;
  let N = prm.Lx * prm.Ly;
  if (!live) { return; }
  for (var y = 0u; y < prm.Ly; y++) {
    let o = 2u * y;
    let d = out0 + sec * 4u * N + 4u * (x + prm.Lx * y);
    xout[d] = (*a)[o * M + o];
    xout[d + 1u] = (*a)[o * M + o + 1u];
    xout[d + 2u] = (*a)[(o + 1u) * M + o];
    xout[d + 3u] = (*a)[(o + 1u) * M + o + 1u];
  }
}

// element (r, c) of scr block `off`, or of its ^+ when h
fn sel(off: u32, r: u32, c: u32, h: bool) -> vec2<f32> {
  let M = prm.M;
  if (h) { return cconj(scr[si(off, c * M + r)]); }
  return scr[si(off, r * M + c)];
}

// Z = X1 op1(Y1) + X2 op2(Y2) (scratch blocks); xout[dst .. dst+3] = s [Tr Z, Tr sx Z, Tr sy Z, Tr sz Z]
// (traces over the slice, sigma acting on the spin index); only the 2x2 diagonal blocks of Z are formed
fn put_bond(dst: u32, x1: u32, y1: u32, d1: bool, x2: u32, y2: u32, d2: bool, s: f32) {
  let M = prm.M;
  var zs = array<vec2<f32>, 4>();   // zs[2 s' + s] = sum_y Z_{(y,s'),(y,s)}
  for (var r = 0u; r < M; r++) {
    let c0 = (r / 2u) * 2u;
    var z0 = vec2<f32>(0.0, 0.0);
    var z1 = vec2<f32>(0.0, 0.0);
    for (var q = 0u; q < M; q++) {
      let a1 = scr[si(x1, r * M + q)];
      let a2 = scr[si(x2, r * M + q)];
      z0 = cfma(a1, sel(y1, q, c0, d1), cfma(a2, sel(y2, q, c0, d2), z0));
      z1 = cfma(a1, sel(y1, q, c0 + 1u, d1), cfma(a2, sel(y2, q, c0 + 1u, d2), z1));
    }
    let sp = r % 2u;
    zs[2u * sp] += z0;
    zs[2u * sp + 1u] += z1;
  }
  if (!live) { return; }
  put_traces(dst, zs, s);
}

// ---------------------------------------------------------------- the sweep
// Steps: sweep_step (rgf_common.wgsl).

@compute @workgroup_size(WG)
fn sweep(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let p = gid.x;
  let b = wid.y;
  if (p >= prm.P || b >= prm.nB) { return; }
  let M = prm.M;
  let Lx = prm.Lx;
  let N = Lx * prm.Ly;
  let MM = M * M;
  nSlots = prm.nB * prm.P;
  slot = b * prm.P + p;
  let o = slot_layout(0u, MM);         // element offsets (the slots are interleaved: load_blk/store_blk)

  var wa = array<vec2<f32>, LMM>();  // the block inverted last (X)
  var wb = array<vec2<f32>, LMM>();  // W of a sandwich
  var wt = array<vec2<f32>, LMM>();  // ws X W
  var wc = array<vec2<f32>, LMM>();  // X W X^+

  // Every loop bound is the same in all invocations: a loop whose trip count differs between the
  // invocations of a SIMD vector (kk = p; kk < nE; kk += P) made lavapipe 7x slower inside it. Lanes
  // past the end repeat the chunk's last energy in their own scratch slot and write no outputs.
  let rounds = (prm.nE + prm.P - 1u) / prm.P;
  for (var it = 0u; it < rounds; it++) {
    live = p + it * prm.P < prm.nE;
    let kk = min(p + it * prm.P, prm.nE - 1u);
    let k = prm.kBase + kk;
    let out0 = (kk * prm.nB + b) * prm.nOut;
    let e0 = epts[k];
    let z = e0.xy;
    let flags = u32(e0.z);
    let needG = (flags & 1u) != 0u;
    let needL = (flags & 2u) != 0u;
    let needR = (flags & 4u) != 0u;
    let u = -prm.t;
    let t2 = prm.t * prm.t;

    for (var st = 0u; st < 3u * Lx - 1u; st++) {
      let s = sweep_step(st, o, MM);
      build_block(&wa, b, k, s.x, z, o.GL + (s.x - 1u) * MM, s.withL, o.GR, s.withR);
      invert(&wa);
      store_blk(s.dst, &wa);
      if (s.kind == KIND_G && needG) { put_diag(out0, 0u, s.x, &wa); }
      // sub-steps q: 1 left sandwich, 2 right sandwich (X W X^+) with
      // W^L_x = Gamma_L d_x0 + u^2 n^L_{x-1}, W^R_x = Gamma_R d_{x,Lx-1} + u^2 n^R_{x+1}
      for (var q = 1u; q < 3u; q++) {
        let isL = q == 1u && s.kind != KIND_R;
        let isR = q == 2u && s.kind != KIND_L;
        if ((isL && needL) || (isR && needR)) {
          var edge = s.first;
          var w = o.NL + (s.x - 1u) * MM;
          if (isR) {
            edge = s.last;
            w = o.NR;
          }
          if (edge) { load_gamma(&wb, select(0u, 1u, isR), k); } else { load_blk(&wb, w); }
          matmul(&wt, &wa, &wb, false, select(t2, 1.0, edge));
          matmul(&wc, &wt, &wa, true, 1.0);
          let tgt = sandwich_target(s, o, MM, isL);
          store_blk(tgt, &wc);
          if (s.kind == KIND_G) {
            put_diag(out0, q, s.x, &wc);
            if (!s.last) {
              // (A_L)_{x+1,x} = u [G_{x+1,x+1} n^L_x + (A_L)_{x+1,x+1} g^L_x^+]
              // (A_R)_{x+1,x} = u [n^R_{x+1} G_xx^+ + g^R_{x+1} (A_R)_xx]
              put_bond(out0 + 12u * N + 8u * s.x + 4u * (q - 1u), select(o.NR, s.Gp, isL), select(s.Gx, o.NL + s.x * MM, isL), !isL,
                       select(o.GR, s.ALp, isL), select(o.AR, o.GL + s.x * MM, isL), isL, u);
            }
          }
        }
      }
    }
  }
}
