// Register-blocked GEMM core shared by the MLP kernels (included, not an entry file).
//
// C_s[m, n] = Σ_{k0 <= k < k1} A_s[m, k] B[k, n]  for s < S stacks of A sharing one B (S <= 3: the
// primal row and the two tangent/adjoint channels of the same site share the weight loads, and the
// epilogue sees all S values of an output element at once, so cross-channel epilogues are race-free).
//
// Geometry: 64 invocations per workgroup arranged TX (along n) × TY = 64/TX (along m); each owns a
// TM×TN register block at rows mBase + i*TY + ly, columns nBase + j*TX + lx, so a workgroup covers
// BM = 4·TY rows × BN = 4·TX columns. TX ∈ {4, 8, 16} is chosen by the host from N.
//   TILED = true : k-slabs of BK staged in workgroup memory (2 barriers per slab) — GEMM variant
//                  'tiled', and the ≤ 32-wide GEMMs of 'wide' (matmul_wide.wgsl)
//                  (A slab S·BK·BM ≤ 3·16·64 floats, B slab BK·BN ≤ 16·64: 16 KiB).
//   TILED = false: every invocation streams its operands straight from storage (no barriers) —
//                  faster on lavapipe, where barriers are expensive and "global" memory is CPU cache.
//
// The including file provides:
//   fn gemm_a(s: u32, m: u32, k: u32) -> f32      (0 outside the matrix)
//   fn gemm_b(k: u32, n: u32) -> f32               (0 outside the matrix)
//   fn gemm_store(m: u32, n: u32, v: vec3<f32>)    (v.x/.y/.z = stacks 0/1/2; called for m<M, n<N)
//   const A_K_FAST: bool, B_K_FAST: bool           (is k the contiguous index in storage: picks the
//                                                  coalesced order of the cooperative slab loads)
override S: u32 = 1u;
override TX: u32 = 8u;
override TILED: bool = true;

const TM: u32 = 4u;
const TN: u32 = 4u;
const BK: u32 = 16u;
const MAX_BM: u32 = 64u;
const MAX_BN: u32 = 64u;

var<workgroup> tile_a: array<f32, 3u * BK * MAX_BM>;
var<workgroup> tile_b: array<f32, BK * MAX_BN>;

fn gemm_run(lid: u32, mBase: u32, nBase: u32, M: u32, N: u32, k0: u32, k1: u32) {
  let TY = 64u / TX;
  let lx = lid % TX;
  let ly = lid / TX;
  let BM = TY * TM;
  let BN = TX * TN;
  var acc = array<array<f32, 16>, 3>();
  var a: array<array<f32, 4>, 3>;
  var b: array<f32, 4>;
  if (TILED) {
    for (var kt = k0; kt < k1; kt += BK) {
      let na = S * BK * BM;
      for (var e = lid; e < na; e += 64u) {
        let s = e / (BK * BM);
        let r = e % (BK * BM);
        var kk = r / BM;
        var mm = r % BM;
        if (A_K_FAST) { kk = r % BK; mm = r / BK; }
        var v = 0.0;
        if (kt + kk < k1) { v = gemm_a(s, mBase + mm, kt + kk); }
        tile_a[(s * BK + kk) * BM + mm] = v;
      }
      for (var e = lid; e < BK * BN; e += 64u) {
        var kk = e / BN;
        var nn = e % BN;
        if (B_K_FAST) { kk = e % BK; nn = e / BK; }
        var v = 0.0;
        if (kt + kk < k1) { v = gemm_b(kt + kk, nBase + nn); }
        tile_b[kk * BN + nn] = v;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < BK; kk++) {
        for (var s = 0u; s < S; s++) {
          for (var i = 0u; i < TM; i++) { a[s][i] = tile_a[(s * BK + kk) * BM + i * TY + ly]; }
        }
        for (var j = 0u; j < TN; j++) { b[j] = tile_b[kk * BN + j * TX + lx]; }
        for (var s = 0u; s < S; s++) {
          for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) { acc[s][i * TN + j] = fma(a[s][i], b[j], acc[s][i * TN + j]); }
          }
        }
      }
      workgroupBarrier();
    }
  } else {
    for (var k = k0; k < k1; k++) {
      for (var s = 0u; s < S; s++) {
        for (var i = 0u; i < TM; i++) { a[s][i] = gemm_a(s, mBase + i * TY + ly, k); }
      }
      for (var j = 0u; j < TN; j++) { b[j] = gemm_b(k, nBase + j * TX + lx); }
      for (var s = 0u; s < S; s++) {
        for (var i = 0u; i < TM; i++) {
          for (var j = 0u; j < TN; j++) { acc[s][i * TN + j] = fma(a[s][i], b[j], acc[s][i * TN + j]); }
        }
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      let m = mBase + i * TY + ly;
      let n = nBase + j * TX + lx;
      let q = i * TN + j;
      if (m < M && n < N) { gemm_store(m, n, vec3<f32>(acc[0][q], acc[1][q], acc[2][q])); }
    }
  }
}
