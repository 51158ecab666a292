// On-GPU observables of the Landau-Lifshitz state (SPEC §3), written into a sample buffer so that a
// whole run is read back once. One workgroup; thread t handles columns t, t+64, ...
// Record r (stride 4 + 4 Lx floats) at samples[r * stride]:
//   [Mx, My, Mz, mean c] then per column x: [<Sx>_x, <Sy>_x, <Sz>_x, <c_i>_x]
// with c_i = mean over existing nearest neighbours of S_i·S_j (twin: src/lattice/observables.ts).
// The record index is (n - runStart)/every - 1 with n the step counter of the sampled state;
// nothing is written once the divergence flag is set (its counter would be stale).
//!include "lib/spin.wgsl"

struct SampleParams { lx: u32, ly: u32, runStart: u32, every: u32, maxRecords: u32 }

const NO_FLAG: u32 = 0xFFFFFFFFu;
const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> sp: SampleParams;
@group(0) @binding(1) var<storage, read> spins: array<f32>;
@group(0) @binding(2) var<storage, read> nbr: array<i32>;
@group(0) @binding(3) var<storage, read> ctr: array<u32>;
@group(0) @binding(4) var<storage, read_write> samples: array<f32>;
@group(0) @binding(5) var<storage, read_write> flag: array<atomic<u32>>;

var<workgroup> wgFlag: u32;
var<workgroup> partial: array<vec4<f32>, WG>;

@compute @workgroup_size(64)
fn sample(@builtin(local_invocation_index) t: u32) {
  if (t == 0u) { wgFlag = atomicLoad(&flag[0]); }
  if (workgroupUniformLoad(&wgFlag) != NO_FLAG) { return; }
  let rec = (ctr[0] - sp.runStart) / sp.every - 1u;
  if (rec >= sp.maxRecords) { return; }
  let stride = 4u + 4u * sp.lx;
  let base = rec * stride;
  var m = vec4<f32>(0.0);
  for (var x = t; x < sp.lx; x = x + WG) {
    var col = vec4<f32>(0.0);
    for (var y = 0u; y < sp.ly; y = y + 1u) {
      let i = x + sp.lx * y;
      let s = load3(&spins, i);
      var c = 0.0;
      var nn = 0.0;
      for (var k = 0u; k < 4u; k = k + 1u) {
        let j = nbr[4u * i + k];
        if (j >= 0) { c = c + dot(s, load3(&spins, u32(j))); nn = nn + 1.0; }
      }
      if (nn > 0.0) { c = c / nn; }
      col = col + vec4<f32>(s, c);
    }
    col = col / f32(sp.ly);
    let o = base + 4u + 4u * x;
    samples[o] = col.x; samples[o + 1u] = col.y; samples[o + 2u] = col.z; samples[o + 3u] = col.w;
    m = m + col;
  }
  partial[t] = m;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w = w / 2u) {
    if (t < w) { partial[t] = partial[t] + partial[t + w]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let tot = partial[0] / f32(sp.lx);
    samples[base] = tot.x; samples[base + 1u] = tot.y; samples[base + 2u] = tot.z; samples[base + 3u] = tot.w;
  }
}
