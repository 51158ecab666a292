/**
 * Parameter layout and initialisation of the per-site MLP (shared by the GPU model and its f64 twin).
 *
 * Architecture (`MlpArch`): inputDim D -> hidden[0] -> ... -> hidden[H-1] -> P outputs: channel 0 = ε,
 * 1 = φ, and with the bond-torque head (./torque.ts) P = 2 + 2·TORQUE_BONDS coefficients a_k, b_k.
 * Linear layers are numbered l = 0..L-1 (L = H + 1); every hidden layer is followed by the
 * activation, the last layer is linear.
 *
 * Flat parameter vector θ (float32 on the GPU, float64 in the twin), in this order:
 *   layers.0.weight [n1, D]   row-major, PyTorch nn.Linear convention W[out][in]
 *   layers.0.bias   [n1]
 *   layers.1.weight [n2, n1]
 *   ...
 *   layers.{L-1}.bias [P]
 * so a PyTorch module `self.layers = nn.ModuleList([nn.Linear(...), ...])` applying the activation
 * between layers loads the tensors by name (y = x @ W.T + b).
 *
 * Initialisation (seeded, deterministic, counter-based Philox normals from src/gpu/rng.ts):
 *   'he'     W ~ N(0, 2/fan_in)              (default for relu and silu)
 *   'xavier' W ~ N(0, 2/(fan_in + fan_out))  (default for tanh)
 * biases are zero, and so are the output rows of the bond-torque head (the head starts silent).
 */
import { normal4, seedKey } from '../gpu/rng.js';

export type Activation = 'silu' | 'tanh' | 'relu';
export const ACTIVATIONS: readonly Activation[] = ['silu', 'tanh', 'relu'];
/** Outputs of the two-potential network: channel 0 = ε (energy density), 1 = φ (dissipation potential). */
export const MLP_OUTPUTS = 2;
/** Bonds of the bond-torque head: the four nearest neighbours +x, -x, +y, -y (Lattice.neighbours order). */
export const TORQUE_BONDS = 4;
/** Outputs with the bond-torque head: ε, φ, a_k (k < 4), b_k (k < 4). */
export const TORQUE_OUTPUTS = MLP_OUTPUTS + 2 * TORQUE_BONDS;

export interface MlpArch {
  /** descriptor length D */
  inputDim: number;
  /** hidden widths, e.g. [64, 64, 32]; the authors' net is [1024, 512, 256, 128, 64] */
  hidden: number[];
  activation: Activation;
  /** outputs per site: 2 (ε, φ; the default) or TORQUE_OUTPUTS (bond-torque head, ./torque.ts) */
  outputs?: number;
}

/** Outputs per site of `arch` (2 unless the bond-torque head is on). */
export function outputCount(arch: MlpArch): number {
  return arch.outputs ?? MLP_OUTPUTS;
}

/** Whether `arch` carries the bond-torque head (./torque.ts). */
export function hasTorque(arch: MlpArch): boolean {
  return outputCount(arch) === TORQUE_OUTPUTS;
}

export interface ParamEntry {
  name: string;
  /** [out, in] for weights, [out] for biases */
  shape: number[];
  /** offset in the flat θ vector (elements) */
  offset: number;
  size: number;
}

export interface LayerLayout {
  nIn: number;
  nOut: number;
  wOff: number;
  bOff: number;
}

export function validateArch(arch: MlpArch): void {
  const posInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  if (!posInt(arch.inputDim)) throw new Error(`arch.inputDim must be a positive integer, got ${arch.inputDim}`);
  if (!Array.isArray(arch.hidden) || !arch.hidden.every(posInt)) throw new Error(`arch.hidden must be an array of positive integers, got ${JSON.stringify(arch.hidden)}`);
  if (!ACTIVATIONS.includes(arch.activation)) throw new Error(`arch.activation must be one of ${ACTIVATIONS.join('/')}, got ${arch.activation}`);
  if (arch.outputs !== undefined && arch.outputs !== MLP_OUTPUTS && arch.outputs !== TORQUE_OUTPUTS) {
    throw new Error(`arch.outputs must be ${MLP_OUTPUTS} or ${TORQUE_OUTPUTS} (bond-torque head), got ${arch.outputs}`);
  }
}

/** Widths of all layers including input and output: [D, ...hidden, P]. */
export function widths(arch: MlpArch): number[] {
  return [arch.inputDim, ...arch.hidden, outputCount(arch)];
}

export function layerLayouts(arch: MlpArch): LayerLayout[] {
  validateArch(arch);
  const w = widths(arch);
  const out: LayerLayout[] = [];
  let off = 0;
  for (let l = 0; l + 1 < w.length; l++) {
    const nIn = w[l], nOut = w[l + 1];
    out.push({ nIn, nOut, wOff: off, bOff: off + nIn * nOut });
    off += nIn * nOut + nOut;
  }
  return out;
}

export function paramCount(arch: MlpArch): number {
  const ls = layerLayouts(arch);
  const last = ls[ls.length - 1];
  return last.bOff + last.nOut;
}

/** Named tensors in flat order (see the module doc). */
export function paramEntries(arch: MlpArch): ParamEntry[] {
  return layerLayouts(arch).flatMap((L, l) => [
    { name: `layers.${l}.weight`, shape: [L.nOut, L.nIn], offset: L.wOff, size: L.nOut * L.nIn },
    { name: `layers.${l}.bias`, shape: [L.nOut], offset: L.bOff, size: L.nOut },
  ]);
}

export type InitScheme = 'he' | 'xavier';

/** Seeded initial parameters (float64; cast to f32 for the GPU). */
export function initParams(arch: MlpArch, seed: number, scheme?: InitScheme): Float64Array {
  const key = seedKey(seed);
  const sch = scheme ?? (arch.activation === 'tanh' ? 'xavier' : 'he');
  if (sch !== 'he' && sch !== 'xavier') throw new Error(`init scheme must be he or xavier, got ${sch}`);
  const theta = new Float64Array(paramCount(arch));
  layerLayouts(arch).forEach((L, l) => {
    const std = Math.sqrt(sch === 'he' ? 2 / L.nIn : 2 / (L.nIn + L.nOut));
    const n = L.nIn * L.nOut;
    for (let i = 0; i < n; i += 4) {
      const g = normal4([i >>> 0, l, 0x4d4c50, 0], key); // counter: (element, layer, 'MLP', 0)
      for (let c = 0; c < 4 && i + c < n; c++) theta[L.wOff + i + c] = std * g[c];
    }
  });
  // bond-torque head: its output rows start at zero (no torque until trained; ε, φ unchanged)
  if (hasTorque(arch)) {
    const last = layerLayouts(arch).at(-1)!;
    theta.fill(0, last.wOff + MLP_OUTPUTS * last.nIn, last.wOff + last.nOut * last.nIn);
  }
  return theta;
}

/** Split a flat θ into named tensors (copies, ordered as paramEntries). */
export function unflatten(arch: MlpArch, theta: ArrayLike<number>): Record<string, Float32Array> {
  const n = paramCount(arch);
  if (theta.length !== n) throw new Error(`theta has ${theta.length} elements, arch needs ${n}`);
  const out: Record<string, Float32Array> = {};
  for (const e of paramEntries(arch)) out[e.name] = Float32Array.from({ length: e.size }, (_, k) => theta[e.offset + k]);
  return out;
}

/** Assemble a flat θ from named tensors; every tensor must be present with the right size. */
export function flatten(arch: MlpArch, tensors: Record<string, ArrayLike<number>>): Float32Array {
  const theta = new Float32Array(paramCount(arch));
  const entries = paramEntries(arch);
  for (const e of entries) {
    const t = tensors[e.name];
    if (!t) throw new Error(`weights: missing tensor '${e.name}'`);
    if (t.length !== e.size) throw new Error(`weights: tensor '${e.name}' has ${t.length} elements, expected ${e.size} (shape [${e.shape}])`);
    for (let k = 0; k < e.size; k++) theta[e.offset + k] = t[k];
  }
  for (const name of Object.keys(tensors)) {
    if (!entries.some((e) => e.name === name)) throw new Error(`weights: unknown tensor '${name}'`);
  }
  return theta;
}
