/**
 * The driven s-d model of SPEC §1 in the slice (column) basis used by the NEGF solvers.
 *
 * Slices are the columns x = 0..Lx-1. Inside a slice the orbital index is o = 2*y + s
 * (s = 0 spin up, s = 1 spin down along z), so a slice has M = 2*Ly orbitals and site i = x + Lx*y
 * owns orbitals 2y, 2y+1 of slice x.
 *   H_x   (slice Hamiltonian, M×M): -t between y and y±1 (periodic when the Lattice is periodic in
 *          y, i.e. periodicY and Ly ≥ 3), -J S_i·σ + v_i on the 2×2 diagonal block of site (x, y).
 *   H_{x,x+1} = -t·I_M (inter-slice hopping), so the off-diagonal blocks of E - H are +t·I_M.
 * Leads (spin independent, attached to columns 0 and Lx-1):
 *   wide-band:     Σ = -iΓ/2 on every orbital of the end column, independent of z;
 *   tight-binding: semi-infinite square-lattice lead, hopping tLead inside, coupled with t:
 *                  Σ(z) = t² U diag(g_n(z)) U† ⊗ 1_spin, with U the transverse modes of the lead's
 *                  y-hopping (same boundary condition) and g_n the surface GF of the 1D chain with
 *                  on-site ε_n and hopping tLead (decaying root; retarded at real z).
 */
import { Lattice } from '../lattice/lattice.js';
import { type CMatrix, czeros } from './complex.js';

/** Everything of a NegfCase except the spins: the parameters shared by many configurations. */
export type NegfSetup = Omit<NegfCase, 'spins'>;

export type LeadSpec = { kind: 'wide-band'; gamma: number } | { kind: 'tight-binding'; tLead?: number };

/** SPEC §6 case description (spins as unit triples, or packed xyz) */
export interface NegfCase {
  lattice: { Lx: number; Ly: number; periodicY?: boolean };
  model: { t: number; J: number; onsite?: ArrayLike<number> };
  leads: LeadSpec;
  muL: number;
  muR: number;
  temperature: number;
  spins: ArrayLike<ArrayLike<number>> | ArrayLike<number>;
}

/** Validated, packed form used by the solvers. */
export interface NegfSystem {
  lat: Lattice;
  Lx: number;
  Ly: number;
  /** orbitals per slice, 2*Ly */
  M: number;
  t: number;
  J: number;
  onsite: Float64Array;
  /** packed xyz, length 3N */
  spins: Float64Array;
  leads: LeadSpec;
  muL: number;
  muR: number;
  T: number;
}

function finite(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${field} must be a finite number, got ${String(v)}`);
  return v;
}

/** Pack spins given as N triples or as a flat 3N array. */
export function packSpins(spins: NegfCase['spins'], N: number): Float64Array {
  const out = new Float64Array(3 * N);
  const first = (spins as ArrayLike<unknown>)[0];
  if (typeof first === 'object' && first !== null) {
    const tri = spins as ArrayLike<ArrayLike<number>>;
    if (tri.length !== N) throw new Error(`spins must have length Lx*Ly = ${N}, got ${tri.length}`);
    for (let i = 0; i < N; i++) {
      if (!tri[i] || tri[i].length !== 3) throw new Error(`spins[${i}] must be a 3-vector`);
      for (let c = 0; c < 3; c++) out[3 * i + c] = tri[i][c];
    }
  } else {
    const flat = spins as ArrayLike<number>;
    if (flat.length !== 3 * N) throw new Error(`spins must have length 3*Lx*Ly = ${3 * N} when packed, got ${flat.length}`);
    for (let p = 0; p < 3 * N; p++) out[p] = flat[p];
  }
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < 3; c++) finite(out[3 * i + c], `spins[${i}][${c}]`);
    const norm = Math.hypot(out[3 * i], out[3 * i + 1], out[3 * i + 2]);
    if (Math.abs(norm - 1) > 1e-6) throw new Error(`spins[${i}] must be a unit vector, |S| = ${norm}`);
  }
  return out;
}

/** Deterministic pseudo-random unit spins (N triples, uniform on the sphere) for tests and benchmarks. */
export function randomSpins(N: number, seed: number): number[][] {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: N }, () => {
    const z = 2 * r() - 1, ph = 2 * Math.PI * r(), q = Math.sqrt(1 - z * z);
    return [q * Math.cos(ph), q * Math.sin(ph), z];
  });
}

/** Validate a case and build the packed system (throws one-line errors naming the field). */
export function buildSystem(c: NegfCase): NegfSystem {
  const lat = new Lattice(c.lattice);
  const N = lat.N;
  const t = finite(c.model?.t, 'model.t');
  if (t === 0) throw new Error('model.t must be nonzero');
  const J = finite(c.model?.J, 'model.J');
  const onsite = new Float64Array(N);
  if (c.model.onsite !== undefined) {
    if (c.model.onsite.length !== N) throw new Error(`model.onsite must have length Lx*Ly = ${N}, got ${c.model.onsite.length}`);
    for (let i = 0; i < N; i++) onsite[i] = finite(c.model.onsite[i], `model.onsite[${i}]`);
  }
  const leads = c.leads;
  if (leads?.kind === 'wide-band') {
    if (!(finite(leads.gamma, 'leads.gamma') > 0)) throw new Error(`leads.gamma must be > 0, got ${leads.gamma}`);
  } else if (leads?.kind === 'tight-binding') {
    if (leads.tLead !== undefined && finite(leads.tLead, 'leads.tLead') === 0) throw new Error('leads.tLead must be nonzero');
  } else {
    throw new Error(`leads.kind must be "wide-band" or "tight-binding", got ${String((leads as { kind?: unknown })?.kind)}`);
  }
  const T = finite(c.temperature, 'temperature');
  if (T < 0) throw new Error(`temperature must be >= 0, got ${T}`);
  return {
    lat, Lx: lat.Lx, Ly: lat.Ly, M: 2 * lat.Ly, t, J, onsite, spins: packSpins(c.spins, N), leads,
    muL: finite(c.muL, 'muL'), muR: finite(c.muR, 'muR'), T,
  };
}

/** Slice Hamiltonian H_x (M×M complex). */
export function sliceHamiltonian(sys: NegfSystem, x: number): CMatrix {
  const { Lx, Ly, M, t, J, spins, onsite, lat } = sys;
  const h = czeros(M);
  const set = (r: number, c: number, re: number, im: number) => {
    h[2 * (r * M + c)] += re;
    h[2 * (r * M + c) + 1] += im;
  };
  for (let y = 0; y < Ly; y++) {
    const i = x + Lx * y;
    const sx = spins[3 * i], sy = spins[3 * i + 1], sz = spins[3 * i + 2];
    const a = 2 * y, b = 2 * y + 1;
    // -J S·σ + v: [[-J sz + v, -J (sx - i sy)], [-J (sx + i sy), J sz + v]]
    set(a, a, -J * sz + onsite[i], 0);
    set(b, b, J * sz + onsite[i], 0);
    set(a, b, -J * sx, J * sy);
    set(b, a, -J * sx, -J * sy);
  }
  for (const [y, y2] of transverseBonds(Ly, lat.periodicY)) {
    for (let s = 0; s < 2; s++) {
      set(2 * y + s, 2 * y2 + s, -t, 0);
      set(2 * y2 + s, 2 * y + s, -t, 0);
    }
  }
  return h;
}

/** transverse nearest-neighbour pairs (y, y') of one column, each once */
export function transverseBonds(Ly: number, periodicY: boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y + 1 < Ly; y++) out.push([y, y + 1]);
  if (periodicY && Ly >= 3) out.push([Ly - 1, 0]);
  return out;
}

/**
 * Retarded surface Green's function of a semi-infinite 1D chain (on-site eps, hopping tl) at
 * complex energy z: the root of tl² g² - (z - eps) g + 1 = 0 with |tl g| < 1 (decaying into the
 * lead); on the real axis inside the band (|tl g| = 1 for both roots) the one with Im g ≤ 0.
 */
export function chainSurfaceGreen(zr: number, zi: number, eps: number, tl: number): [number, number] {
  const ar = zr - eps, ai = zi;
  // sqrt(ζ² - 4 tl²)
  const dr = ar * ar - ai * ai - 4 * tl * tl, di = 2 * ar * ai;
  const m = Math.hypot(dr, di);
  const sr = Math.sqrt(Math.max(0, (m + dr) / 2));
  let si = Math.sqrt(Math.max(0, (m - dr) / 2));
  if (di < 0) si = -si;
  const t2 = 2 * tl * tl;
  const g1r = (ar + sr) / t2, g1i = (ai + si) / t2;
  const g2r = (ar - sr) / t2, g2i = (ai - si) / t2;
  const m1 = Math.hypot(g1r, g1i), m2 = Math.hypot(g2r, g2i);
  const tol = 1e-12 * Math.max(m1, m2, 1 / Math.abs(tl));
  if (Math.abs(m1 - m2) <= tol) return g1i <= g2i ? [g1r, g1i] : [g2r, g2i];
  return m1 < m2 ? [g1r, g1i] : [g2r, g2i];
}

/**
 * Lead self-energy on an end column at complex energy (zr, zi), M×M. For tight-binding leads it is
 * built from the transverse modes: periodic y → plane waves e^{2πi n y/Ly}/√Ly with
 * ε_n = -2 tLead cos(2πn/Ly); open y → sin modes √(2/(Ly+1)) sin(π n (y+1)/(Ly+1)) with
 * ε_n = -2 tLead cos(πn/(Ly+1)).
 */
export function leadSelfEnergy(sys: NegfSystem, zr: number, zi: number, out: CMatrix = czeros(sys.M)): CMatrix {
  const { M, Ly, leads, t, lat } = sys;
  out.fill(0);
  if (leads.kind === 'wide-band') {
    for (let o = 0; o < M; o++) out[2 * (o * M + o) + 1] = -leads.gamma / 2;
    return out;
  }
  const tl = leads.tLead ?? t;
  const periodic = lat.periodicY;
  for (let n = 0; n < Ly; n++) {
    const eps = periodic ? -2 * tl * Math.cos((2 * Math.PI * n) / Ly) : -2 * tl * Math.cos((Math.PI * (n + 1)) / (Ly + 1));
    const [gr, gi] = chainSurfaceGreen(zr, zi, eps, tl);
    for (let y = 0; y < Ly; y++) {
      for (let y2 = 0; y2 < Ly; y2++) {
        // U_{y n} conj(U_{y2 n})
        let ur: number, ui: number;
        if (periodic) {
          const ph = (2 * Math.PI * n * (y - y2)) / Ly;
          ur = Math.cos(ph) / Ly; ui = Math.sin(ph) / Ly;
        } else {
          ur = (2 / (Ly + 1)) * Math.sin((Math.PI * (n + 1) * (y + 1)) / (Ly + 1)) * Math.sin((Math.PI * (n + 1) * (y2 + 1)) / (Ly + 1));
          ui = 0;
        }
        const vr = t * t * (gr * ur - gi * ui), vi = t * t * (gr * ui + gi * ur);
        for (let s = 0; s < 2; s++) {
          const p = 2 * ((2 * y + s) * M + 2 * y2 + s);
          out[p] += vr;
          out[p + 1] += vi;
        }
      }
    }
  }
  return out;
}

/** Γ = i(Σ - Σ†) */
export function broadening(sigma: CMatrix, M: number, out: CMatrix = czeros(M)): CMatrix {
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < M; c++) {
      const a = 2 * (r * M + c), b = 2 * (c * M + r);
      // i (s_rc - conj(s_cr))
      const dr = sigma[a] - sigma[b], di = sigma[a + 1] + sigma[b + 1];
      out[a] = -di;
      out[a + 1] = dr;
    }
  }
  return out;
}
