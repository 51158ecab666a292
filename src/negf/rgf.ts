/**
 * Float64 recursive Green's function (RGF) for the slice-tridiagonal s-d model (see model.ts for
 * the basis). For one complex energy z it returns only what the energy integrals need:
 *
 *  mode 'G' (contour points, any complex z):
 *    G      site 2×2 blocks of G^r(z) = [z - H - Σ_L(z) - Σ_R(z)]⁻¹          (N·8 doubles)
 *    Gf, Gb bond blocks G_{(x,y),(x+1,y)} and G_{(x+1,y),(x,y)}            ((Lx-1)·Ly·8 each)
 *    logDet ln det G⁻¹(z) = Σ_x ln det(Schur complement of slice x)   (mod 2πi per slice;
 *           `sliceLogDet` keeps the per-slice values so differences can be unwrapped per slice)
 *  mode 'A' (real-axis points z = E + iη):
 *    AL, AR site blocks of A_α = G Γ_α G†                                   (N·8 each)
 *    ALb, ARb bond blocks (A_α)_{(x,y),(x+1,y)}
 *    kLR[μ] = Tr(σ^μ Γ_L A_R) on column 0, kRL[μ] = Tr(σ^μ Γ_R A_L) on column Lx-1
 *           (μ = 0 particle, 1..3 Pauli σx,y,z); with these the current from lead L into the
 *           sample is ∫dE/2π (f_L - f_R) kLR (and L↔R), see docs/negf.md.
 *
 * Block layout: 2×2 complex block [b00, b01, b10, b11] as (re, im) pairs: b[2(2s+s')+{0,1}];
 * site block i = x + Lx·y at offset 8i; bond b = x + (Lx-1)·y at offset 8b.
 * Recursions (off-diagonal blocks of z - H are +t·I):
 *   gL_0 = D_0⁻¹, gL_x = (D_x - t² gL_{x-1})⁻¹;  gR_{N-1} = D_{N-1}⁻¹, gR_x = (D_x - t² gR_{x+1})⁻¹
 *   G_xx = (D_x - t² gL_{x-1} - t² gR_{x+1})⁻¹,  G_{x,x+1} = -t gL_x G_{x+1,x+1},
 *   G_{x+1,x} = -t G_{x+1,x+1} gL_x,  G_{x,0} = -t gR_x G_{x-1,0},  G_{x,N-1} = -t gL_x G_{x+1,N-1}.
 * Cost per energy: 3·Lx inversions of M×M (mode G) or 2·Lx inversions + ~6·Lx products (mode A).
 */
import { type CMatrix, type Complex, czeros, cinv, cmul, caxpy } from './complex.js';
import { type NegfSystem, sliceHamiltonian, leadSelfEnergy, broadening } from './model.js';

export interface RgfG {
  G: Float64Array;
  Gf: Float64Array;
  Gb: Float64Array;
  logDet: Complex;
  sliceLogDet: Float64Array;
}

export interface RgfA {
  AL: Float64Array;
  AR: Float64Array;
  ALb: Float64Array;
  ARb: Float64Array;
  kLR: Float64Array;
  kRL: Float64Array;
}

/**
 * out[8·(off + y·stride) ..] = 2×2 diagonal (y,y) blocks of X·Y (dagY = false) or X·Y† (dagY = true),
 * scaled by the real factor s.
 */
function diagBlocks(X: CMatrix, Y: CMatrix, M: number, dagY: boolean, s: number, out: Float64Array, off: number, stride: number): void {
  const Ly = M / 2;
  for (let y = 0; y < Ly; y++) {
    const o = 8 * (off + y * stride);
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 2; b++) {
        const r = 2 * y + a, c = 2 * y + b;
        let re = 0, im = 0;
        for (let k = 0; k < M; k++) {
          const xr = X[2 * (r * M + k)], xi = X[2 * (r * M + k) + 1];
          let yr: number, yi: number;
          if (dagY) { yr = Y[2 * (c * M + k)]; yi = -Y[2 * (c * M + k) + 1]; }
          else { yr = Y[2 * (k * M + c)]; yi = Y[2 * (k * M + c) + 1]; }
          re += xr * yr - xi * yi;
          im += xr * yi + xi * yr;
        }
        out[o + 2 * (2 * a + b)] = s * re;
        out[o + 2 * (2 * a + b) + 1] = s * im;
      }
    }
  }
}

/** [Tr b, Tr σx b, Tr σy b, Tr σz b] of a 2×2 complex block at offset o, complex results (re, im)·4 */
export function spinTraces(b: Float64Array, o: number, out: Float64Array = new Float64Array(8)): Float64Array {
  const r00 = b[o], i00 = b[o + 1], r01 = b[o + 2], i01 = b[o + 3];
  const r10 = b[o + 4], i10 = b[o + 5], r11 = b[o + 6], i11 = b[o + 7];
  out[0] = r00 + r11; out[1] = i00 + i11;
  out[2] = r01 + r10; out[3] = i01 + i10;
  // Tr(σy b) = i b01 - i b10
  out[4] = -i01 + i10; out[5] = r01 - r10;
  out[6] = r00 - r11; out[7] = i00 - i11;
  return out;
}

export class Rgf {
  readonly sys: NegfSystem;
  private readonly H: CMatrix[];
  private readonly gL: CMatrix[];
  private readonly gR: CMatrix[];
  private readonly Gxx: CMatrix[];
  private readonly w1: CMatrix;
  private readonly w2: CMatrix;
  private readonly inv: CMatrix;

  constructor(sys: NegfSystem) {
    this.sys = sys;
    const { Lx, M } = sys;
    this.H = Array.from({ length: Lx }, (_, x) => sliceHamiltonian(sys, x));
    this.gL = Array.from({ length: Lx }, () => czeros(M));
    this.gR = Array.from({ length: Lx }, () => czeros(M));
    this.Gxx = Array.from({ length: Lx }, () => czeros(M));
    this.w1 = czeros(M);
    this.w2 = czeros(M);
    this.inv = czeros(M);
  }

  /** D_x = z - H_x - Σ_x into out */
  private dBlock(x: number, zr: number, zi: number, sL: CMatrix, sR: CMatrix, out: CMatrix): void {
    const { M, Lx } = this.sys;
    const h = this.H[x];
    for (let p = 0; p < h.length; p++) out[p] = -h[p];
    for (let o = 0; o < M; o++) {
      out[2 * (o * M + o)] += zr;
      out[2 * (o * M + o) + 1] += zi;
    }
    if (x === 0) caxpy(out, sL, -1, 0, out);
    if (x === Lx - 1) caxpy(out, sR, -1, 0, out);
  }

  /** left and right sweeps; returns Σ_x ln det(D_x - t² gL_{x-1}) per slice */
  private sweeps(zr: number, zi: number, sL: CMatrix, sR: CMatrix, right: boolean): Float64Array {
    const { Lx, M, t } = this.sys;
    const t2 = t * t;
    const ld = new Float64Array(2 * Lx);
    for (let x = 0; x < Lx; x++) {
      this.dBlock(x, zr, zi, sL, sR, this.w1);
      if (x > 0) caxpy(this.w1, this.gL[x - 1], -t2, 0, this.w1);
      const [a, b] = cinv(this.w1, M, this.gL[x], this.inv);
      ld[2 * x] = a; ld[2 * x + 1] = b;
    }
    if (right) {
      for (let x = Lx - 1; x >= 0; x--) {
        this.dBlock(x, zr, zi, sL, sR, this.w1);
        if (x < Lx - 1) caxpy(this.w1, this.gR[x + 1], -t2, 0, this.w1);
        cinv(this.w1, M, this.gR[x], this.inv);
      }
    }
    return ld;
  }

  /** ln det G⁻¹(z) per slice only (left sweep), for grand-potential differences */
  logDetSlices(zr: number, zi: number): Float64Array {
    const { M } = this.sys;
    const sL = leadSelfEnergy(this.sys, zr, zi, czeros(M));
    return this.sweeps(zr, zi, sL, sL, false);
  }

  /** contour mode: site and bond blocks of G(z) */
  solveG(zr: number, zi: number): RgfG {
    const { Lx, Ly, M, t } = this.sys;
    const N = Lx * Ly;
    const t2 = t * t;
    const sL = leadSelfEnergy(this.sys, zr, zi, czeros(M)); // left and right leads are identical
    const sliceLogDet = this.sweeps(zr, zi, sL, sL, true);
    for (let x = 0; x < Lx; x++) {
      if (x === 0) this.Gxx[x].set(this.gR[0]);
      else if (x === Lx - 1) this.Gxx[x].set(this.gL[Lx - 1]);
      else {
        this.dBlock(x, zr, zi, sL, sL, this.w1);
        caxpy(this.w1, this.gL[x - 1], -t2, 0, this.w1);
        caxpy(this.w1, this.gR[x + 1], -t2, 0, this.w1);
        cinv(this.w1, M, this.Gxx[x], this.inv);
      }
    }
    const G = new Float64Array(8 * N);
    const nb = Math.max(0, Lx - 1);
    const Gf = new Float64Array(8 * nb * Ly), Gb = new Float64Array(8 * nb * Ly);
    const I = identityBlocks(M);
    for (let x = 0; x < Lx; x++) {
      diagBlocks(this.Gxx[x], I, M, false, 1, G, x, Lx);
      if (x + 1 < Lx) {
        diagBlocks(this.gL[x], this.Gxx[x + 1], M, false, -t, Gf, x, nb);
        diagBlocks(this.Gxx[x + 1], this.gL[x], M, false, -t, Gb, x, nb);
      }
    }
    let lr = 0, li = 0;
    for (let x = 0; x < Lx; x++) { lr += sliceLogDet[2 * x]; li += sliceLogDet[2 * x + 1]; }
    return { G, Gf, Gb, logDet: [lr, li], sliceLogDet };
  }

  /** real-axis mode at z = E + iη: blocks of A_L, A_R and the lead-current kernels */
  solveA(E: number, eta: number): RgfA {
    const { Lx, Ly, M } = this.sys;
    const N = Lx * Ly;
    const sL = leadSelfEnergy(this.sys, E, eta, czeros(M));
    const gam = broadening(sL, M);
    this.sweeps(E, eta, sL, sL, true);
    const nb = Math.max(0, Lx - 1);
    const AL = new Float64Array(8 * N), AR = new Float64Array(8 * N);
    const ALb = new Float64Array(8 * nb * Ly), ARb = new Float64Array(8 * nb * Ly);
    // column G_{x,0} from the left lead: C_0 = G_00 = gR_0, C_x = -t gR_x C_{x-1}
    const lastL = this.leadColumn(this.gR, gam, 1, AL, ALb);
    // column G_{x,N-1} from the right lead: E_{N-1} = gL_{N-1}, E_x = -t gL_x E_{x+1}
    const lastR = this.leadColumn(this.gL, gam, -1, AR, ARb);
    // lastL = A_L on column Lx-1 (full), lastR = A_R on column 0 (full)
    const kLR = this.leadKernel(gam, lastR);
    const kRL = this.leadKernel(gam, lastL);
    return { AL, AR, ALb, ARb, kLR, kRL };
  }

  /**
   * Propagate the column of G connected to one lead (dir = +1: from x = 0 using gR; dir = -1: from
   * x = Lx-1 using gL), writing site and bond blocks of A = C Γ C†. Returns the full M×M block of A
   * on the far end column (needed for the current into the other lead).
   */
  private leadColumn(g: CMatrix[], gam: CMatrix, dir: 1 | -1, site: Float64Array, bond: Float64Array): CMatrix {
    const { Lx, M, t } = this.sys;
    const nb = Math.max(0, Lx - 1);
    const start = dir === 1 ? 0 : Lx - 1;
    let C: CMatrix = new Float64Array(g[start]);
    let B = cmul(C, gam, M);
    diagBlocks(B, C, M, true, 1, site, start, Lx);
    for (let step = 1; step < Lx; step++) {
      const x = start + dir * step;
      const Cn = cmul(g[x], C, M);
      for (let p = 0; p < Cn.length; p++) Cn[p] *= -t;
      const Bn = cmul(Cn, gam, M);
      diagBlocks(Bn, Cn, M, true, 1, site, x, Lx);
      // bond between min(x, xPrev) and max: (A)_{x0,x0+1} = B_{x0} C_{x0+1}†
      if (dir === 1) diagBlocks(B, Cn, M, true, 1, bond, x - 1, nb);
      else diagBlocks(Bn, C, M, true, 1, bond, x, nb);
      C = Cn; B = Bn;
    }
    const Cd = new Float64Array(C.length);
    for (let r = 0; r < M; r++) for (let c = 0; c < M; c++) { Cd[2 * (c * M + r)] = C[2 * (r * M + c)]; Cd[2 * (c * M + r) + 1] = -C[2 * (r * M + c) + 1]; }
    return cmul(B, Cd, M);
  }

  /** [Tr(σ^μ Γ A)] for μ = 0..3 (real parts; the traces are real for Hermitian A) */
  private leadKernel(gam: CMatrix, A: CMatrix): Float64Array {
    const { M } = this.sys;
    const blocks = new Float64Array(8 * (M / 2));
    diagBlocks(gam, A, M, false, 1, blocks, 0, 1);
    const k = new Float64Array(4), tr = new Float64Array(8);
    for (let y = 0; y < M / 2; y++) {
      spinTraces(blocks, 8 * y, tr);
      for (let mu = 0; mu < 4; mu++) k[mu] += tr[2 * mu];
    }
    return k;
  }
}

const idCache = new Map<number, CMatrix>();
function identityBlocks(M: number): CMatrix {
  let I = idCache.get(M);
  if (!I) {
    I = czeros(M);
    for (let o = 0; o < M; o++) I[2 * (o * M + o)] = 1;
    idCache.set(M, I);
  }
  return I;
}
