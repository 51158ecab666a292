/**
 * The neqspin dataset format (documented for numpy users in docs/dataset.md).
 *
 * A folder:
 *   meta.json        format/version, lattice, model, leads, units, provenance, split, count, arrays
 *   spins.npy        (S, N, 3) <f4   unit spins, site i = x + Lx*y
 *   field.npy        (S, N, 3) <f4   exchange field F_i = J m_i (SPEC §2)
 *   fieldPerp.npy    (S, N, 3) <f4   F⊥_i = F_i - (S_i·F_i) S_i (training target)
 *   density.npy      (S, N)    <f4   n_i
 *   params.npy       (S, 3)    <f8   [muL, muR, temperature] per snapshot
 *   trajectory.npy   (S,)      <i4   trajectory id of each snapshot
 *   step.npy         (S,)      <i4   time-step index of the snapshot within its trajectory
 *
 * `split` assigns whole trajectories (never single snapshots) to train / val / test, so
 * correlated snapshots of one trajectory never straddle the split.
 *
 * Resumable generation: `appendSnapshots` appends a chunk in place under a journal
 * (append.journal.json): rows are appended to every array, then meta.json is replaced
 * atomically (the commit point). An interrupted append is rolled back (or, if meta.json was
 * already committed, completed) by `recoverDataset`, which `appendSnapshots` runs first.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { withAtomicDir, writeFileAtomic, fsyncDir } from './atomic.js';
import { ConfigError, FormatError } from './errors.js';
import { appendRows, readNpy, readNpyHeader, truncateRows, writeNpy, type NpyDtype, type NpyData } from './npy.js';
import { latticeSchema, leadsSchema, parseJsonText, parseWith, type LeadsConfig } from './config.js';

export const DATASET_FORMAT = 'neqspin-dataset';
export const DATASET_VERSION = 1;
export const PARAM_COLUMNS = ['muL', 'muR', 'temperature'] as const;
/** |S|-1 accepted in stored (f32) spins. f32 rounding of a unit vector gives ~1e-7. */
export const STORED_SPIN_TOL = 1e-5;

export const UNITS = {
  energy: 't (nearest-neighbour hopping)',
  time: 'hbar/t',
  length: 'lattice constant',
  field: 't; F = J m with m = Tr(sigma rho_ii), Pauli matrices without 1/2',
  density: 'electrons per site (spin summed)',
} as const;

/** Per-snapshot arrays (S snapshots, N sites), flat C-order. */
export interface Snapshots {
  spins: Float32Array; // S*N*3
  field: Float32Array; // S*N*3
  fieldPerp: Float32Array; // S*N*3
  density: Float32Array; // S*N
  params: Float64Array; // S*3: muL, muR, temperature
  trajectory: Int32Array; // S
  step: Int32Array; // S
}

export type ArrayName = keyof Snapshots;

/** A set of zero snapshots (e.g. to create a dataset that trajectories are appended to). */
export function emptySnapshots(): Snapshots {
  return {
    spins: new Float32Array(0), field: new Float32Array(0), fieldPerp: new Float32Array(0), density: new Float32Array(0),
    params: new Float64Array(0), trajectory: new Int32Array(0), step: new Int32Array(0),
  };
}

/** dtype and per-snapshot shape of each array (N = number of sites). */
const ARRAYS: { name: ArrayName; dtype: NpyDtype; row: (N: number) => number[] }[] = [
  { name: 'spins', dtype: '<f4', row: (N) => [N, 3] },
  { name: 'field', dtype: '<f4', row: (N) => [N, 3] },
  { name: 'fieldPerp', dtype: '<f4', row: (N) => [N, 3] },
  { name: 'density', dtype: '<f4', row: (N) => [N] },
  { name: 'params', dtype: '<f8', row: () => [PARAM_COLUMNS.length] },
  { name: 'trajectory', dtype: '<i4', row: () => [] },
  { name: 'step', dtype: '<i4', row: () => [] },
];

export interface Split {
  train: number[];
  val: number[];
  test: number[];
}

/** What the producer of a dataset states; the rest of meta.json is derived. */
export interface DatasetInfo {
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  model: { t: number; J: number; onsite?: number[] };
  leads: LeadsConfig;
  /** free-form: generator, version, date, command, preset, source files... */
  provenance: Record<string, unknown>;
  /** trajectory ids per subset; every trajectory id must appear in exactly one list */
  split?: Split;
}

export interface DatasetMeta extends DatasetInfo {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  units: typeof UNITS;
  paramColumns: string[];
  count: number;
  arrays: { name: ArrayName; file: string; dtype: NpyDtype; shape: number[] }[];
}

export interface Dataset {
  meta: DatasetMeta;
  data: Snapshots;
}

const ids = z.array(z.number().int());
const metaSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.literal(DATASET_VERSION),
  lattice: latticeSchema,
  model: z.object({ t: z.number(), J: z.number(), onsite: z.array(z.number()).optional() }),
  leads: leadsSchema,
  units: z.record(z.string(), z.string()),
  paramColumns: z.array(z.string()),
  provenance: z.record(z.string(), z.unknown()),
  split: z.strictObject({ train: ids, val: ids, test: ids }).optional(),
  count: z.number().int().min(0),
  arrays: z.array(z.object({ name: z.string(), file: z.string(), dtype: z.string(), shape: z.array(z.number().int().min(0)) })),
});

function sitesOf(info: DatasetInfo): number {
  return info.lattice.Lx * info.lattice.Ly;
}

/** Number of snapshots in `data`, checking every array's length against the lattice. */
export function snapshotCount(data: Snapshots, N: number, where = 'snapshots'): number {
  const S = data.trajectory.length;
  for (const a of ARRAYS) {
    const arr = data[a.name] as NpyData;
    const per = a.row(N).reduce((p, q) => p * q, 1);
    const ctor = { '<f4': Float32Array, '<f8': Float64Array, '<i4': Int32Array, '<u4': Uint32Array }[a.dtype];
    if (!(arr instanceof ctor)) throw new FormatError(where, `${a.name}: must be a ${ctor.name}`);
    if (arr.length !== S * per) throw new FormatError(where, `${a.name}: length ${arr.length}, expected ${S} snapshots × ${per}`);
  }
  return S;
}

function metaFor(info: DatasetInfo, count: number): DatasetMeta {
  const N = sitesOf(info);
  return {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    lattice: info.lattice,
    model: info.model,
    leads: info.leads,
    units: UNITS,
    paramColumns: [...PARAM_COLUMNS],
    provenance: info.provenance,
    ...(info.split ? { split: info.split } : {}),
    count,
    arrays: ARRAYS.map((a) => ({ name: a.name, file: `${a.name}.npy`, dtype: a.dtype, shape: [count, ...a.row(N)] })),
  };
}

function checkSplit(split: Split | undefined, trajectories: Iterable<number>, where: string): void {
  if (!split) return;
  const owner = new Map<number, string>();
  for (const part of ['train', 'val', 'test'] as const) {
    for (const id of split[part]) {
      if (owner.has(id)) throw new FormatError(where, `split.${part}: trajectory ${id} is also in split.${owner.get(id)}`);
      owner.set(id, part);
    }
  }
  for (const id of trajectories) if (!owner.has(id)) throw new FormatError(where, `split: trajectory ${id} is not assigned to train, val or test`);
}

/** Finite values everywhere and unit spins (within STORED_SPIN_TOL). */
function checkValues(data: Snapshots, N: number, where: (name: ArrayName) => string): void {
  for (const name of ['spins', 'field', 'fieldPerp', 'density', 'params'] as const) {
    const a = data[name];
    for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) throw new FormatError(where(name), `element ${k} is ${a[k]}`);
  }
  const s = data.spins;
  for (let i = 0; i < s.length / 3; i++) {
    const dev = Math.abs(Math.hypot(s[3 * i], s[3 * i + 1], s[3 * i + 2]) - 1);
    if (dev > STORED_SPIN_TOL) {
      throw new FormatError(where('spins'), `snapshot ${Math.floor(i / N)} site ${i % N}: |S|-1 = ${dev.toExponential(2)} exceeds ${STORED_SPIN_TOL.toExponential()}`);
    }
  }
}

function writeArrays(dir: string, meta: DatasetMeta, data: Snapshots): void {
  for (const a of meta.arrays) writeNpy(join(dir, a.file), data[a.name], a.shape);
}

/** Write a complete dataset folder atomically (nothing at `dir` if anything fails). */
export async function writeDataset(dir: string, info: DatasetInfo, data: Snapshots, opts: { overwrite?: boolean } = {}): Promise<DatasetMeta> {
  const N = sitesOf(info);
  const S = snapshotCount(data, N);
  checkValues(data, N, (name) => `${name}`);
  checkSplit(info.split, data.trajectory, 'meta');
  const meta = metaFor(info, S);
  await withAtomicDir(
    dir,
    (tmp) => {
      writeArrays(tmp, meta, data);
      writeFileAtomic(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    },
    opts,
  );
  return meta;
}

function readMeta(dir: string): DatasetMeta {
  const file = join(dir, 'meta.json');
  if (!existsSync(file)) throw new FormatError(file, 'missing (not a neqspin dataset folder)');
  try {
    return parseWith(metaSchema, parseJsonText(readFileSync(file, 'utf8'), file)) as DatasetMeta;
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(file, `${e.field ? e.field + ': ' : ''}${e.reason}`);
    throw e;
  }
}

const JOURNAL = 'append.journal.json';

/** Read and validate a dataset folder. Errors name the file and the field. */
export function readDataset(dir: string): Dataset {
  if (existsSync(join(dir, JOURNAL))) throw new FormatError(join(dir, JOURNAL), 'interrupted append: run recoverDataset (or append again) first');
  const meta = readMeta(dir);
  const N = meta.lattice.Lx * meta.lattice.Ly;
  const data = {} as Record<ArrayName, NpyData>;
  for (const a of ARRAYS) {
    const entry = meta.arrays.find((e) => e.name === a.name);
    const metaFile = join(dir, 'meta.json');
    if (!entry) throw new FormatError(metaFile, `arrays: missing entry "${a.name}"`);
    const file = join(dir, entry.file);
    if (basename(entry.file) !== entry.file) throw new FormatError(metaFile, `arrays.${a.name}.file: must be a plain file name`);
    if (!existsSync(file)) throw new FormatError(file, 'missing');
    const arr = readNpy(file);
    const want = [meta.count, ...a.row(N)];
    if (arr.dtype !== a.dtype) throw new FormatError(file, `dtype: ${arr.dtype}, expected ${a.dtype}`);
    if (arr.shape.join() !== want.join()) throw new FormatError(file, `shape: (${arr.shape}), expected (${want}) from meta.json count and lattice`);
    data[a.name] = arr.data;
  }
  const snaps = data as unknown as Snapshots;
  checkValues(snaps, N, (name) => join(dir, `${name}.npy`));
  checkSplit(meta.split, snaps.trajectory, join(dir, 'meta.json'));
  return { meta, data: snaps };
}

/**
 * Finish or roll back an interrupted append. Returns what was done.
 * Committed (meta.json already counts the chunk): only the journal is removed.
 */
export function recoverDataset(dir: string): 'clean' | 'rolled-back' | 'completed' {
  const jfile = join(dir, JOURNAL);
  if (!existsSync(jfile)) return 'clean';
  const j = JSON.parse(readFileSync(jfile, 'utf8')) as { from: number; to: number };
  const meta = readMeta(dir);
  let result: 'rolled-back' | 'completed';
  if (meta.count === j.to) result = 'completed';
  else if (meta.count === j.from) {
    for (const a of meta.arrays) truncateRows(join(dir, a.file), j.from);
    result = 'rolled-back';
  } else throw new FormatError(jfile, `journal (from ${j.from} to ${j.to}) does not match meta.json count ${meta.count}`);
  unlinkSync(jfile);
  fsyncDir(dir);
  return result;
}

/**
 * Append a chunk of snapshots to an existing dataset (crash-safe, see the file comment).
 * `split` replaces meta.split (needed when the chunk brings new trajectory ids and the dataset
 * has a split). Returns the new snapshot count.
 */
export function appendSnapshots(dir: string, data: Snapshots, opts: { split?: Split; provenance?: Record<string, unknown> } = {}): number {
  recoverDataset(dir);
  const meta = readMeta(dir);
  const N = meta.lattice.Lx * meta.lattice.Ly;
  const S = snapshotCount(data, N, 'appendSnapshots');
  checkValues(data, N, (name) => `appendSnapshots: ${name}`);
  const split = opts.split ?? meta.split;
  if (split) {
    const old = readNpy(join(dir, 'trajectory.npy')).data;
    checkSplit(split, [...old, ...data.trajectory], 'appendSnapshots');
  }
  for (const a of meta.arrays) {
    const rows = readNpyHeader(join(dir, a.file)).shape[0];
    if (rows !== meta.count) throw new FormatError(join(dir, a.file), `shape: ${rows} rows but meta.json count is ${meta.count}`);
  }
  const to = meta.count + S;
  writeFileAtomic(join(dir, JOURNAL), JSON.stringify({ from: meta.count, to }) + '\n');
  for (const a of meta.arrays) appendRows(join(dir, a.file), data[a.name], meta.count);
  const info: DatasetInfo = { ...meta, split, provenance: { ...meta.provenance, ...(opts.provenance ?? {}) } };
  writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(metaFor(info, to), null, 2) + '\n');
  unlinkSync(join(dir, JOURNAL));
  fsyncDir(dir);
  return to;
}

/** Concatenate snapshot sets (same N; at least one part). */
export function concatSnapshots(parts: Snapshots[]): Snapshots {
  if (!parts.length) throw new Error('concatSnapshots: no parts');
  const cat = <T extends NpyData>(arrs: T[]): T => {
    const C = arrs[0].constructor as { new (n: number): T };
    const out = new C(arrs.reduce((n, a) => n + a.length, 0));
    let off = 0;
    for (const a of arrs) {
      (out as unknown as { set(a: ArrayLike<number>, o: number): void }).set(a, off);
      off += a.length;
    }
    return out;
  };
  const out = {} as Record<ArrayName, NpyData>;
  for (const a of ARRAYS) out[a.name] = cat(parts.map((p) => p[a.name] as NpyData));
  return out as unknown as Snapshots;
}

/** F⊥ = F - (S·F) S per site (f64 arithmetic), for packed xyz arrays. */
export function perpendicular(spins: ArrayLike<number>, field: ArrayLike<number>): Float64Array {
  const out = new Float64Array(field.length);
  for (let i = 0; i < field.length / 3; i++) {
    const [sx, sy, sz] = [spins[3 * i], spins[3 * i + 1], spins[3 * i + 2]];
    const d = sx * field[3 * i] + sy * field[3 * i + 1] + sz * field[3 * i + 2];
    out[3 * i] = field[3 * i] - d * sx;
    out[3 * i + 1] = field[3 * i + 1] - d * sy;
    out[3 * i + 2] = field[3 * i + 2] - d * sz;
  }
  return out;
}

/**
 * Deterministic split of trajectory ids: ids are ordered by a hash of (id, seed), the first
 * round(val·n) go to val, the next round(test·n) to test, the rest to train.
 */
export function splitTrajectories(trajectoryIds: Iterable<number>, fractions: { val: number; test: number } = { val: 0.1, test: 0.1 }, seed = 0): Split {
  const unique = [...new Set(trajectoryIds)];
  const hash = (id: number) => {
    let h = (Math.imul(id ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 1, 0xc2b2ae35)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
    return Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  };
  const order = unique.sort((a, b) => hash(a) - hash(b) || a - b);
  const nv = Math.round(fractions.val * order.length);
  const nt = Math.round(fractions.test * order.length);
  const sorted = (a: number[]) => a.sort((p, q) => p - q);
  return { val: sorted(order.slice(0, nv)), test: sorted(order.slice(nv, nv + nt)), train: sorted(order.slice(nv + nt)) };
}
