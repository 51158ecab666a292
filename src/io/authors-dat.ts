/**
 * Import of the authors' NEGF snapshots (Zhang & Chern 2022, SPEC §5): text files with one row
 * per site, whitespace-separated `x y Sx Sy Sz Fx Fy Fz n c q` (c = mean nearest-neighbour S·S,
 * q unidentified; both are not stored). Rows are placed by their x, y columns at i = x + Lx*y,
 * whatever their order in the file (the published files list x fastest, i.e. already in i
 * order). The files' spins deviate from unit length by up to 1e-7 (their c column is computed
 * from them as printed); `importAuthorsDat` renormalises them in f64 and computes F⊥ from the
 * renormalised spins. Parameters are those of the `zhang-chern-2022` preset (fitted, SPEC §5).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { FormatError } from './errors.js';
import { perpendicular, type DatasetInfo, type Snapshots, concatSnapshots } from './dataset.js';

export const ZHANG_CHERN_2022 = {
  lattice: { Lx: 32, Ly: 24, periodicY: true },
  model: { t: 1, J: 3.79 },
  leads: { kind: 'wide-band' as const, gamma: 2 },
  muL: -3.25,
  muR: -3.25,
  temperature: 0.01,
};

/** |S|-1 above which an authors' row is rejected rather than renormalised. */
export const DAT_SPIN_TOL = 1e-4;

export interface DatSnapshot {
  /** spins as printed (not renormalised) */
  spins: Float64Array;
  field: Float64Array;
  density: Float64Array;
  /** the file's c column, in site order (for checks) */
  c: Float64Array;
}

/** Parse one .dat file for an Lx × Ly lattice. */
export function parseAuthorsDat(text: string, Lx: number, Ly: number, file = '<dat>'): DatSnapshot {
  const N = Lx * Ly;
  const rows = text.split(/\r?\n/).filter((l) => l.trim().length);
  if (rows.length !== N) throw new FormatError(file, `${rows.length} rows, expected Lx*Ly = ${N}`);
  const out: DatSnapshot = { spins: new Float64Array(3 * N), field: new Float64Array(3 * N), density: new Float64Array(N), c: new Float64Array(N) };
  const seen = new Uint8Array(N);
  rows.forEach((line, r) => {
    const v = line.trim().split(/\s+/).map(Number);
    if (v.length < 10 || v.some((t) => !Number.isFinite(t))) throw new FormatError(file, `row ${r + 1}: expected 11 numeric columns x y Sx Sy Sz Fx Fy Fz n c q`);
    const [x, y] = v;
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || x >= Lx || y < 0 || y >= Ly) throw new FormatError(file, `row ${r + 1}: site (${x}, ${y}) outside ${Lx}×${Ly}`);
    const i = x + Lx * y;
    if (seen[i]++) throw new FormatError(file, `row ${r + 1}: site (${x}, ${y}) appears twice`);
    const dev = Math.hypot(v[2], v[3], v[4]) - 1;
    if (Math.abs(dev) > DAT_SPIN_TOL) throw new FormatError(file, `row ${r + 1}: |S|-1 = ${dev.toExponential(2)} exceeds ${DAT_SPIN_TOL.toExponential()}`);
    for (let a = 0; a < 3; a++) {
      out.spins[3 * i + a] = v[2 + a];
      out.field[3 * i + a] = v[5 + a];
    }
    out.density[i] = v[8];
    out.c[i] = v[9];
  });
  return out;
}

function normalised(s: Float64Array): Float64Array {
  const out = new Float64Array(s.length);
  for (let i = 0; i < s.length; i += 3) {
    const n = Math.hypot(s[i], s[i + 1], s[i + 2]);
    for (let a = 0; a < 3; a++) out[i + a] = s[i + a] / n;
  }
  return out;
}

export interface DatSource {
  path: string;
  /** default 0 */
  trajectory?: number;
  /** default: the number in the file name (c200.dat → 200), else 0 */
  step?: number;
}

/** Import authors' files as dataset snapshots with the zhang-chern-2022 parameters. */
export function importAuthorsDat(sources: (string | DatSource)[]): { info: DatasetInfo; data: Snapshots } {
  const P = ZHANG_CHERN_2022;
  const parts = sources.map((src): Snapshots => {
    const s = typeof src === 'string' ? { path: src } : src;
    const snap = parseAuthorsDat(readFileSync(s.path, 'utf8'), P.lattice.Lx, P.lattice.Ly, s.path);
    const spins = normalised(snap.spins);
    const step = s.step ?? Number(/(\d+)\D*$/.exec(basename(s.path))?.[1] ?? 0);
    return {
      spins: Float32Array.from(spins),
      field: Float32Array.from(snap.field),
      fieldPerp: Float32Array.from(perpendicular(spins, snap.field)),
      density: Float32Array.from(snap.density),
      params: Float64Array.from([P.muL, P.muR, P.temperature]),
      trajectory: Int32Array.of(s.trajectory ?? 0),
      step: Int32Array.of(step),
    };
  });
  return {
    info: {
      lattice: P.lattice,
      model: P.model,
      leads: P.leads,
      provenance: {
        source: 'Zhang & Chern 2022 NEGF snapshots (cherngroupUVA/ML_non_equilibrium_de, MIT)',
        files: sources.map((s) => basename(typeof s === 'string' ? s : s.path)),
        parameters: 'zhang-chern-2022 preset (SPEC §5, fitted, not quoted)',
        field: "authors' F column as given; fieldPerp computed from renormalised spins",
      },
    },
    data: concatSnapshots(parts),
  };
}
