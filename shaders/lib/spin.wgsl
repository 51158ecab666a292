// Spin algebra helpers shared by all kernels. Spins are stored as packed xyz f32 triples
// (array<f32>, 3 per site) to avoid vec3 padding; load/store helpers below.

fn load3(a: ptr<storage, array<f32>, read>, i: u32) -> vec3<f32> {
  return vec3<f32>((*a)[3u * i], (*a)[3u * i + 1u], (*a)[3u * i + 2u]);
}

// Rodrigues rotation of s about unit axis n by angle phi.
fn rotate(s: vec3<f32>, n: vec3<f32>, phi: f32) -> vec3<f32> {
  let c = cos(phi); let sn = sin(phi);
  return s * c + cross(n, s) * sn + n * (dot(n, s) * (1.0 - c));
}

// Component of v perpendicular to unit s.
fn perp(v: vec3<f32>, s: vec3<f32>) -> vec3<f32> {
  return v - dot(s, v) * s;
}
