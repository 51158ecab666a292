/**
 * Trained two-potential model on disk (documented for PyTorch users in docs/training.md).
 *
 * A folder with two files:
 *   model.safetensors  layers.{l}.weight [out, in] and layers.{l}.bias [out] (F32, the MlpGpu θ
 *                      tensors: PyTorch nn.Linear convention, y = x Wᵀ + b), norm.mean and norm.std
 *                      [D] (F64: the network input is (G - mean)/std)
 *   model.json         format/version, descriptor config, architecture, activation, potentials
 *                      (useE, useP, torque), lattice it was trained on, units, dataset provenance,
 *                      training settings and metrics. architecture.outputs is 2 (ε, φ) or, with
 *                      the bond-torque head (potentials.torque, ./torque.ts), 10 (ε, φ, a_0..a_3,
 *                      b_0..b_3; bonds +x, -x, +y, -y); files without `torque` have no head.
 *
 * The descriptor layout is a function of (lattice, descriptor config), so D is checked against
 * the architecture on load. Errors are one line: `<file>: <field>: <reason>`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FormatError, ConfigError } from '../io/errors.js';
import { readSafetensors, writeSafetensors, type StData } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { latticeSchema, parseJsonText, parseWith } from '../io/config.js';
import { Lattice } from '../lattice/lattice.js';
import { DescriptorLayout, checkNormalisation, type DescriptorConfig, type Normalisation } from './descriptor.js';
import { ACTIVATIONS, MLP_OUTPUTS, TORQUE_OUTPUTS, hasTorque, outputCount, paramEntries, type MlpArch } from './weights.js';

export const MODEL_FORMAT = 'neqspin-model';
export const MODEL_VERSION = 1;
export const MODEL_UNITS = {
  spins: 'unit vectors, Pauli convention (SPEC §1)',
  field: 't (h = -(dE/dS)perp - S x dPhi/dS, trained on F_perp = J m_perp)',
  potentials: 't (E and Phi per site: outputs 0 and 1 of the network)',
  torque: 'dimensionless bond coefficients a_k, b_k (outputs 2-9 when potentials.torque): h_i += S_i x sum_k a_k S_k + (sum_k b_k S_k)perp',
} as const;

export interface TrainedModel {
  descriptor: DescriptorConfig;
  arch: MlpArch;
  useE: boolean;
  useP: boolean;
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  norm: Normalisation;
  /** named tensors as MlpGpu.getWeights gives them */
  weights: Record<string, Float32Array>;
  /** free-form: dataset folder, its provenance and split */
  dataset: Record<string, unknown>;
  /** free-form: hyperparameters, history summary, evaluation metrics */
  training: Record<string, unknown>;
}

const leadSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('column') }),
  z.strictObject({ kind: z.literal('clipped'), range: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('onehot'), range: z.number().int().min(1) }),
]);

const modelJsonSchema = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  descriptor: z.strictObject({ rc: z.number().positive(), rp: z.number().min(0), lead: leadSchema }),
  architecture: z.strictObject({
    inputDim: z.number().int().min(1),
    hidden: z.array(z.number().int().min(1)),
    outputs: z.union([z.literal(MLP_OUTPUTS), z.literal(TORQUE_OUTPUTS)]),
  }),
  activation: z.enum(ACTIVATIONS as [string, ...string[]]),
  potentials: z.strictObject({ useE: z.boolean(), useP: z.boolean(), torque: z.boolean().optional() }),
  lattice: latticeSchema,
  units: z.record(z.string(), z.string()),
  dataset: z.record(z.string(), z.unknown()),
  training: z.record(z.string(), z.unknown()),
});

/** Write `<dir>/model.safetensors` and `<dir>/model.json` (each atomically; dir must exist). */
export function saveModel(dir: string, m: TrainedModel): void {
  const tensors: Record<string, { data: StData; shape: number[] }> = {
    'norm.mean': { data: Float64Array.from(m.norm.mean), shape: [m.norm.mean.length] },
    'norm.std': { data: Float64Array.from(m.norm.std), shape: [m.norm.std.length] },
  };
  for (const e of paramEntries(m.arch)) {
    const t = m.weights[e.name];
    if (!t || t.length !== e.size) throw new Error(`model.weights.${e.name} must have ${e.size} elements, got ${t?.length ?? 'none'}`);
    tensors[e.name] = { data: Float32Array.from(t), shape: e.shape };
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: MODEL_FORMAT, version: String(MODEL_VERSION) });
  const json = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    descriptor: m.descriptor,
    architecture: { inputDim: m.arch.inputDim, hidden: m.arch.hidden, outputs: outputCount(m.arch) },
    activation: m.arch.activation,
    potentials: { useE: m.useE, useP: m.useP, torque: hasTorque(m.arch) },
    lattice: m.lattice,
    units: MODEL_UNITS,
    dataset: m.dataset,
    training: m.training,
  };
  writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json, null, 2) + '\n');
}

/** Read and validate a model folder. */
export function loadModel(dir: string): TrainedModel {
  const jsonFile = join(dir, 'model.json');
  const stFile = join(dir, 'model.safetensors');
  for (const f of [jsonFile, stFile]) if (!existsSync(f)) throw new FormatError(f, 'missing (not a neqspin model folder)');
  let j: z.infer<typeof modelJsonSchema>;
  try {
    j = parseWith(modelJsonSchema, parseJsonText(readFileSync(jsonFile, 'utf8'), jsonFile));
  } catch (e) {
    if (e instanceof ConfigError) throw new FormatError(jsonFile, `${e.field ? e.field + ': ' : ''}${e.reason}`);
    throw e;
  }
  if (!(j.potentials.useE || j.potentials.useP)) throw new FormatError(jsonFile, 'potentials: at least one of useE, useP must be true');
  if (!(j.descriptor.rp <= j.descriptor.rc)) throw new FormatError(jsonFile, `descriptor.rp: must be <= rc=${j.descriptor.rc}, got ${j.descriptor.rp}`);
  const descriptor = j.descriptor as DescriptorConfig;
  const D = DescriptorLayout.build(new Lattice(j.lattice), descriptor).D;
  if (j.architecture.inputDim !== D) throw new FormatError(jsonFile, `architecture.inputDim: ${j.architecture.inputDim} does not match the descriptor on the lattice (D=${D})`);
  const torque = j.potentials.torque ?? false;
  if ((j.architecture.outputs === TORQUE_OUTPUTS) !== torque) {
    throw new FormatError(jsonFile, `architecture.outputs: ${j.architecture.outputs} does not match potentials.torque=${torque} (${MLP_OUTPUTS} without the bond-torque head, ${TORQUE_OUTPUTS} with it)`);
  }
  const arch: MlpArch = { inputDim: D, hidden: j.architecture.hidden, activation: j.activation as MlpArch['activation'], ...(torque ? { outputs: TORQUE_OUTPUTS } : {}) };
  const st = readSafetensors(stFile);
  const tensor = (name: string, shape: number[], dtype: 'F32' | 'F64') => {
    const t = st.tensors[name];
    if (!t) throw new FormatError(stFile, `${name}: missing tensor`);
    if (t.dtype !== dtype) throw new FormatError(stFile, `${name}: dtype ${t.dtype}, expected ${dtype}`);
    if (t.shape.join() !== shape.join()) throw new FormatError(stFile, `${name}: shape [${t.shape}], expected [${shape}] from ${jsonFile}`);
    for (let k = 0; k < t.data.length; k++) if (!Number.isFinite(t.data[k])) throw new FormatError(stFile, `${name}: element ${k} is ${t.data[k]}`);
    return t.data;
  };
  const entries = paramEntries(arch);
  const known = new Set(['norm.mean', 'norm.std', ...entries.map((e) => e.name)]);
  for (const name of Object.keys(st.tensors)) if (!known.has(name)) throw new FormatError(stFile, `${name}: unexpected tensor for architecture ${D}-${arch.hidden.join('-')}-${outputCount(arch)}`);
  const weights: Record<string, Float32Array> = {};
  for (const e of entries) weights[e.name] = tensor(e.name, e.shape, 'F32') as Float32Array;
  const norm = { mean: tensor('norm.mean', [D], 'F64') as Float64Array, std: tensor('norm.std', [D], 'F64') as Float64Array };
  try {
    checkNormalisation(norm, D);
  } catch (e) {
    throw new FormatError(stFile, (e as Error).message);
  }
  return { descriptor, arch, useE: j.potentials.useE, useP: j.potentials.useP, lattice: j.lattice, norm, weights, dataset: j.dataset, training: j.training };
}
