/**
 * Initial spin states from a config's `initial` section: generated textures, or a file
 * (`.ovf` with Lx × Ly × 1 nodes and valuedim 3, or `.npy` of shape (N, 3) / (Ly, Lx, 3) / (3N,)).
 * File spins must be unit vectors within 1e-5 (f32 storage) and are renormalised in f64.
 */
import { extname } from 'node:path';
import { Lattice } from '../lattice/lattice.js';
import { makeTexture } from '../lattice/textures.js';
import type { InitialConfig } from './config.js';
import { FormatError } from './errors.js';
import { readNpy } from './npy.js';
import { readOvf } from './ovf.js';

/** |S|-1 accepted for spins read from files. */
export const FILE_SPIN_TOL = 1e-5;

/** Read packed unit spins for `lat` from an .ovf or .npy file. */
export function readSpinsFile(path: string, lat: Lattice): Float64Array {
  let data: ArrayLike<number>;
  const ext = extname(path).toLowerCase();
  if (ext === '.ovf' || ext === '.omf') {
    const f = readOvf(path);
    if (f.valuedim !== 3 || f.nodes.join() !== [lat.Lx, lat.Ly, 1].join()) {
      throw new FormatError(path, `nodes: ${f.nodes.join('×')} valuedim ${f.valuedim}, expected ${lat.Lx}×${lat.Ly}×1 valuedim 3`);
    }
    data = f.data;
  } else if (ext === '.npy') {
    const a = readNpy(path);
    if (a.data.length !== 3 * lat.N || a.shape[a.shape.length - 1] !== (a.shape.length === 1 ? 3 * lat.N : 3)) {
      throw new FormatError(path, `shape: (${a.shape}), expected (${lat.N}, 3) for ${lat.Lx}×${lat.Ly} sites`);
    }
    data = a.data;
  } else throw new FormatError(path, 'unknown spin file type (use .ovf or .npy)');
  const out = new Float64Array(3 * lat.N);
  for (let i = 0; i < lat.N; i++) {
    const n = Math.hypot(data[3 * i], data[3 * i + 1], data[3 * i + 2]);
    if (!(Math.abs(n - 1) <= FILE_SPIN_TOL)) throw new FormatError(path, `site ${i}: |S|-1 = ${(n - 1).toExponential(2)} exceeds ${FILE_SPIN_TOL.toExponential()}`);
    for (let a = 0; a < 3; a++) out[3 * i + a] = data[3 * i + a] / n;
  }
  return out;
}

/** The initial state described by a simulate config's `initial` section. */
export function initialSpins(lat: Lattice, initial: InitialConfig): Float64Array {
  return initial.kind === 'file' ? readSpinsFile(initial.path, lat) : makeTexture(lat, initial);
}
