/**
 * Plain TypeScript CPU loop of the midpoint LL step (Zeeman + easy axis + exchange, no noise):
 * the baseline the fused GPU step is compared with in `npm run bench`. Same algorithm as
 * shaders/dynamics/llg.wgsl (Cayley update with two-step field extrapolation), flat typed arrays,
 * no allocation in the loop — the fastest straightforward single-threaded JS.
 */
import type { Lattice } from '../lattice/lattice.js';

export class CpuMidpoint {
  private s: Float64Array;
  private next: Float64Array;
  private hist: Float64Array;
  private first = true;
  constructor(
    private readonly lat: Lattice,
    private readonly p: { alpha: number; dt: number; B: number[]; K: number; e: number[]; JH: number },
    s0: ArrayLike<number>,
  ) {
    this.s = Float64Array.from(s0);
    this.next = new Float64Array(this.s.length);
    this.hist = new Float64Array(this.s.length);
  }

  step(n: number): void {
    const { alpha, dt, B, K, e, JH } = this.p;
    const nb = this.lat.neighbours;
    for (let k = 0; k < n; k++) {
      const s = this.s, out = this.next, hist = this.hist;
      for (let i = 0; i < this.lat.N; i++) {
        const sx = s[3 * i], sy = s[3 * i + 1], sz = s[3 * i + 2];
        let hx = B[0], hy = B[1], hz = B[2];
        const se = 2 * K * (sx * e[0] + sy * e[1] + sz * e[2]);
        hx += se * e[0]; hy += se * e[1]; hz += se * e[2];
        for (let q = 0; q < 4; q++) {
          const j = nb[4 * i + q];
          if (j >= 0) { hx += JH * s[3 * j]; hy += JH * s[3 * j + 1]; hz += JH * s[3 * j + 2]; }
        }
        // h1 = H + α S×H
        const h1x = hx + alpha * (sy * hz - sz * hy);
        const h1y = hy + alpha * (sz * hx - sx * hz);
        const h1z = hz + alpha * (sx * hy - sy * hx);
        const px = this.first ? h1x : hist[3 * i], py = this.first ? h1y : hist[3 * i + 1], pz = this.first ? h1z : hist[3 * i + 2];
        hist[3 * i] = h1x; hist[3 * i + 1] = h1y; hist[3 * i + 2] = h1z;
        const ax = 0.5 * dt * (1.5 * h1x - 0.5 * px), ay = 0.5 * dt * (1.5 * h1y - 0.5 * py), az = 0.5 * dt * (1.5 * h1z - 0.5 * pz);
        const a2 = ax * ax + ay * ay + az * az, as = ax * sx + ay * sy + az * sz, inv = 1 / (1 + a2);
        out[3 * i] = ((1 - a2) * sx + 2 * as * ax + 2 * (ay * sz - az * sy)) * inv;
        out[3 * i + 1] = ((1 - a2) * sy + 2 * as * ay + 2 * (az * sx - ax * sz)) * inv;
        out[3 * i + 2] = ((1 - a2) * sz + 2 * as * az + 2 * (ax * sy - ay * sx)) * inv;
      }
      this.first = false;
      this.s = out;
      this.next = s;
    }
  }

  spins(): Float64Array {
    return this.s;
  }
}
