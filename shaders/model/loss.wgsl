// Gradient of the weighted force loss (twin: lossGradF64 in src/model/trainTwin.ts):
//   L = Σ_rows w_i |h_r - t_r|² / W,   dL/dh_r = scale · w_i · (h_r - t_r),   scale = 2 / W,
// rows r = b*N + i of a batch (B×N×3 packed xyz), w_i the per-site region weight, W = Σ_rows w_i.
struct Params {
  rows: u32,
  N: u32,
  scale: f32,
  gridX: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;      // N
@group(0) @binding(4) var<storage, read_write> dLdh: array<f32>;  // rows×3

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * p.gridX;
  if (row >= p.rows) { return; }
  let c = p.scale * weight[row % p.N];
  for (var k = 0u; k < 3u; k++) {
    let e = 3u * row + k;
    dLdh[e] = c * (h[e] - tgt[e]);
  }
}
