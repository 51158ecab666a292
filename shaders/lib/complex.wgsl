// Complex arithmetic on vec2<f32> (x = re, y = im). Twin: src/negf (f64 complex in TypeScript).
fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
fn cconj(a: vec2<f32>) -> vec2<f32> { return vec2<f32>(a.x, -a.y); }
fn cabs2(a: vec2<f32>) -> f32 { return a.x * a.x + a.y * a.y; }
fn cinv(a: vec2<f32>) -> vec2<f32> {
  // scaled to avoid overflow/underflow of |a|^2
  let s = max(abs(a.x), abs(a.y));
  let b = a / s;
  return vec2<f32>(b.x, -b.y) / (s * (b.x * b.x + b.y * b.y));
}
fn cdiv(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return cmul(a, cinv(b)); }
// a*b + c as two FMAs per component
fn cfma(a: vec2<f32>, b: vec2<f32>, c: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(fma(a.x, b.x, fma(-a.y, b.y, c.x)), fma(a.x, b.y, fma(a.y, b.x, c.y)));
}
