/**
 * Configuration files (zod schemas, strict: unknown keys are errors).
 *
 * - `parseNegfCase`: the CASE.json of SPEC §6 (`neqspin negf`).
 * - `parseSimulateConfig`: the `neqspin simulate` configuration.
 *
 * Every failure throws a ConfigError with ONE line naming the field path, e.g.
 * `config error: dynamics.dt: must be > 0, got 0` or `config error: spins[5]: |S|-1 = 2e-3 exceeds ${SPIN_NORM_TOL.toExponential()}`.
 * JSON text may contain the non-standard tokens NaN / Infinity (as Python's json writes them):
 * they are accepted by the JSON reader and then rejected with the field that holds them.
 *
 * Defaults (applied by the parsers; documented in docs/cli.md by the lead):
 *   lattice.periodicY = true; model.t = 1; tight-binding leads: tLead = model.t;
 *   simulate: dynamics.integrator = "midpoint", temperature = 0, noise = "fdt", seed = 0,
 *   sampleEvery = 10, snapshotEvery = 0 (final state only); fields: B = [0,0,0], K = 0,
 *   easyAxis = [0,0,1], Kh = 0, hardAxis = [1,0,0], JH = 0; force = {kind: "none"} (negf: device = "cpu");
 *   output: ovf = "binary4", npy = true; textures: see src/lattice/textures.ts.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { TextureSpec } from '../lattice/textures.js';

/** |S| - 1 tolerance for input spins (SPEC §6). */
export const SPIN_NORM_TOL = 1e-6;

const num = z.number();
const vec3 = z.tuple([num, num, num]);
const direction = vec3.refine((v) => Math.hypot(...v) > 0, { message: 'must be a non-zero vector' });
const posInt = z.number().int().min(1);

export const latticeSchema = z.strictObject({
  Lx: posInt,
  Ly: posInt,
  periodicY: z.boolean().default(true),
});

export const modelSchema = z.strictObject({
  t: num.positive().default(1),
  J: num,
  onsite: z.array(num).optional(),
});

export const leadsSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wide-band'), gamma: num.positive() }),
  z.strictObject({ kind: z.literal('tight-binding'), tLead: num.positive().optional() }),
]);

const reservoirs = {
  muL: num,
  muR: num,
  temperature: num.min(0),
};

const negfCaseSchema = z.strictObject({
  lattice: latticeSchema,
  model: modelSchema,
  leads: leadsSchema,
  ...reservoirs,
  spins: z.array(vec3),
});

export type LatticeConfig = z.infer<typeof latticeSchema>;
export type LeadsConfig = { kind: 'wide-band'; gamma: number } | { kind: 'tight-binding'; tLead: number };
export interface ModelConfig {
  t: number;
  J: number;
  /** on-site potentials v_i, length Lx*Ly */
  onsite?: Float64Array;
}

export interface NegfCase {
  lattice: LatticeConfig;
  model: ModelConfig;
  leads: LeadsConfig;
  muL: number;
  muR: number;
  temperature: number;
  /** packed xyz unit vectors, length 3*Lx*Ly, i = x + Lx*y */
  spins: Float64Array;
}

// ---------------------------------------------------------------------------------------------
// simulate

const textureSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform'), dir: direction.optional() }),
  z.strictObject({ kind: z.literal('neel'), axis: direction.optional() }),
  z.strictObject({ kind: z.literal('random'), seed: z.number().int().min(0).optional() }),
  z.strictObject({
    kind: z.enum(['neel-wall', 'bloch-wall']),
    x0: num.optional(),
    width: num.positive().optional(),
    chirality: z.union([z.literal(1), z.literal(-1)]).optional(),
  }),
  z.strictObject({
    kind: z.literal('afm-fm'),
    seedWidth: z.number().int().min(0).optional(),
    axis: direction.optional(),
    tilt: num.min(0).optional(),
    seed: z.number().int().min(0).optional(),
  }),
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1) }),
]);

const forceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('negf'), model: modelSchema, leads: leadsSchema, ...reservoirs, device: z.enum(['cpu', 'gpu']).default('cpu') }),
  z.strictObject({ kind: z.literal('ml'), model: z.string().min(1), ...reservoirs }),
]);

const simulateSchema = z.strictObject({
  lattice: latticeSchema,
  initial: textureSchema,
  force: forceSchema.default({ kind: 'none' }),
  dynamics: z.strictObject({
    integrator: z.enum(['midpoint', 'heun', 'depondt']).default('midpoint'),
    alpha: num.min(0),
    dt: num.positive(),
    steps: z.number().int().min(0),
    temperature: num.min(0).default(0),
    noise: z.enum(['fdt', 'authors']).default('fdt'),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    sampleEvery: posInt.default(10),
    snapshotEvery: z.number().int().min(0).default(0),
  }),
  fields: z
    .strictObject({
      B: vec3.default([0, 0, 0]),
      K: num.default(0),
      easyAxis: direction.default([0, 0, 1]),
      Kh: num.default(0),
      hardAxis: direction.default([1, 0, 0]),
      JH: num.default(0),
    })
    .default({ B: [0, 0, 0], K: 0, easyAxis: [0, 0, 1], Kh: 0, hardAxis: [1, 0, 0], JH: 0 }),
  output: z
    .strictObject({ ovf: z.enum(['text', 'binary4']).default('binary4'), npy: z.boolean().default(true) })
    .default({ ovf: 'binary4', npy: true }),
});

type RawSimulate = z.infer<typeof simulateSchema>;
export type InitialConfig = TextureSpec | { kind: 'file'; path: string };
export type ForceConfig =
  | { kind: 'none' }
  | ({ kind: 'negf'; model: ModelConfig; leads: LeadsConfig; /** NEGF solver: float64 CPU (default) or f32 GPU kernels */ device: 'cpu' | 'gpu' } & Reservoirs)
  | ({ kind: 'ml'; model: string } & Reservoirs);
export interface Reservoirs {
  muL: number;
  muR: number;
  temperature: number;
}
export interface SimulateConfig {
  lattice: LatticeConfig;
  initial: InitialConfig;
  force: ForceConfig;
  dynamics: RawSimulate['dynamics'];
  /** easyAxis and hardAxis are normalised */
  fields: RawSimulate['fields'];
  output: RawSimulate['output'];
}

// ---------------------------------------------------------------------------------------------
// error formatting

/** `a.b[3].c` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 37) + '...' : s;
}

function toConfigError(issue: z.core.$ZodIssue, input: unknown): ConfigError {
  const value = valueAt(input, issue.path);
  const got = `, got ${show(value)}`;
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return new ConfigError(fieldPath(issue.path), 'required');
      if (issue.expected === 'int') return new ConfigError(fieldPath(issue.path), `must be an integer${got}`);
      if (issue.expected === 'number') return new ConfigError(fieldPath(issue.path), `must be a finite number${got}`);
      return new ConfigError(fieldPath(issue.path), `must be ${issue.expected === 'tuple' ? 'an array' : `a ${issue.expected}`}${got}`);
    case 'too_small':
    case 'too_big': {
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what = issue.origin === 'array' ? `length must be ${op} ${bound}` : issue.origin === 'string' ? 'must not be empty' : `must be ${op} ${bound}`;
      return new ConfigError(fieldPath(issue.path), `${what}${got}`);
    }
    case 'unrecognized_keys':
      return new ConfigError(fieldPath([...issue.path, issue.keys[0]]), 'unknown key');
    case 'invalid_value':
      return new ConfigError(fieldPath(issue.path), `must be one of ${issue.values.map(show).join(' | ')}${got}`);
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options) return new ConfigError(fieldPath(issue.path), `must be one of ${options.map(show).join(' | ')}${got}`);
      return new ConfigError(fieldPath(issue.path), `invalid value${got}`);
    }
    default:
      return new ConfigError(fieldPath(issue.path), issue.message);
  }
}

/** Validate `json` with a zod schema; the first issue becomes a one-line ConfigError. */
export function parseWith<S extends z.ZodType>(schema: S, json: unknown): z.infer<S> {
  const r = schema.safeParse(json);
  if (!r.success) throw toConfigError(r.error.issues[0], json);
  return r.data;
}

/** Packed Float64Array of unit spins; checks count and norms. */
function packSpins(spins: number[][], N: number, field: string): Float64Array {
  if (spins.length !== N) throw new ConfigError(field, `length must be Lx*Ly = ${N}, got ${spins.length}`);
  const out = new Float64Array(3 * N);
  spins.forEach((s, i) => {
    const dev = Math.abs(Math.hypot(s[0], s[1], s[2]) - 1);
    if (!(dev <= SPIN_NORM_TOL)) throw new ConfigError(`${field}[${i}]`, `|S|-1 = ${dev.toExponential(2)} exceeds ${SPIN_NORM_TOL.toExponential()}`);
    out.set(s, 3 * i);
  });
  return out;
}

function model(m: z.infer<typeof modelSchema>, N: number, field: string): ModelConfig {
  if (m.onsite && m.onsite.length !== N) throw new ConfigError(`${field}.onsite`, `length must be Lx*Ly = ${N}, got ${m.onsite.length}`);
  return { t: m.t, J: m.J, ...(m.onsite ? { onsite: Float64Array.from(m.onsite) } : {}) };
}

function leads(l: z.infer<typeof leadsSchema>, t: number): LeadsConfig {
  return l.kind === 'wide-band' ? l : { kind: 'tight-binding', tLead: l.tLead ?? t };
}

const normalise = (v: [number, number, number]): [number, number, number] => {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
};

// ---------------------------------------------------------------------------------------------
// public parsers

/** Validate a CASE.json object (SPEC §6). */
export function parseNegfCase(json: unknown): NegfCase {
  const c = parseWith(negfCaseSchema, json);
  const N = c.lattice.Lx * c.lattice.Ly;
  const m = model(c.model, N, 'model');
  return {
    lattice: c.lattice,
    model: m,
    leads: leads(c.leads, m.t),
    muL: c.muL,
    muR: c.muR,
    temperature: c.temperature,
    spins: packSpins(c.spins, N, 'spins'),
  };
}

/** Validate a simulate configuration object. */
export function parseSimulateConfig(json: unknown): SimulateConfig {
  const c = parseWith(simulateSchema, json);
  const N = c.lattice.Lx * c.lattice.Ly;
  const ini = c.initial;
  if (ini.kind === 'afm-fm' && ini.seedWidth !== undefined && ini.seedWidth > c.lattice.Lx) {
    throw new ConfigError('initial.seedWidth', `must be <= Lx = ${c.lattice.Lx}, got ${ini.seedWidth}`);
  }
  let force: ForceConfig = c.force as ForceConfig;
  if (c.force.kind === 'negf') {
    const m = model(c.force.model, N, 'force.model');
    force = { ...c.force, model: m, leads: leads(c.force.leads, m.t) };
  }
  return {
    lattice: c.lattice,
    initial: ini as InitialConfig,
    force,
    dynamics: c.dynamics,
    fields: { ...c.fields, easyAxis: normalise(c.fields.easyAxis), hardAxis: normalise(c.fields.hardAxis) },
    output: c.output,
  };
}

/**
 * JSON.parse that also accepts the bare tokens NaN, Infinity, -Infinity outside strings (turned
 * into the strings "NaN", "Infinity", "-Infinity" so the schema rejects them by field).
 */
export function parseJsonText(text: string, file: string): unknown {
  if (!/NaN|Infinity/.test(text)) return parseJson(text, file);
  let out = '';
  let k = 0;
  while (k < text.length) {
    const ch = text[k];
    if (ch === '"') {
      let j = k + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(k, j + 1);
      k = j + 1;
      continue;
    }
    const m = /^-?(NaN|Infinity)/.exec(text.slice(k, k + 9));
    if (m) {
      out += JSON.stringify(m[0]);
      k += m[0].length;
      continue;
    }
    out += ch;
    k++;
  }
  return parseJson(out, file);
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, `invalid JSON: ${(e as Error).message}`);
  }
}

/** Read and parse a JSON file; unreadable files and bad JSON are ConfigErrors naming the file. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseJsonText(text, path);
}

export const loadNegfCase = (path: string): NegfCase => parseNegfCase(readJsonFile(path));
export const loadSimulateConfig = (path: string): SimulateConfig => parseSimulateConfig(readJsonFile(path));
