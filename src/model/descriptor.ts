/**
 * Rotation-invariant, lead-aware local descriptors G_i for the two-potential force model (SPEC §4),
 * float64 reference ("twin") of shaders/model/descriptor.wgsl.
 *
 * Neighbourhood of site i: slot 0 is i itself, slots 1..M are the lattice offsets (dx, dy) with
 * 0 < dx² + dy² ≤ rc², sorted by distance, then by shell, then by angle atan2(dy, dx) ∈ [0, 2π)
 * (counter-clockwise from +x). A shell is an orbit of the square-lattice point group, i.e. offsets
 * with equal distance AND equal {|dx|, |dy|}: this splits d² = 25 into {(5,0)} and {(3,4)}, which
 * is how the authors' neighbourhood of radius 5 has 14 shells. Shells are ordered by distance, then
 * by min(|dx|, |dy|). x is open (an offset beyond x = 0 or x = Lx-1 has no site), y is periodic when
 * the lattice is (periodicY and Ly ≥ 3), otherwise open the same way. On a narrow periodic lattice
 * two slots may name the same site (or the centre itself); every formula below stays exact then,
 * because derivatives are accumulated per slot.
 *
 * Features, in this order (D = Mc + Mp(Mp-1)/2 + Mc + C):
 *   centre bonds   S_0·S_a                 for every neighbour slot a (Mc = M of them)
 *   pair bonds     S_a·S_b, a < b          among the Mp neighbours with d ≤ rp (rp ≤ rc)
 *   chiralities    S_0·(S_a × S_b)         a, b consecutive (cyclically, counter-clockwise) in a shell
 *   site features  C lead-awareness values (constant in the spins, see `LeadFeatures`)
 * A feature that involves a missing site (beyond an open edge) is 0 and has zero Jacobian: which
 * features are missing is a function of the site's position, which the site features encode.
 * The features are not symmetrised over the lattice point group: the bias breaks it.
 *
 * Jacobian: each spin feature depends on at most three slots ("roles" r = 0, 1, 2 in the order the
 * slots appear in the formula). dG[i][d][r] is the ambient gradient ∂G_id/∂S_{slot r} ∈ R³ (spins
 * treated as unconstrained vectors; the force assembly projects onto the tangent plane):
 *   S_a·S_b        → (S_b, S_a)
 *   S_0·(S_a×S_b)  → (S_a×S_b, S_b×S_0, S_0×S_a)
 * With a normalisation (mean μ_d, std σ_d) the descriptor is G̃ = (G - μ)/σ and dG̃ = dG/σ.
 *
 * Storage (shared with the GPU): spins N×3 packed xyz (i = x + Lx*y); G N×D row-major;
 * dG N×D×3×3 (site, feature, role, xyz).
 */
import type { Lattice } from '../lattice/lattice.js';

/**
 * Site (lead-awareness) features; d_L = x and d_R = Lx-1-x are the distances to the electrode
 * columns. When y is open (periodicY false or Ly < 3) and Ly > 1 the same features are added for
 * the transverse edges (d_B = y, d_T = Ly-1-y).
 * - column:  the raw index x (and y) — the authors' choice (scaled by the normalisation);
 * - clipped: min(d, range)/range for each edge — 1 means "bulk";
 * - onehot:  one-hot of min(d, range) over range+1 classes for each edge.
 */
export type LeadFeatures = { kind: 'column' } | { kind: 'clipped'; range: number } | { kind: 'onehot'; range: number };

export interface DescriptorConfig {
  /** neighbourhood (centre-bond and chirality) radius, lattice units */
  rc: number;
  /** pair-bond radius (pairs among neighbours with d ≤ rp), 0 ≤ rp ≤ rc */
  rp: number;
  lead: LeadFeatures;
}

export const DESCRIPTOR_PRESETS = {
  /** Authors' configuration: 80 + 378 + 80 + 1 = 539 features on a y-periodic lattice. */
  'zhang-chern-2022': { rc: 5, rp: 3, lead: { kind: 'column' } },
  /** Small default for software-GPU work: 12 + 28 + 12 + 2 = 54 features (y-periodic). */
  default: { rc: 2, rp: 1.5, lead: { kind: 'clipped', range: 4 } },
} as const satisfies Record<string, DescriptorConfig>;

export type DescriptorPresetName = keyof typeof DESCRIPTOR_PRESETS;

export function descriptorPreset(name: string): DescriptorConfig {
  if (!(name in DESCRIPTOR_PRESETS)) throw new Error(`descriptor.preset '${name}' is unknown (have: ${Object.keys(DESCRIPTOR_PRESETS).join(', ')})`);
  return DESCRIPTOR_PRESETS[name as DescriptorPresetName];
}

/** Feature kinds in `DescriptorLayout.features` (4 ints per feature: kind, slot/column, slot, slot). */
export const FEAT_SITE = 0, FEAT_DOT = 1, FEAT_CHI = 2;

export interface NeighbourOffset {
  dx: number;
  dy: number;
  /** dx² + dy² */
  r2: number;
  /** angle atan2(dy, dx) in [0, 2π) */
  angle: number;
  /** index into `DescriptorLayout.shells` */
  shell: number;
}

export interface Shell {
  r2: number;
  /** slots (1-based, counter-clockwise) of the shell's members */
  slots: number[];
}

const EPS_R2 = 1e-9;

function checkConfig(c: DescriptorConfig): void {
  const pos = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!pos(c.rc)) throw new Error(`descriptor.rc must be a positive finite number, got ${c.rc}`);
  if (!(typeof c.rp === 'number' && Number.isFinite(c.rp) && c.rp >= 0 && c.rp <= c.rc)) {
    throw new Error(`descriptor.rp must be a number in [0, rc=${c.rc}], got ${c.rp}`);
  }
  const l = c.lead as { kind?: unknown; range?: unknown } | undefined;
  if (!l || !['column', 'clipped', 'onehot'].includes(String(l.kind))) throw new Error(`descriptor.lead.kind must be column, clipped or onehot, got ${l?.kind}`);
  if (l.kind !== 'column' && !(Number.isInteger(l.range) && (l.range as number) >= 1)) {
    throw new Error(`descriptor.lead.range must be a positive integer, got ${l.range}`);
  }
}

/** Neighbour offsets within radius rc, sorted by (distance, shell, angle), and their shells. */
export function neighbourOffsets(rc: number): { offsets: NeighbourOffset[]; shells: Shell[] } {
  const R = Math.floor(rc + EPS_R2);
  const raw: { dx: number; dy: number; r2: number; m: number; angle: number }[] = [];
  for (let dy = -R; dy <= R; dy++) {
    for (let dx = -R; dx <= R; dx++) {
      const r2 = dx * dx + dy * dy;
      if (r2 === 0 || r2 > rc * rc + EPS_R2) continue;
      let angle = Math.atan2(dy, dx);
      if (angle < 0) angle += 2 * Math.PI;
      raw.push({ dx, dy, r2, m: Math.min(Math.abs(dx), Math.abs(dy)), angle });
    }
  }
  raw.sort((a, b) => a.r2 - b.r2 || a.m - b.m || a.angle - b.angle);
  const shells: Shell[] = [];
  const offsets = raw.map((o, k) => {
    const prev = raw[k - 1];
    if (!prev || prev.r2 !== o.r2 || prev.m !== o.m) shells.push({ r2: o.r2, slots: [] });
    shells[shells.length - 1].slots.push(k + 1);
    return { dx: o.dx, dy: o.dy, r2: o.r2, angle: o.angle, shell: shells.length - 1 };
  });
  return { offsets, shells };
}

/** The lead-awareness values of every site: N × C, plus their labels. */
function siteFeatures(lat: Lattice, lead: LeadFeatures): { C: number; values: Float64Array; labels: string[] } {
  const edges: { label: string; dist: (x: number, y: number) => number }[] = [
    { label: 'x', dist: (x) => x },
    { label: 'Lx-1-x', dist: (x) => lat.Lx - 1 - x },
  ];
  const openY = !lat.periodicY && lat.Ly > 1;
  if (openY) edges.push({ label: 'y', dist: (_x, y) => y }, { label: 'Ly-1-y', dist: (_x, y) => lat.Ly - 1 - y });
  const cols: { label: string; f: (x: number, y: number) => number }[] = [];
  if (lead.kind === 'column') {
    cols.push({ label: 'site x', f: (x) => x });
    if (openY) cols.push({ label: 'site y', f: (_x, y) => y });
  } else {
    const K = lead.range;
    for (const e of edges) {
      if (lead.kind === 'clipped') cols.push({ label: `min(${e.label},${K})/${K}`, f: (x, y) => Math.min(e.dist(x, y), K) / K });
      else for (let c = 0; c <= K; c++) cols.push({ label: `[min(${e.label},${K})=${c}]`, f: (x, y) => (Math.min(e.dist(x, y), K) === c ? 1 : 0) });
    }
  }
  const C = cols.length;
  const values = new Float64Array(lat.N * C);
  for (let i = 0; i < lat.N; i++) cols.forEach((c, k) => (values[i * C + k] = c.f(lat.xOf(i), lat.yOf(i))));
  return { C, values, labels: cols.map((c) => c.label) };
}

/** Compressed-sparse-row list: entries of row k are entry[start[k] .. start[k+1]). */
export interface Csr {
  start: Uint32Array;
  entry: Uint32Array;
}

function csr(rows: number, pairs: [number, number][]): Csr {
  const start = new Uint32Array(rows + 1);
  for (const [r] of pairs) start[r + 1]++;
  for (let k = 0; k < rows; k++) start[k + 1] += start[k];
  const fill = start.slice(0, rows);
  const entry = new Uint32Array(pairs.length);
  for (const [r, v] of pairs) entry[fill[r]++] = v;
  return { start, entry };
}

/** Static tables of a descriptor on a lattice (shared by the twin and the GPU kernels). */
export class DescriptorLayout {
  readonly N: number;
  /** slots per site: 1 (centre) + M neighbours */
  readonly S: number;
  readonly D: number;
  /** number of site (lead) features */
  readonly C: number;
  readonly offsets: NeighbourOffset[];
  readonly shells: Shell[];
  /** number of neighbours within rp (slots 1..Mp) */
  readonly Mp: number;
  /** N × S site index of each slot (slot 0 = the site), -1 where absent */
  readonly nbr: Int32Array;
  /** D × 4: (FEAT_SITE, column, -, -) | (FEAT_DOT, a, b, -) | (FEAT_CHI, 0, a, b); unused = -1 */
  readonly features: Int32Array;
  readonly labels: string[];
  /** N × C site-feature values */
  readonly siteValues: Float64Array;
  /** inverse neighbour table: row j lists i*S + s for every (i, s) with nbr[i*S+s] = j */
  readonly inverse: Csr;
  /** incidence: row s lists d*3 + r for every feature d whose role r is slot s */
  readonly incidence: Csr;

  private constructor(readonly lattice: Lattice, readonly config: DescriptorConfig) {
    checkConfig(config);
    const lat = lattice;
    this.N = lat.N;
    const { offsets, shells } = neighbourOffsets(config.rc);
    this.offsets = offsets;
    this.shells = shells;
    this.S = offsets.length + 1;
    this.Mp = offsets.filter((o) => o.r2 <= config.rp * config.rp + EPS_R2).length;

    const S = this.S;
    this.nbr = new Int32Array(this.N * S);
    for (let i = 0; i < this.N; i++) {
      const x = lat.xOf(i), y = lat.yOf(i);
      this.nbr[i * S] = i;
      offsets.forEach((o, k) => {
        const xx = x + o.dx;
        let yy = y + o.dy;
        if (lat.periodicY) yy = ((yy % lat.Ly) + lat.Ly) % lat.Ly;
        this.nbr[i * S + k + 1] = xx < 0 || xx >= lat.Lx || yy < 0 || yy >= lat.Ly ? -1 : xx + lat.Lx * yy;
      });
    }

    const site = siteFeatures(lat, config.lead);
    this.C = site.C;
    this.siteValues = site.values;
    const feats: number[][] = [];
    const labels: string[] = [];
    const name = (s: number) => (s === 0 ? 'c' : `(${offsets[s - 1].dx},${offsets[s - 1].dy})`);
    for (let a = 1; a < S; a++) {
      feats.push([FEAT_DOT, 0, a, -1]);
      labels.push(`S_c·S_${name(a)}`);
    }
    for (let a = 1; a <= this.Mp; a++) {
      for (let b = a + 1; b <= this.Mp; b++) {
        feats.push([FEAT_DOT, a, b, -1]);
        labels.push(`S_${name(a)}·S_${name(b)}`);
      }
    }
    for (const sh of shells) {
      sh.slots.forEach((a, k) => {
        const b = sh.slots[(k + 1) % sh.slots.length];
        feats.push([FEAT_CHI, 0, a, b]);
        labels.push(`S_c·(S_${name(a)}×S_${name(b)})`);
      });
    }
    site.labels.forEach((l, k) => {
      feats.push([FEAT_SITE, k, -1, -1]);
      labels.push(l);
    });
    this.D = feats.length;
    this.features = Int32Array.from(feats.flat());
    this.labels = labels;

    const inv: [number, number][] = [];
    for (let e = 0; e < this.N * S; e++) if (this.nbr[e] >= 0) inv.push([this.nbr[e], e]);
    this.inverse = csr(this.N, inv);
    const inc: [number, number][] = [];
    for (let d = 0; d < this.D; d++) {
      if (this.features[4 * d] === FEAT_SITE) continue;
      for (let r = 0; r < 3; r++) {
        const s = this.features[4 * d + 1 + r];
        if (s >= 0) inc.push([s, 3 * d + r]);
      }
    }
    this.incidence = csr(S, inc);
  }

  static build(lattice: Lattice, config: DescriptorConfig): DescriptorLayout {
    return new DescriptorLayout(lattice, config);
  }

  /** Number of slots feature d depends on (0 for site features, 2 for bonds, 3 for chiralities). */
  arity(d: number): number {
    const k = this.features[4 * d];
    return k === FEAT_SITE ? 0 : k === FEAT_DOT ? 2 : 3;
  }
}

/** Per-feature input normalisation G̃ = (G - mean)/std, stored with the model. */
export interface Normalisation {
  mean: Float64Array;
  std: Float64Array;
}

/**
 * Mean and (population) standard deviation of each of the D columns of `G` (rows × D, any number
 * of rows from any number of configurations). A feature whose std is below `minStd` (constant over
 * the data set, e.g. a bond that never exists) gets std 1: it is centred, never amplified.
 */
export function computeNormalisation(G: ArrayLike<number>, D: number, minStd = 1e-6): Normalisation {
  if (!Number.isInteger(D) || D < 1 || G.length % D !== 0 || G.length === 0) throw new Error(`normalisation.G must hold a positive multiple of D=${D} values, got ${G.length}`);
  const rows = G.length / D;
  const mean = new Float64Array(D), std = new Float64Array(D);
  for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) mean[d] += G[r * D + d];
  for (let d = 0; d < D; d++) mean[d] /= rows;
  for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) std[d] += (G[r * D + d] - mean[d]) ** 2;
  for (let d = 0; d < D; d++) {
    const s = Math.sqrt(std[d] / rows);
    std[d] = s < minStd ? 1 : s;
  }
  return { mean, std };
}

export function checkNormalisation(norm: Normalisation, D: number): void {
  if (norm.mean.length !== D) throw new Error(`normalisation.mean must have length D=${D}, got ${norm.mean.length}`);
  if (norm.std.length !== D) throw new Error(`normalisation.std must have length D=${D}, got ${norm.std.length}`);
  for (let d = 0; d < D; d++) {
    if (!Number.isFinite(norm.mean[d])) throw new Error(`normalisation.mean[${d}] is not finite`);
    if (!(norm.std[d] > 0 && Number.isFinite(norm.std[d]))) throw new Error(`normalisation.std[${d}] must be positive and finite, got ${norm.std[d]}`);
  }
}

function checkSpins(spins: ArrayLike<number>, count: number, what: string): void {
  if (spins.length !== count) throw new Error(`${what} must have length ${count}, got ${spins.length}`);
}

/**
 * Float64 descriptor and Jacobian of one configuration: G (N×D) and dG (N×D×3×3), normalised when
 * `norm` is given.
 */
export function descriptorF64(layout: DescriptorLayout, spins: ArrayLike<number>, norm?: Normalisation): { G: Float64Array; dG: Float64Array } {
  const { N, S, D, C, nbr, features } = layout;
  checkSpins(spins, 3 * N, 'spins');
  if (norm) checkNormalisation(norm, D);
  const G = new Float64Array(N * D);
  const dG = new Float64Array(N * D * 9);
  const v = (j: number) => [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) {
      const kind = features[4 * d];
      const t = i * D + d;
      let g = 0;
      const jac: number[][] = [];
      if (kind === FEAT_SITE) g = layout.siteValues[i * C + features[4 * d + 1]];
      else {
        const sites = [0, 1, 2].slice(0, kind === FEAT_DOT ? 2 : 3).map((r) => nbr[i * S + features[4 * d + 1 + r]]);
        if (sites.every((j) => j >= 0)) {
          const [a, b, c] = sites.map(v);
          if (kind === FEAT_DOT) {
            g = dot(a, b);
            jac.push(b, a);
          } else {
            g = dot(a, cross(b, c));
            jac.push(cross(b, c), cross(c, a), cross(a, b));
          }
        }
      }
      const inv = norm ? 1 / norm.std[d] : 1;
      G[t] = norm ? (g - norm.mean[d]) * inv : g;
      jac.forEach((w, r) => {
        for (let k = 0; k < 3; k++) dG[9 * t + 3 * r + k] = w[k] * inv;
      });
    }
  }
  return { G, dG };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function cross(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
