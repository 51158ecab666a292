// Float64 twin of the MLP: gradients against central finite differences, Adam against a direct
// transcription of the PyTorch AdamW update, weight layout round trips.
import { describe, it, expect } from 'vitest';
import { MlpTwin, activation } from '../src/model/mlpTwin.js';
import { initParams, paramCount, paramEntries, flatten, unflatten, ACTIVATIONS, type MlpArch } from '../src/model/weights.js';
import { adamStepTwin } from '../src/model/adam.js';

function rand(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
const vec = (n: number, rnd: () => number, scale = 2) => Float64Array.from({ length: n }, () => scale * rnd());
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

// Biases are initialised to zero; give them random values so every term of the gradient is exercised.
function twinWithBiases(arch: MlpArch, seed: number): MlpTwin {
  const theta = initParams(arch, seed);
  const rnd = rand(seed + 1);
  for (const e of paramEntries(arch)) if (e.name.endsWith('bias')) for (let k = 0; k < e.size; k++) theta[e.offset + k] = 0.5 * rnd();
  return new MlpTwin(arch, theta);
}

describe('MLP twin (float64)', () => {
  it('activation derivatives match finite differences', () => {
    for (const act of ACTIVATIONS) {
      for (const z of [-3.1, -0.7, 0.3, 1.9, 6]) {
        const h = 1e-5;
        const [, d1, d2] = activation(act, z);
        const fd1 = (activation(act, z + h)[0] - activation(act, z - h)[0]) / (2 * h);
        const fd2 = (activation(act, z + h)[1] - activation(act, z - h)[1]) / (2 * h);
        // central differences: truncation O(h² σ''') ~ 1e-10, round-off ~ 1e-16/h ~ 1e-11
        expect(Math.abs(d1 - fd1)).toBeLessThan(1e-8);
        expect(Math.abs(d2 - fd2)).toBeLessThan(1e-8);
      }
    }
  });

  for (const act of ACTIVATIONS) {
    const arch: MlpArch = { inputDim: 5, hidden: [7, 6], activation: act };
    const R = 3;
    const rnd = rand(11);
    const x = vec(R * 5, rnd);
    const UE = vec(R * 5, rnd), UP = vec(R * 5, rnd), yBar = vec(R * 2, rnd);

    it(`${act}: input gradient = finite differences of the forward pass`, () => {
      const tw = twinWithBiases(arch, 3);
      const g = tw.inputGrad(x, R);
      const h = 1e-6;
      let err = 0;
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < 5; k++) {
          const xp = Float64Array.from(x), xm = Float64Array.from(x);
          xp[r * 5 + k] += h;
          xm[r * 5 + k] -= h;
          const yp = tw.forward(xp, R).y, ym = tw.forward(xm, R).y;
          for (let c = 0; c < 2; c++) err = Math.max(err, Math.abs((yp[2 * r + c] - ym[2 * r + c]) / (2 * h) - g[c * R * 5 + r * 5 + k]));
        }
      }
      // relative to max |g|; ReLU is piecewise linear (exact FD away from kinks, which a 1e-6 step misses)
      expect(err / maxAbs(g)).toBeLessThan(1e-7);
    });

    it(`${act}: double backward = finite differences of Σ U·g(θ) + Σ Ȳ·y(θ), every parameter`, () => {
      const base = twinWithBiases(arch, 5);
      const grad = base.doubleBackward(x, UE, UP, R, yBar);
      const loss = (theta: Float64Array) => {
        const t = new MlpTwin(arch, theta);
        const g = t.inputGrad(x, R);
        return dot(UE, g.subarray(0, R * 5)) + dot(UP, g.subarray(R * 5)) + dot(yBar, t.forward(x, R).y);
      };
      const h = 1e-6;
      let err = 0;
      for (let p = 0; p < paramCount(arch); p++) {
        const tp = Float64Array.from(base.theta), tm = Float64Array.from(base.theta);
        tp[p] += h;
        tm[p] -= h;
        err = Math.max(err, Math.abs((loss(tp) - loss(tm)) / (2 * h) - grad[p]));
      }
      expect(err / maxAbs(grad)).toBeLessThan(1e-6);
      // the force part alone is non-trivial for the biases of hidden layers only through σ'' (zero for ReLU)
      const gf = base.doubleBackward(x, UE, UP, R);
      const b0 = paramEntries(arch).find((e) => e.name === 'layers.0.bias')!;
      const biasGrad = maxAbs(gf.subarray(b0.offset, b0.offset + b0.size));
      if (act === 'relu') expect(biasGrad).toBe(0);
      else expect(biasGrad).toBeGreaterThan(1e-3);
    });

    it(`${act}: energy backward = finite differences of Σ Ȳ·y(θ) (directional)`, () => {
      const base = twinWithBiases(arch, 7);
      const grad = base.energyBackward(x, yBar, R);
      const v = vec(paramCount(arch), rand(99));
      const loss = (s: number) => dot(yBar, new MlpTwin(arch, base.theta.map((t, i) => t + s * v[i])).forward(x, R).y);
      const h = 1e-6;
      const fd = (loss(h) - loss(-h)) / (2 * h);
      expect(Math.abs(fd - dot(grad, v)) / (Math.abs(fd) + 1e-12)).toBeLessThan(1e-7);
    });
  }

  it('Adam step matches the AdamW formulas (bias correction, decoupled decay, clipping)', () => {
    const rnd = rand(5);
    const n = 10;
    const theta = vec(n, rnd), g1 = vec(n, rnd), g2 = vec(n, rnd);
    const th = Float64Array.from(theta), m = new Float64Array(n), v = new Float64Array(n);
    const hyp = { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, clipNorm: 0.5 };
    adamStepTwin(th, g1, m, v, 1, hyp);
    adamStepTwin(th, g2, m, v, 2, hyp);
    // hand-unrolled reference for two steps
    const c1 = Math.min(1, 0.5 / Math.hypot(...g1)), c2 = Math.min(1, 0.5 / Math.hypot(...g2));
    for (let i = 0; i < n; i++) {
      let t = theta[i];
      const a1 = c1 * g1[i], a2 = c2 * g2[i];
      t *= 1 - 0.01 * 0.1;
      let mm = 0.2 * a1, vv = 0.05 * a1 * a1;
      t -= (0.01 * (mm / 0.2)) / (Math.sqrt(vv / 0.05) + 1e-6);
      t *= 1 - 0.01 * 0.1;
      mm = 0.8 * mm + 0.2 * a2;
      vv = 0.95 * vv + 0.05 * a2 * a2;
      t -= (0.01 * (mm / (1 - 0.64))) / (Math.sqrt(vv / (1 - 0.95 * 0.95)) + 1e-6);
      expect(th[i]).toBeCloseTo(t, 12);
    }
    expect(() => adamStepTwin(th, g1, m, v, 0, hyp)).toThrow(/step t/);
    expect(() => adamStepTwin(th, g1, m, v, 3, { lr: -1 })).toThrow(/adam.lr/);
  });

  it('weight layout: PyTorch names and shapes, flatten/unflatten round trip, errors name the tensor', () => {
    const arch: MlpArch = { inputDim: 4, hidden: [3], activation: 'silu' };
    expect(paramEntries(arch).map((e) => `${e.name}:${e.shape}`)).toEqual(['layers.0.weight:3,4', 'layers.0.bias:3', 'layers.1.weight:2,3', 'layers.1.bias:2']);
    const theta = initParams(arch, 1);
    const named = unflatten(arch, theta);
    expect(Array.from(flatten(arch, named))).toEqual(Array.from(Float32Array.from(theta)));
    // He init: W ~ N(0, 2/fan_in), biases zero, deterministic in the seed
    expect(Array.from(named['layers.0.bias'])).toEqual([0, 0, 0]);
    expect(Array.from(initParams(arch, 1))).toEqual(Array.from(theta));
    expect(Array.from(initParams(arch, 2))).not.toEqual(Array.from(theta));
    const { ['layers.1.bias']: _, ...partial } = named;
    expect(() => flatten(arch, partial)).toThrow(/layers\.1\.bias/);
    expect(() => flatten(arch, { ...named, 'layers.0.weight': new Float32Array(5) })).toThrow(/layers\.0\.weight/);
    expect(() => new MlpTwin({ inputDim: 0, hidden: [], activation: 'silu' }, [])).toThrow(/inputDim/);
    expect(() => new MlpTwin({ inputDim: 2, hidden: [3], activation: 'gelu' as never }, [])).toThrow(/activation/);
  });

  it('He initialisation has the stated variance (width-1024 layer)', () => {
    const arch: MlpArch = { inputDim: 256, hidden: [1024], activation: 'relu' };
    const theta = initParams(arch, 4);
    const e = paramEntries(arch)[0];
    const w = theta.subarray(e.offset, e.offset + e.size);
    const varW = dot(w, w) / w.length;
    // 262144 samples: relative standard error of the variance sqrt(2/N) ≈ 0.3%
    expect(Math.abs(varW / (2 / 256) - 1)).toBeLessThan(0.02);
  });
});
