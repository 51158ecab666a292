// Counter-based RNG: Philox4x32-10 (Salmon et al., SC'11). Stateless: the stream is a pure
// function of (key, counter), so trajectories are reproducible by seed, independent of dispatch
// order and workgroup size. Twin: src/gpu/rng.ts.

fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
  // 32x32 -> 64-bit product as (hi, lo) using 16-bit limbs (WGSL has no u64).
  let a0 = a & 0xffffu; let a1 = a >> 16u;
  let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  let lo = (p00 & 0xffffu) | (mid << 16u);
  let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, lo);
}

fn philox4x32(ctr_in: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = ctr_in;
  var k = key_in;
  for (var r = 0u; r < 10u; r = r + 1u) {
    let m0 = philox_mulhilo(0xD2511F53u, c.x);
    let m1 = philox_mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(m1.x ^ c.y ^ k.x, m1.y, m0.x ^ c.w ^ k.y, m0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// uniform in (0, 1]: 24-bit mantissa, never 0 (safe for log).
fn u01(x: u32) -> f32 {
  return (f32(x >> 8u) + 1.0) * (1.0 / 16777216.0);
}

// Four standard normals from one Philox block (Box-Muller).
fn normal4(ctr: vec4<u32>, key: vec2<u32>) -> vec4<f32> {
  let r = philox4x32(ctr, key);
  let TWO_PI = 6.283185307179586;
  let ra = sqrt(-2.0 * log(u01(r.x)));
  let rb = sqrt(-2.0 * log(u01(r.z)));
  let ta = TWO_PI * u01(r.y);
  let tb = TWO_PI * u01(r.w);
  return vec4<f32>(ra * cos(ta), ra * sin(ta), rb * cos(tb), rb * sin(tb));
}
