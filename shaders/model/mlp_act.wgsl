// Activation of the per-site MLP, selected by the override ACT (0 SiLU, 1 tanh, 2 ReLU).
// act3(z) = (σ, σ', σ''); twin: activation() in src/model/mlpTwin.ts.
override ACT: u32 = 0u;

fn act3(z: f32) -> vec3<f32> {
  if (ACT == 0u) {
    // exp(-z) -> inf for z << 0 gives s = 0 exactly: no inf*0.
    let s = 1.0 / (1.0 + exp(-z));
    return vec3<f32>(z * s, s * (1.0 + z * (1.0 - s)), s * (1.0 - s) * (2.0 + z * (1.0 - 2.0 * s)));
  }
  if (ACT == 1u) {
    // clamp: tanh(±15) is ±1 in f32, and some backends' tanh overflows to NaN for large |z|
    let t = tanh(clamp(z, -15.0, 15.0));
    let d = 1.0 - t * t;
    return vec3<f32>(t, d, -2.0 * t * d);
  }
  return vec3<f32>(max(z, 0.0), select(0.0, 1.0, z > 0.0), 0.0);
}
