// Batched recursive Green's function (RGF) sweeps for the s-d model (SPEC §1-§2).
// Host: src/negf/gpuRgf.ts (layouts and conventions documented there). f64 twin: src/negf/gpuTwin.ts.
// Parameters, bindings, step schedule and trace outputs: rgf_common.wgsl (shared with rgf_lane.wgsl).
// Scratch layout: slot-major, scr[slot * slotStride + e].
//
// Workgroup (p, b) handles configuration b and the energies kk = p, p + P, p + 2P, ... of this chunk
// (P energy lanes, energy k = kBase + kk): for each it runs the left sweep and the right (backward)
// sweep over the Lx slices and writes the unweighted per-energy outputs (site blocks of G, A_L, A_R
// and the slice-traced bond blocks) to xout[kk][b]; reduce.wgsl forms the weighted energy sums.
// Slices are columns x; orbital o = 2*y + s inside a slice (M = 2*Ly orbitals); all matrices are M x M
// complex, row-major, vec2 = (re, im).
//
// Recursions (u = H_{x,x+1} = -t, scalar; no long products are ever formed):
//   g^L_x  = (D_x - u^2 g^L_{x-1})^-1,             D_x = z - H_x - Sigma_L d_{x0} - Sigma_R d_{x,Lx-1}
//   n^L_x  = g^L_x W^L_x g^L_x^+,                   W^L_x = Gamma_L d_{x0} + u^2 n^L_{x-1}
//   G_xx   = (D_x - u^2 g^L_{x-1} - u^2 g^R_{x+1})^-1
//   (A_L)_xx = G_xx W^L_x G_xx^+,   (A_R)_xx = G_xx W^R_x G_xx^+   (W^R mirror of W^L)
//   (A_L)_{x+1,x} = u [G_{x+1,x+1} n^L_x + (A_L)_{x+1,x+1} g^L_x^+]
//   (A_R)_{x+1,x} = u [n^R_{x+1} G_xx^+ + g^R_{x+1} (A_R)_xx]
// Every factor is a bounded (left/right-connected or full) block, so exponentially small results
// (gapped energies, long samples) flush towards zero instead of passing through 1e-100 products.
// Block inversions: in-place Gauss-Jordan with partial pivoting in workgroup memory, all M*M
// elements updated in parallel (see invert_wa).
// Loop bounds use the runtime M (prm.M) rather than an override constant: LLVM-based drivers would
// otherwise unroll them, which made lavapipe compile times 15-50 s instead of 2-5 s.
//!include "negf/rgf_common.wgsl"

override MCAP: u32 = 8u; // capacity of the workgroup blocks: M <= MCAP <= 256
override WG: u32 = 64u;  // invocations per workgroup
override TILE: u32 = 4u; // block products: TILE x TILE register tile per invocation

var<workgroup> wa: array<vec2<f32>, MCAP * MCAP>;   // the block being inverted
var<workgroup> colv: array<vec2<f32>, 2u * MCAP>;  // column k before step k, by step parity
var<workgroup> rowv: array<vec2<f32>, 2u * MCAP>;  // pivot row of step k divided by its pivot, by parity
var<workgroup> piv: array<u32, MCAP>;              // pivot row of step k
var<workgroup> qinv: array<u32, MCAP>;             // used[i] during the elimination, then piv^-1
var<workgroup> pkey: array<atomic<u32>, 2>;        // pivot search keys, by parity
var<workgroup> red: array<vec2<f32>, 2u * MCAP>;   // bond-trace partial sums
var<workgroup> shared_u: u32;                       // broadcast of the work flags

var<private> lid: u32;

// ---------------------------------------------------------------- block construction
// Elementwise loops run over rows i (uniform) and columns j = lid, lid + WG, ... (lanes), so
// neighbouring invocations touch neighbouring addresses and no integer division is needed.

// wa = D_x - u^2 (scr[offL] if useL) - u^2 (scr[offR] if useR)
fn build_block(b: u32, k: u32, x: u32, z: vec2<f32>, offL: u32, useL: bool, offR: u32, useR: bool) {
  let M = prm.M;
  let Lx = prm.Lx;
  let Ly = prm.Ly;
  let N = Lx * Ly;
  let t2 = prm.t * prm.t;
  let wrap = prm.periodicY == 1u && Ly >= 3u;
  let sigL = k * M * M;
  let sigR = prm.sigR + sigL;
  for (var i = 0u; i < M; i++) {
    let yi = i / 2u;
    let si = i % 2u;
    let site = x + Lx * yi;
    let sp = 3u * (b * N + site);
    let S = vec3<f32>(spins[sp], spins[sp + 1u], spins[sp + 2u]);
    for (var j = lid; j < M; j += WG) {
      let e = i * M + j;
      let yj = j / 2u;
      let sj = j % 2u;
      var v = vec2<f32>(0.0, 0.0);
      if (yi == yj) {
        // z - v_i + J (S.sigma)_{si,sj}, S.sigma = [[Sz, Sx - i Sy], [Sx + i Sy, -Sz]]
        if (si == sj) {
          v = z + vec2<f32>(select(-S.z, S.z, si == 0u) * prm.J - onsite[site], 0.0);
        } else {
          v = prm.J * vec2<f32>(S.x, select(S.y, -S.y, si == 0u));
        }
      } else if (si == sj) {
        let dy = max(yi, yj) - min(yi, yj);
        if (dy == 1u || (wrap && dy == Ly - 1u)) {
          v = vec2<f32>(prm.t, 0.0);   // -H_{ij} = +t
        }
      }
      if (x == 0u) { v -= sigma[sigL + e]; }
      if (x == Lx - 1u) { v -= sigma[sigR + e]; }
      if (useL) { v -= t2 * scr[offL + e]; }
      if (useR) { v -= t2 * scr[offR + e]; }
      wa[e] = v;
    }
  }
  workgroupBarrier();
}

// Gamma of lead `lead` (0 L, 1 R) at energy k into scr[dst]
fn store_gamma(dst: u32, lead: u32, k: u32) {
  let M = prm.M;
  for (var i = 0u; i < M; i++) {
    for (var j = lid; j < M; j += WG) { scr[dst + i * M + j] = gamma_at(lead, k, i, j); }
  }
  storageBarrier();
}

// ---------------------------------------------------------------- inversion
// In-place Gauss-Jordan (Jordan exchange) with partial pivoting and no row swaps: step k picks the
// pivot row p_k among the rows not yet used (max |a_ik|^2), then every element is updated at once,
//   row p_k:  a_pj <- a_pj / a_pk (j != k),  a_pk <- 1 / a_pk
//   others:   a_ij <- a_ij - a_ik a_pj / a_pk (j != k),  a_ik <- -a_ik / a_pk,
// from snapshots of column k (colv) and of the scaled pivot row (rowv), so the M*M updates are
// independent and spread over all invocations. The result is the inverse with permuted rows and
// columns: (A^-1)_{rc} = a[p_r][m] with p_m = c (store_wa). Two barriers per step: after the
// updates (whose column-(k+1) entries also feed the pivot search through an atomic max of
// (|a|^2 bits with the low 8 bits replaced by the row) and the next column snapshot), and after the
// pivot row snapshot. The key truncation may pick a pivot within 2^-15 of the largest: harmless.

fn pivot_key(v: vec2<f32>, i: u32) -> u32 {
  return (bitcast<u32>(cabs2(v)) & 0xffffff00u) | i;
}

// after the search for column k: pivot row, its scaled snapshot, bookkeeping for the next step
fn take_pivot(k: u32) {
  let M = prm.M;
  let p = atomicLoad(&pkey[k % 2u]) & 0xffu;
  let cb = (k % 2u) * MCAP;
  let ip = cinv(wa[p * M + k]);
  for (var j = lid; j < M; j += WG) { rowv[cb + j] = cmul(wa[p * M + j], ip); }
  if (lid == 0u) {
    piv[k] = p;
    qinv[p] = 1u;
    atomicStore(&pkey[1u - k % 2u], 0u);
  }
  workgroupBarrier();
}

fn invert_wa() {
  let M = prm.M;
  let MM = M * M;
  for (var i = lid; i < M; i += WG) {
    qinv[i] = 0u;
    colv[i] = wa[i * M];
  }
  if (lid == 0u) { atomicStore(&pkey[0], 0u); }
  workgroupBarrier();
  for (var i = lid; i < M; i += WG) { atomicMax(&pkey[0], pivot_key(wa[i * M], i)); }
  workgroupBarrier();
  take_pivot(0u);
  for (var k = 0u; k < M; k++) {
    let p = piv[k];
    let cb = (k % 2u) * MCAP;
    let nb = MCAP - cb;
    let ipiv = cinv(colv[cb + p]);
    for (var e = lid; e < MM; e += WG) {
      let i = e / M;
      let j = e - i * M;
      var v: vec2<f32>;
      if (i == p) {
        v = select(rowv[cb + j], ipiv, j == k);
      } else {
        v = select(wa[e] - cmul(colv[cb + i], rowv[cb + j]), -cmul(colv[cb + i], ipiv), j == k);
      }
      wa[e] = v;
      if (j == k + 1u) {
        colv[nb + i] = v;
        if (qinv[i] == 0u) { atomicMax(&pkey[1u - k % 2u], pivot_key(v, i)); }
      }
    }
    workgroupBarrier();
    if (k + 1u < M) { take_pivot(k + 1u); }
  }
  for (var m = lid; m < M; m += WG) { qinv[piv[m]] = m; }
  workgroupBarrier();
}

// scr[dst] = A^-1, scr[dstH] = (A^-1)^+ from the permuted in-place result (see invert_wa)
fn store_wa(dst: u32, dstH: u32) {
  let M = prm.M;
  for (var i = 0u; i < M; i++) {
    for (var j = lid; j < M; j += WG) {
      scr[dst + i * M + j] = wa[piv[i] * M + qinv[j]];
      scr[dstH + i * M + j] = cconj(wa[piv[j] * M + qinv[i]]);
    }
  }
  storageBarrier();
}

// ---------------------------------------------------------------- products
// scr[c] = s * scr[a] . scr[bm]: each invocation computes TILE x TILE tiles held in registers (TILE <= 4:
// 2 TILE loads per TILE^2 complex multiply-adds; the host picks TILE so that the tiles of an
// MCAP-wide block about fill the workgroup). Tiles at the edge of a matrix with M % TILE != 0 clamp
// their rows/columns to M-1 and rewrite the same values.
fn matmul(c: u32, a: u32, bm: u32, s: f32) {
  let M = prm.M;
  let T = (M + TILE - 1u) / TILE;
  for (var t = lid; t < T * T; t += WG) {
    var ri: array<u32, 4>;
    var cj: array<u32, 4>;
    for (var r = 0u; r < TILE; r++) {
      ri[r] = min((t / T) * TILE + r, M - 1u);
      cj[r] = min((t % T) * TILE + r, M - 1u);
    }
    var acc4 = array<vec2<f32>, 16>();   // explicit: a bare declaration was not re-zeroed per iteration on lavapipe
    for (var q = 0u; q < M; q++) {
      var bq: array<vec2<f32>, 4>;
      for (var cc = 0u; cc < TILE; cc++) { bq[cc] = scr[bm + q * M + cj[cc]]; }
      for (var r = 0u; r < TILE; r++) {
        let ar = scr[a + ri[r] * M + q];
        for (var cc = 0u; cc < TILE; cc++) { acc4[4u * r + cc] = cfma(ar, bq[cc], acc4[4u * r + cc]); }
      }
    }
    for (var r = 0u; r < TILE; r++) {
      for (var cc = 0u; cc < TILE; cc++) { scr[c + ri[r] * M + cj[cc]] = s * acc4[4u * r + cc]; }
    }
  }
  storageBarrier();
}

// ---------------------------------------------------------------- outputs
// Unweighted per-energy outputs of xout[kk][b] (offset out0): sections 0 (G), 1 (A_L), 2 (A_R) of
// 2x2 site blocks [N][s][s'], then the bond traces [Lx-1][2 (L, R)][4].

// section `sec`, the 2x2 spin blocks of the sites of slice x, from scr[src]
fn put_diag(out0: u32, sec: u32, x: u32, src: u32) {
  let M = prm.M;
  let N = prm.Lx * prm.Ly;
  for (var e = lid; e < 4u * prm.Ly; e += WG) {
    let y = e / 4u;
    let r = 2u * y + (e % 4u) / 2u;
    let c = 2u * y + e % 2u;
    let site = x + prm.Lx * y;
    xout[out0 + sec * 4u * N + 4u * site + e % 4u] = scr[src + r * M + c];
  }
}

// Z = X1 op1(Y1) + X2 op2(Y2) (op: identity or ^+); xout[dst .. dst+3] = s [Tr Z, Tr sx Z, Tr sy Z, Tr sz Z]
// (traces over the slice, sigma acting on the spin index)
fn put_bond(dst: u32, x1: u32, y1: u32, d1: bool, x2: u32, y2: u32, d2: bool, s: f32) {
  let M = prm.M;
  for (var e = lid; e < 2u * M; e += WG) {
    let r = e / 2u;                 // row (y, s')
    let col = (r / 2u) * 2u + e % 2u;  // column (y, s)
    var z = vec2<f32>(0.0, 0.0);
    for (var q = 0u; q < M; q++) {
      let b1 = select(scr[y1 + q * M + col], cconj(scr[y1 + col * M + q]), d1);
      let b2 = select(scr[y2 + q * M + col], cconj(scr[y2 + col * M + q]), d2);
      z = cfma(scr[x1 + r * M + q], b1, z);
      z = cfma(scr[x2 + r * M + q], b2, z);
    }
    red[e] = z;
  }
  workgroupBarrier();
  if (lid == 0u) {
    // zs[2 s' + s] = sum_y Z_{(y,s'),(y,s)}
    var zs = array<vec2<f32>, 4>();
    for (var e = 0u; e < 2u * M; e++) {
      let sp = (e / 2u) % 2u;
      zs[2u * sp + e % 2u] += red[e];
    }
    put_traces(dst, zs, s);
  }
  workgroupBarrier();
}

// ---------------------------------------------------------------- the sweep
// Steps: sweep_step (rgf_common.wgsl). Every primitive has a single call site in the loop body (the
// compiler inlines everything; this keeps the shader small).

@compute @workgroup_size(WG)
fn sweep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = prm.M;
  lid = li;
  let p = wid.x;
  let b = wid.y;
  if (b >= prm.nB) { return; }
  let Lx = prm.Lx;
  let N = Lx * prm.Ly;
  let slot = b * prm.P + p;
  let MM = M * M;
  let base = slot * prm.slotStride;
  let o = slot_layout(base, MM);

  // energies of this lane, one after the other (the scratch is reused)
  for (var kk = p; kk < prm.nE; kk += prm.P) {
    let k = prm.kBase + kk;
    let out0 = (kk * prm.nB + b) * prm.nOut;
    let e0 = epts[k];
    let z = e0.xy;
    if (lid == 0u) { shared_u = u32(e0.z); }
    let flags = workgroupUniformLoad(&shared_u);
    let needG = (flags & 1u) != 0u;
    let needL = (flags & 2u) != 0u;
    let needR = (flags & 4u) != 0u;
    let u = -prm.t;
    let t2 = prm.t * prm.t;
    for (var lead = 0u; lead < 2u; lead++) {
      if ((flags & (2u << lead)) != 0u) { store_gamma(select(o.GamL, o.GamR, lead == 1u), lead, k); }
    }

    for (var st = 0u; st < 3u * Lx - 1u; st++) {
      let s = sweep_step(st, o, MM);
      // the block: D_x - u^2 g^L_{x-1} (L, G) - u^2 g^R_{x+1} (G, R)
      build_block(b, k, s.x, z, o.GL + (s.x - 1u) * MM, s.withL, o.GR, s.withR);
      invert_wa();
      store_wa(s.dst, o.XH);
      // sub-steps q: 0 accumulate G_xx; 1 left sandwich; 2 right sandwich (X W X^+) with
      // W^L_x = Gamma_L d_x0 + u^2 n^L_{x-1}, W^R_x = Gamma_R d_{x,Lx-1} + u^2 n^R_{x+1}
      for (var q = 0u; q < 3u; q++) {
        let isL = q == 1u && s.kind != KIND_R;
        let isR = q == 2u && s.kind != KIND_L;
        if ((q == 0u && s.kind == KIND_G && needG) || (isL && needL) || (isR && needR)) {
          var tgt = s.Gx;
          if (q > 0u) {
            var w = select(o.NL + (s.x - 1u) * MM, o.GamL, s.first);
            var ws = select(t2, 1.0, s.first);
            if (isR) {
              w = select(o.NR, o.GamR, s.last);
              ws = select(t2, 1.0, s.last);
            }
            tgt = sandwich_target(s, o, MM, isL);
            for (var h = 0u; h < 2u; h++) {   // T = ws X W, then tgt = T X^+
              matmul(select(o.T, tgt, h == 1u), select(s.dst, o.T, h == 1u), select(w, o.XH, h == 1u), select(ws, 1.0, h == 1u));
            }
          }
          if (s.kind == KIND_G) {
            put_diag(out0, q, s.x, tgt);
            if (q > 0u && !s.last) {
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
