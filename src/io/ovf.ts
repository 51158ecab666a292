/**
 * OOMMF OVF 2.0 vector fields (one segment, rectangular mesh), readable by OOMMF, mumax3, ubermag
 * (discretisedfield) and Spirit. Data modes: `text`, `binary4` (f32 with the check value
 * 1234567.0) and `binary8` (f64 with 123456789012345.0), little-endian.
 *
 * Lattice mapping: one cell per site, `xnodes = Lx`, `ynodes = Ly`, `znodes = 1`, node order
 * x fastest then y, i.e. exactly the site index i = x + Lx*y. Cells have size `stepsize` in
 * `meshunit` (default 1 lattice constant, unit "a"; cell centres at x + 1/2).
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';

export type OvfFormat = 'text' | 'binary4' | 'binary8';

export interface OvfField {
  /** xnodes, ynodes, znodes */
  nodes: [number, number, number];
  valuedim: number;
  /** node-major values: data[valuedim * node + component], node = x + nx*(y + ny*z) */
  data: Float32Array | Float64Array;
  title?: string;
  /** free-text `Desc:` lines (one entry per line) */
  desc?: string[];
  /** cell size, default [1, 1, 1] */
  stepsize?: [number, number, number];
  meshunit?: string;
  valuelabels?: string[];
  valueunits?: string[];
}

const CHECK4 = 1234567.0;
const CHECK8 = 123456789012345.0;

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

export function encodeOvf(f: OvfField, format: OvfFormat = 'binary4'): Uint8Array {
  const [nx, ny, nz] = f.nodes;
  const n = nx * ny * nz;
  if (f.data.length !== n * f.valuedim) throw new Error(`ovf: data length ${f.data.length} != ${n} nodes × valuedim ${f.valuedim}`);
  const [dx, dy, dz] = f.stepsize ?? [1, 1, 1];
  const labels = f.valuelabels ?? Array.from({ length: f.valuedim }, (_, k) => (f.valuedim === 3 ? `m_${'xyz'[k]}` : `v${k}`));
  const units = f.valueunits ?? Array(f.valuedim).fill('1');
  const h: string[] = [
    '# OOMMF OVF 2.0',
    '#',
    '# Segment count: 1',
    '#',
    '# Begin: Segment',
    '# Begin: Header',
    '#',
    `# Title: ${oneLine(f.title ?? 'neqspin')}`,
    ...(f.desc ?? []).map((d) => `# Desc: ${oneLine(d)}`),
    '# meshtype: rectangular',
    `# meshunit: ${f.meshunit ?? 'a'}`,
    '#',
    '# xmin: 0',
    '# ymin: 0',
    '# zmin: 0',
    `# xmax: ${nx * dx}`,
    `# ymax: ${ny * dy}`,
    `# zmax: ${nz * dz}`,
    '#',
    `# valuedim: ${f.valuedim}`,
    `# valuelabels: ${labels.join(' ')}`,
    `# valueunits: ${units.join(' ')}`,
    '#',
    `# xbase: ${dx / 2}`,
    `# ybase: ${dy / 2}`,
    `# zbase: ${dz / 2}`,
    `# xnodes: ${nx}`,
    `# ynodes: ${ny}`,
    `# znodes: ${nz}`,
    `# xstepsize: ${dx}`,
    `# ystepsize: ${dy}`,
    `# zstepsize: ${dz}`,
    '# End: Header',
    '#',
  ];
  const enc = new TextEncoder();
  if (format === 'text') {
    const rows: string[] = [];
    for (let i = 0; i < n; i++) rows.push(Array.from(f.data.subarray(f.valuedim * i, f.valuedim * (i + 1)), String).join(' '));
    const text = [...h, '# Begin: Data Text', ...rows, '# End: Data Text', '# End: Segment', ''].join('\n');
    return enc.encode(text);
  }
  const wide = format === 'binary8';
  const label = wide ? 'Binary 8' : 'Binary 4';
  const head = enc.encode([...h, `# Begin: Data ${label}`, ''].join('\n'));
  const tail = enc.encode(['', `# End: Data ${label}`, '# End: Segment', ''].join('\n'));
  const body = wide ? new Float64Array(n * f.valuedim + 1) : new Float32Array(n * f.valuedim + 1);
  body[0] = wide ? CHECK8 : CHECK4;
  body.set(f.data, 1);
  const out = new Uint8Array(head.length + body.byteLength + tail.length);
  out.set(head, 0);
  out.set(new Uint8Array(body.buffer), head.length);
  out.set(tail, head.length + body.byteLength);
  return out;
}

/** Decode one-segment OVF 2.0 (rectangular mesh). Values come back as f32 (binary4) or f64. */
export function decodeOvf(buf: Uint8Array, file = '<ovf>'): OvfField & { format: OvfFormat } {
  const latin = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (reason: string): never => {
    throw new FormatError(file, reason);
  };
  if (!latin.subarray(0, 20).toString('latin1').startsWith('# OOMMF OVF 2.0')) fail('not an OVF 2.0 file (first line must be "# OOMMF OVF 2.0")');
  const m = /# Begin: Data (Text|Binary 4|Binary 8)\r?\n/i.exec(latin.subarray(0, Math.min(latin.length, 65536)).toString('latin1'));
  if (!m) fail('missing "# Begin: Data" line');
  const headerText = latin.subarray(0, m!.index).toString('latin1');
  const kv = new Map<string, string>();
  const desc: string[] = [];
  for (const line of headerText.split(/\r?\n/)) {
    const r = /^#\s*([A-Za-z ]+?)\s*:\s*(.*?)\s*$/.exec(line.replace(/##.*$/, ''));
    if (!r) continue;
    const key = r[1].toLowerCase().replace(/\s+/g, '');
    if (key === 'desc') desc.push(r[2]);
    else kv.set(key, r[2]);
  }
  const num = (k: string, dflt?: number): number => {
    const s = kv.get(k);
    if (s === undefined) return dflt ?? fail(`${k}: missing`);
    const v = Number(s);
    if (!Number.isFinite(v)) fail(`${k}: not a number (${s})`);
    return v;
  };
  if ((kv.get('meshtype') ?? '').toLowerCase() !== 'rectangular') fail(`meshtype: only "rectangular" is supported, got "${kv.get('meshtype')}"`);
  const nodes: [number, number, number] = [num('xnodes'), num('ynodes'), num('znodes')];
  if (nodes.some((k) => !Number.isInteger(k) || k < 1)) fail(`xnodes/ynodes/znodes: invalid ${nodes.join('×')}`);
  const valuedim = num('valuedim');
  const n = nodes[0] * nodes[1] * nodes[2];
  const count = n * valuedim;
  const start = m!.index + m![0].length;
  const mode = m![1].toLowerCase();
  let data: Float32Array | Float64Array;
  let format: OvfFormat;
  if (mode === 'text') {
    format = 'text';
    const endIdx = latin.indexOf('# End: Data', start, 'latin1');
    if (endIdx < 0) fail('missing "# End: Data Text"');
    const tokens = latin.subarray(start, endIdx).toString('latin1').trim().split(/\s+/).filter((t) => t.length);
    if (tokens.length !== count) fail(`data: ${tokens.length} values, expected ${count}`);
    data = Float64Array.from(tokens, Number);
    if (data.some((v) => Number.isNaN(v))) fail('data: non-numeric value');
  } else {
    const wide = mode === 'binary 8';
    format = wide ? 'binary8' : 'binary4';
    const size = wide ? 8 : 4;
    if (latin.length < start + size * (count + 1)) fail('data: truncated binary block');
    const copy = new Uint8Array(buf.subarray(start, start + size * (count + 1))); // copy: Buffer.slice would alias
    const all = wide ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
    if (all[0] !== (wide ? CHECK8 : CHECK4)) fail(`data: bad check value ${all[0]} (expected ${wide ? CHECK8 : CHECK4}, little-endian)`);
    data = all.subarray(1);
  }
  return {
    nodes,
    valuedim,
    data,
    format,
    title: kv.get('title'),
    desc,
    stepsize: [num('xstepsize', 1), num('ystepsize', 1), num('zstepsize', 1)],
    meshunit: kv.get('meshunit'),
    valuelabels: kv.get('valuelabels')?.split(/\s+/),
    valueunits: kv.get('valueunits')?.split(/\s+/),
  };
}

/** Spin field on an Lx × Ly lattice as an OvfField (valuedim 3, labels m_x m_y m_z). */
export function spinField(Lx: number, Ly: number, spins: Float32Array | Float64Array, extra: Partial<OvfField> = {}): OvfField {
  return { nodes: [Lx, Ly, 1], valuedim: 3, data: spins, ...extra };
}

export function writeOvf(path: string, f: OvfField, format: OvfFormat = 'binary4'): void {
  writeFileAtomic(path, encodeOvf(f, format));
}

export function readOvf(path: string): OvfField & { format: OvfFormat } {
  return decodeOvf(readFileSync(path), path);
}
