/**
 * Square lattice Lx × Ly (SPEC §1): x is the transport direction (open ends), y transverse,
 * periodic when `periodicY` and Ly ≥ 3 (for Ly ≤ 2 periodicity would double a bond, so it is off).
 * Site index i = x + Lx*y.
 */
export interface LatticeSpec {
  Lx: number;
  Ly: number;
  periodicY?: boolean;
}

/** Neighbour slots in `neighbours`: +x, -x, +y, -y; -1 where the neighbour does not exist. */
export const NB_XP = 0, NB_XM = 1, NB_YP = 2, NB_YM = 3;

export class Lattice {
  readonly Lx: number;
  readonly Ly: number;
  /** effective periodicity in y (false for Ly < 3 whatever was asked) */
  readonly periodicY: boolean;
  readonly N: number;
  /** N*4 neighbour indices (+x, -x, +y, -y), -1 if absent */
  readonly neighbours: Int32Array;
  /** nearest-neighbour bonds, each once: pairs (i, j) */
  readonly bonds: Int32Array;

  constructor(spec: LatticeSpec) {
    const { Lx, Ly } = spec;
    if (!Number.isInteger(Lx) || Lx < 1) throw new Error(`lattice.Lx must be a positive integer, got ${Lx}`);
    if (!Number.isInteger(Ly) || Ly < 1) throw new Error(`lattice.Ly must be a positive integer, got ${Ly}`);
    this.Lx = Lx;
    this.Ly = Ly;
    this.periodicY = (spec.periodicY ?? true) && Ly >= 3;
    this.N = Lx * Ly;
    this.neighbours = new Int32Array(this.N * 4).fill(-1);
    const bonds: number[] = [];
    for (let y = 0; y < Ly; y++) {
      for (let x = 0; x < Lx; x++) {
        const i = x + Lx * y;
        if (x + 1 < Lx) this.neighbours[4 * i + NB_XP] = i + 1;
        if (x > 0) this.neighbours[4 * i + NB_XM] = i - 1;
        if (y + 1 < Ly) this.neighbours[4 * i + NB_YP] = i + Lx;
        else if (this.periodicY) this.neighbours[4 * i + NB_YP] = x;
        if (y > 0) this.neighbours[4 * i + NB_YM] = i - Lx;
        else if (this.periodicY) this.neighbours[4 * i + NB_YM] = x + Lx * (Ly - 1);
        if (x + 1 < Lx) bonds.push(i, i + 1);
        const up = this.neighbours[4 * i + NB_YP];
        if (up >= 0 && (y + 1 < Ly || this.periodicY)) bonds.push(i, up);
      }
    }
    this.bonds = Int32Array.from(bonds);
  }

  index(x: number, y: number): number {
    return x + this.Lx * y;
  }
  xOf(i: number): number {
    return i % this.Lx;
  }
  yOf(i: number): number {
    return Math.floor(i / this.Lx);
  }
  /** number of existing nearest neighbours of site i */
  coordination(i: number): number {
    let c = 0;
    for (let k = 0; k < 4; k++) if (this.neighbours[4 * i + k] >= 0) c++;
    return c;
  }
  spec(): Required<LatticeSpec> {
    return { Lx: this.Lx, Ly: this.Ly, periodicY: this.periodicY };
  }
}
