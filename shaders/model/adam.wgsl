// Adam/AdamW step over the flat parameter vector and the global gradient norm (twin:
// adamStepTwin in src/model/adam.ts; update formulas in its module doc).
//   sumsq_partial: NWG workgroups each sum g² over a grid-strided slice -> norm[wg] (tree in
//                  workgroup memory, fixed order: deterministic);  sumsq_final: norm[NWG] = Σ norm[wg].
//   adam         : reads norm[NWG] only when clip > 0.
struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,    // 1 - beta1^t
  bc2: f32,    // 1 - beta2^t
  clip: f32,   // 0 = off
}

const NWG: u32 = 64u;
const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> theta: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;
@group(0) @binding(5) var<storage, read_write> norm: array<f32>;
@group(0) @binding(6) var<storage, read> norm_in: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  var c = 1.0;
  if (p.clip > 0.0) { c = min(1.0, p.clip / (sqrt(norm_in[NWG]) + 1e-12)); }
  let g = grad[i] * c;
  var t = theta[i];
  t -= p.lr * p.wd * t;
  let m = p.beta1 * m1[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * m2[i] + (1.0 - p.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  theta[i] = t - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
}

@compute @workgroup_size(256)
fn sumsq_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  var s = 0.0;
  for (var i = wid.x * WG + lid; i < p.n; i += NWG * WG) { s += grad[i] * grad[i]; }
  red[lid] = s;
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    workgroupBarrier();
    if (lid < h) { red[lid] += red[lid + h]; }
  }
  if (lid == 0u) { norm[wid.x] = red[0]; }
}

@compute @workgroup_size(1)
fn sumsq_final() {
  var s = 0.0;
  for (var w = 0u; w < NWG; w++) { s += norm[w]; }
  norm[NWG] = s;
}
