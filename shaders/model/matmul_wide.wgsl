// Register-blocked "wide" GEMM core for real GPUs, shared by the MLP kernels (included AFTER
// model/matmul_core.wgsl, whose accessor contract gemm_a / gemm_b / gemm_store / A_K_FAST / B_K_FAST
// and stack count S it uses; not an entry file). Entry points using it: @workgroup_size(256).
//
// C_s[m, n] = Σ_{k0 <= k < k1} A_s[m, k] B[k, n], s < S <= 3 stacks sharing B (as matmul_core).
//
// Tile scheme. 256 invocations = 16 (lx, along n) × 16 (ly, along m). Each owns, per stack, a
// WTM × WTN register block: WTM = 8 for S = 1, 4 for S = 2, 3; WTN ∈ {4, 8} (override, host picks 8
// when N > 64 and S < 3), so S·WTM·WTN ≤ 64 accumulators. Workgroup tile BM × BN = 16·WTM × 16·WTN
// per stack: 128×128 (S = 1), 64×128 (S = 2: both stacks, 128 A rows), 64×64 (S = 3).
// An invocation's rows are g·64 + 4·ly + i (g < WTM/4, i < 4), its columns g·64 + 4·lx + j: each
// run of 4 is ONE vec4 read from workgroup memory. In a 32-wide SIMD group the A reads hit 2
// addresses (broadcast) and the B reads 16 consecutive vec4 (conflict-free); per k and stack an
// invocation does WTM·WTN FMAs for (WTM + WTN)/4 vec4 reads.
// K loop: slabs of WBK = 8. The A slab (S·BM × 8) and B slab (8 × BN) are staged k-major in
// workgroup memory, rows padded to BM+4 / BN+4 floats so that the transposing stores of k-fast
// operands are bank-conflict-free; double buffered: the next slab's global loads are issued into
// registers before the current slab's FMAs and written to the other buffer after them, one
// barrier per slab. Global loads: S·BM·8/256 (≤ 6) A and BN·8/256 (≤ 4) B scalars per invocation
// per slab, consecutive invocations on consecutive addresses (k-fast or m/n-fast per operand).
// Workgroup memory: 2 × (8·204 + 8·132) f32 = 21 KiB (the host checks maxComputeWorkgroupStorageSize).
// Traffic: per slab a workgroup reads (S·BM + BN)·8 floats for S·BM·BN·8 FMAs (16 FMA per byte at
// 128×128), so layer GEMMs of width ≥ 256 are FMA-bound, not bandwidth-bound.
//
// Precision / summation order: every output element is one fma chain over ascending k from k0
// (slab padding beyond k1 or the matrix adds exact zeros) — the same order as matmul_core's direct
// and tiled paths, so all GEMM paths give the same f32 sums up to compiler contraction choices.
override WTN: u32 = 8u;

const WBK: u32 = 8u;
const W_A_CAP: u32 = 1632u; // f32 per A buffer: max over S of S·WBK·(16·WTM + 4) = 3·8·68
const W_B_CAP: u32 = 1056u; // f32 per B buffer: WBK·(16·8 + 4)

var<workgroup> wide_a: array<vec4<f32>, 816>; // 2 buffers × W_A_CAP / 4
var<workgroup> wide_b: array<vec4<f32>, 528>; // 2 buffers × W_B_CAP / 4

fn wide_tm() -> u32 {
  return select(4u, 8u, S == 1u);
}
fn wide_bm() -> u32 {
  return 16u * wide_tm();
}
fn wide_bn() -> u32 {
  return 16u * WTN;
}

// Slab element e (= lid + 256·j) of A: (stacked row r = s·BM + m, k), in the coalesced order.
fn wide_a_coord(e: u32) -> vec2<u32> {
  let BM = wide_bm();
  if (A_K_FAST) { return vec2<u32>(e / WBK, e % WBK); }
  let q = e / BM; // s·WBK + k
  return vec2<u32>((q / WBK) * BM + e % BM, q % WBK);
}

// Slab element e of B: (k, n), in the coalesced order.
fn wide_b_coord(e: u32) -> vec2<u32> {
  if (B_K_FAST) { return vec2<u32>(e % WBK, e / WBK); }
  return vec2<u32>(e / wide_bn(), e % wide_bn());
}

// One invocation's share of a slab, held in registers between the global loads and the stores.
struct WideSlab {
  a: array<f32, 6>, // S·BM·WBK/256 used
  b: array<f32, 4>, // BN·WBK/256 used
}

// Global loads of the slab starting at k = kf (zeros at and beyond k1 and outside the matrices).
fn wide_fetch(lid: u32, mBase: u32, nBase: u32, kf: u32, k1: u32) -> WideSlab {
  var r = WideSlab();
  let BM = wide_bm();
  for (var j = 0u; j < S * BM * WBK / 256u; j++) {
    let c = wide_a_coord(lid + 256u * j);
    if (kf + c.y < k1) { r.a[j] = gemm_a(c.x / BM, mBase + c.x % BM, kf + c.y); }
  }
  for (var j = 0u; j < wide_bn() * WBK / 256u; j++) {
    let c = wide_b_coord(lid + 256u * j);
    if (kf + c.x < k1) { r.b[j] = gemm_b(kf + c.x, nBase + c.y); }
  }
  return r;
}

// Store a fetched slab into workgroup buffer `dst` (k-major, rows padded by 4).
fn wide_stage(dst: u32, lid: u32, r: WideSlab) {
  let BM = wide_bm();
  for (var j = 0u; j < S * BM * WBK / 256u; j++) {
    let c = wide_a_coord(lid + 256u * j);
    let f = dst * W_A_CAP + ((c.x / BM) * WBK + c.y) * (BM + 4u) + c.x % BM;
    wide_a[f / 4u][f % 4u] = r.a[j];
  }
  for (var j = 0u; j < wide_bn() * WBK / 256u; j++) {
    let c = wide_b_coord(lid + 256u * j);
    let f = dst * W_B_CAP + c.x * (wide_bn() + 4u) + c.y;
    wide_b[f / 4u][f % 4u] = r.b[j];
  }
}

fn wide_run(lid: u32, mBase: u32, nBase: u32, M: u32, N: u32, k0: u32, k1: u32) {
  let WTM = wide_tm();
  let GM = WTM / 4u; // vec4 groups per stack along m
  let GN = WTN / 4u; // and along n
  let ASTR4 = 4u * WTM + 1u; // padded row strides in vec4: (BM + 4)/4, (BN + 4)/4
  let BSTR4 = 4u * WTN + 1u;
  let lx = lid % 16u;
  let ly = lid / 16u;
  var acc = array<vec4<f32>, 16>();
  wide_stage(0u, lid, wide_fetch(lid, mBase, nBase, k0, k1));
  workgroupBarrier();
  var buf = 0u;
  for (var kt = k0; kt < k1; kt += WBK) {
    let more = kt + WBK < k1;
    var next = WideSlab();
    if (more) { next = wide_fetch(lid, mBase, nBase, kt + WBK, k1); }
    let abase = buf * (W_A_CAP / 4u) + ly;
    let bbase = buf * (W_B_CAP / 4u) + lx;
    for (var kk = 0u; kk < WBK; kk++) {
      var a = array<vec4<f32>, 3>();
      var b = array<vec4<f32>, 2>();
      for (var s = 0u; s < S; s++) {
        for (var g = 0u; g < GM; g++) { a[s * GM + g] = wide_a[abase + (s * WBK + kk) * ASTR4 + g * 16u]; }
      }
      for (var g = 0u; g < GN; g++) { b[g] = wide_b[bbase + kk * BSTR4 + g * 16u]; }
      for (var s = 0u; s < S; s++) {
        for (var i = 0u; i < WTM; i++) {
          let ai = vec4<f32>(a[s * GM + i / 4u][i % 4u]);
          for (var g = 0u; g < GN; g++) {
            let q = (s * WTM + i) * GN + g;
            acc[q] = fma(ai, b[g], acc[q]);
          }
        }
      }
    }
    if (more) { wide_stage(1u - buf, lid, next); }
    workgroupBarrier();
    buf = 1u - buf;
  }
  for (var i = 0u; i < WTM; i++) {
    for (var j = 0u; j < WTN; j++) {
      let m = mBase + (i / 4u) * 64u + 4u * ly + i % 4u;
      let n = nBase + (j / 4u) * 64u + 4u * lx + j % 4u;
      if (m < M && n < N) {
        var v = vec3<f32>();
        for (var s = 0u; s < S; s++) { v[s] = acc[(s * WTM + i) * GN + j / 4u][j % 4u]; }
        gemm_store(m, n, v);
      }
    }
  }
}
