/**
 * Initial spin textures (packed xyz, Float64Array(3N), unit vectors, i = x + Lx*y).
 *
 * Conventions:
 * - Néel order: S_i = (-1)^(x+y) e, so site (0,0) points along +e (checkerboard).
 * - Ferromagnetic walls along x: θ(x) = 2 atan(exp((x - x0)/Δ)), so S·e_z = cos θ = -tanh((x-x0)/Δ)
 *   goes from +z (left) to -z (right) and vanishes at x = x0. A Néel wall rotates in the xz plane,
 *   S = (χ sin θ, 0, cos θ); a Bloch wall in the yz plane, S = (0, χ sin θ, cos θ); χ = ±1 is the
 *   chirality (sense of rotation).
 * - AFM|FM front (SPEC §5): Néel AFM along e with the columns x ≥ Lx - seedWidth set to +e
 *   (ferromagnetic seed at the right electrode); optional tilt: S ← normalize(S + tilt·g), g a
 *   standard normal 3-vector per site.
 * - Random numbers: Philox4x32-10 (src/gpu/rng.ts, the twin of shaders/lib/rng.wgsl), counter
 *   (i, stream, 0, 0) and key from the seed, so a texture is reproducible from (seed, lattice)
 *   alone and can be regenerated on the GPU.
 */
import { Lattice } from './lattice.js';
import { normal4, seedKey } from '../gpu/rng.js';

export type Vec3 = [number, number, number];

/** Counter streams (second Philox word) that keep the texture generators independent. */
const STREAM_RANDOM = 0x7e57_0001;
const STREAM_TILT = 0x7e57_0002;

function unit(v: ArrayLike<number>, what: string): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${what}: must be a finite non-zero 3-vector, got [${Array.from(v)}]`);
  return [v[0] / n, v[1] / n, v[2] / n];
}

function fill(lat: Lattice, f: (x: number, y: number, i: number) => ArrayLike<number>): Float64Array {
  const s = new Float64Array(3 * lat.N);
  for (let i = 0; i < lat.N; i++) {
    const v = f(lat.xOf(i), lat.yOf(i), i);
    s[3 * i] = v[0];
    s[3 * i + 1] = v[1];
    s[3 * i + 2] = v[2];
  }
  return s;
}

/** All spins along `dir` (normalised). */
export function uniform(lat: Lattice, dir: ArrayLike<number> = [0, 0, 1]): Float64Array {
  const e = unit(dir, 'dir');
  return fill(lat, () => e);
}

/** Checkerboard Néel state S_i = (-1)^(x+y) axis. */
export function neel(lat: Lattice, axis: ArrayLike<number> = [0, 0, 1]): Float64Array {
  const e = unit(axis, 'axis');
  return fill(lat, (x, y) => ((x + y) % 2 === 0 ? e : [-e[0], -e[1], -e[2]]));
}

/** Independent spins uniform on the sphere (normalised Gaussian 3-vectors). */
export function random(lat: Lattice, seed = 0): Float64Array {
  const key = seedKey(seed);
  return fill(lat, (_x, _y, i) => {
    for (let attempt = 0; ; attempt++) {
      const g = normal4([i, STREAM_RANDOM, attempt, 0], key);
      if (Math.hypot(g[0], g[1], g[2]) > 1e-12) return unit(g, 'random');
    }
  });
}

export interface WallOptions {
  /** wall centre (column coordinate), default (Lx - 1)/2 */
  x0?: number;
  /** width Δ in lattice constants, default 2 */
  width?: number;
  /** sense of rotation ±1, default +1 */
  chirality?: 1 | -1;
}

/** Ferromagnetic 180° wall along x, easy axis z; `type` sets the rotation plane (Néel xz, Bloch yz). */
export function domainWall(lat: Lattice, type: 'neel' | 'bloch', opts: WallOptions = {}): Float64Array {
  const x0 = opts.x0 ?? (lat.Lx - 1) / 2;
  const width = opts.width ?? 2;
  const chi = opts.chirality ?? 1;
  if (!Number.isFinite(x0)) throw new Error(`x0: must be finite, got ${x0}`);
  if (!(width > 0) || !Number.isFinite(width)) throw new Error(`width: must be > 0, got ${width}`);
  if (chi !== 1 && chi !== -1) throw new Error(`chirality: must be 1 or -1, got ${chi}`);
  return fill(lat, (x) => {
    const th = 2 * Math.atan(Math.exp((x - x0) / width));
    const s = chi * Math.sin(th);
    return type === 'neel' ? [s, 0, Math.cos(th)] : [0, s, Math.cos(th)];
  });
}

export const neelWall = (lat: Lattice, opts?: WallOptions) => domainWall(lat, 'neel', opts);
export const blochWall = (lat: Lattice, opts?: WallOptions) => domainWall(lat, 'bloch', opts);

export interface FrontOptions {
  /** number of ferromagnetic columns at the right electrode, default 3 (columns Lx-3..Lx-1) */
  seedWidth?: number;
  /** Néel axis and seed direction, default z */
  axis?: ArrayLike<number>;
  /** tilt amplitude (std of the Gaussian added before renormalising), default 0 */
  tilt?: number;
  seed?: number;
}

/** AFM|FM front of SPEC §5: Néel AFM with a ferromagnetic seed at the right electrode. */
export function afmFmFront(lat: Lattice, opts: FrontOptions = {}): Float64Array {
  const w = opts.seedWidth ?? 3;
  const tilt = opts.tilt ?? 0;
  if (!Number.isInteger(w) || w < 0 || w > lat.Lx) throw new Error(`seedWidth: must be an integer in [0, Lx=${lat.Lx}], got ${w}`);
  if (!(tilt >= 0) || !Number.isFinite(tilt)) throw new Error(`tilt: must be >= 0, got ${tilt}`);
  const e = unit(opts.axis ?? [0, 0, 1], 'axis');
  const s = neel(lat, e);
  for (let i = 0; i < lat.N; i++) if (lat.xOf(i) >= lat.Lx - w) s.set(e, 3 * i);
  return tilt > 0 ? tilted(s, tilt, opts.seed ?? 0) : s;
}

/** S_i ← normalize(S_i + tilt·g_i), g_i standard normal (Philox stream STREAM_TILT). */
export function tilted(spins: Float64Array, tilt: number, seed = 0): Float64Array {
  const key = seedKey(seed);
  const out = new Float64Array(spins.length);
  for (let i = 0; i < spins.length / 3; i++) {
    const g = normal4([i, STREAM_TILT, 0, 0], key);
    const v = [0, 1, 2].map((a) => spins[3 * i + a] + tilt * g[a]);
    out.set(unit(v, `tilted spin ${i}`), 3 * i);
  }
  return out;
}

/** Declarative texture description (the `initial` section of a simulate config). */
export type TextureSpec =
  | { kind: 'uniform'; dir?: Vec3 }
  | { kind: 'neel'; axis?: Vec3 }
  | { kind: 'random'; seed?: number }
  | ({ kind: 'neel-wall' | 'bloch-wall' } & WallOptions)
  | ({ kind: 'afm-fm' } & Omit<FrontOptions, 'axis'> & { axis?: Vec3 });

export function makeTexture(lat: Lattice, spec: TextureSpec): Float64Array {
  switch (spec.kind) {
    case 'uniform':
      return uniform(lat, spec.dir);
    case 'neel':
      return neel(lat, spec.axis);
    case 'random':
      return random(lat, spec.seed);
    case 'neel-wall':
      return domainWall(lat, 'neel', spec);
    case 'bloch-wall':
      return domainWall(lat, 'bloch', spec);
    case 'afm-fm':
      return afmFmFront(lat, spec);
  }
}
