/**
 * External check against the authors' NEGF snapshots (SPEC §5, reference/zhang-chern-2022):
 * 768 rows `x y Sx Sy Sz Fx Fy Fz n c q`, row order x fastest (row = x + 32·y = site index).
 */
import { readFileSync } from 'node:fs';
import type { NegfCase } from './model.js';
import type { NegfResult } from './solver.js';

export const ZC_PRESET = { Lx: 32, Ly: 24, t: 1, J: 3.79, gamma: 2, mu: -3.25, T: 0.01 } as const;

export interface Snapshot {
  spins: number[][];
  field: number[][];
  density: number[];
}

export function loadSnapshot(path: string): Snapshot {
  const { Lx, Ly } = ZC_PRESET;
  const rows = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (rows.length !== Lx * Ly) throw new Error(`${path}: expected ${Lx * Ly} rows, got ${rows.length}`);
  const snap: Snapshot = { spins: [], field: [], density: [] };
  rows.forEach((line, r) => {
    const v = line.split(/\s+/).map(Number);
    if (v[0] + Lx * v[1] !== r) throw new Error(`${path}: row ${r} is site (${v[0]}, ${v[1]}), expected x-fastest order`);
    const n = Math.hypot(v[2], v[3], v[4]);
    snap.spins.push([v[2] / n, v[3] / n, v[4] / n]);
    snap.field.push([v[5], v[6], v[7]]);
    snap.density.push(v[8]);
  });
  return snap;
}

export function presetCase(spins: number[][]): NegfCase {
  const p = ZC_PRESET;
  return {
    lattice: { Lx: p.Lx, Ly: p.Ly, periodicY: true }, model: { t: p.t, J: p.J },
    leads: { kind: 'wide-band', gamma: p.gamma }, muL: p.mu, muR: p.mu, temperature: p.T, spins,
  };
}

export interface Comparison {
  /** Pearson correlation of all F⊥ components over columns [x0, x1] */
  corrFperp: number;
  /** ‖F - F_ref‖₂ / ‖F_ref‖₂ over columns [x0, x1] (full vectors) */
  relFError: number;
  /** mean | |F| - |F_ref| | / mean |F_ref| over columns [x0, x1] */
  relFMagError: number;
  /** max and rms |n - n_ref| over all sites */
  nMaxError: number;
  nRmsError: number;
}

function perp(F: number[], S: number[]): number[] {
  const d = F[0] * S[0] + F[1] * S[1] + F[2] * S[2];
  return F.map((v, k) => v - d * S[k]);
}

export function compareSnapshot(res: Pick<NegfResult, 'field' | 'density'>, snap: Snapshot, x0 = 5, x1 = 26): Comparison {
  const { Lx } = ZC_PRESET;
  const a: number[] = [], b: number[] = [];
  let dF = 0, nF = 0, dM = 0, nM = 0;
  for (let i = 0; i < snap.spins.length; i++) {
    const x = i % Lx;
    if (x < x0 || x > x1) continue;
    const S = snap.spins[i];
    a.push(...perp(res.field[i], S));
    b.push(...perp(snap.field[i], S));
    for (let k = 0; k < 3; k++) { dF += (res.field[i][k] - snap.field[i][k]) ** 2; nF += snap.field[i][k] ** 2; }
    dM += Math.abs(Math.hypot(...res.field[i]) - Math.hypot(...snap.field[i]));
    nM += Math.hypot(...snap.field[i]);
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let k = 0; k < a.length; k++) { sab += (a[k] - ma) * (b[k] - mb); saa += (a[k] - ma) ** 2; sbb += (b[k] - mb) ** 2; }
  let nMax = 0, nSq = 0;
  snap.density.forEach((n, i) => { const d = res.density[i] - n; nMax = Math.max(nMax, Math.abs(d)); nSq += d * d; });
  return { corrFperp: sab / Math.sqrt(saa * sbb), relFError: Math.sqrt(dF / nF), relFMagError: dM / nM, nMaxError: nMax, nRmsError: Math.sqrt(nSq / snap.density.length) };
}
