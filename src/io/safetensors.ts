/**
 * safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian u64 header
 * length N, an N-byte UTF-8 JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}` (padded with spaces to a multiple of 8), then the raw
 * little-endian tensor bytes, contiguous and without holes. Supported dtypes: F32, F64, I32.
 * Tensors are laid out in name order.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';

export type StDtype = 'F32' | 'F64' | 'I32';
export type StData = Float32Array | Float64Array | Int32Array;

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: StData;
}

export interface SafetensorsFile {
  tensors: Record<string, StTensor>;
  metadata: Record<string, string>;
}

const DTYPES: Record<StDtype, { new (buf: ArrayBuffer, off: number, len: number): StData; BYTES_PER_ELEMENT: number }> = {
  F32: Float32Array,
  F64: Float64Array,
  I32: Int32Array,
};

function dtypeOf(d: StData): StDtype {
  if (d instanceof Float32Array) return 'F32';
  if (d instanceof Float64Array) return 'F64';
  if (d instanceof Int32Array) return 'I32';
  throw new Error('safetensors: unsupported array type');
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Encode tensors given as {data, shape} (dtype from the array type). */
export function encodeSafetensors(
  tensors: Record<string, { data: StData; shape: number[] }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: __metadata__.${k} must be a string`);
    header.__metadata__ = metadata;
  }
  let off = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved');
    const { data, shape } = tensors[name];
    if (numel(shape) !== data.length) throw new Error(`safetensors: ${name}: shape [${shape}] does not hold ${data.length} elements`);
    header[name] = { dtype: dtypeOf(data), shape, data_offsets: [off, off + data.byteLength] };
    off += data.byteLength;
  }
  const json = JSON.stringify(header);
  const hbytes = Buffer.from(json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8), 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
    p += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array, file = '<safetensors>'): SafetensorsFile {
  const fail = (reason: string): never => {
    throw new FormatError(file, reason);
  };
  if (buf.length < 8) fail('truncated (no header length)');
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (n < 2 || 8 + n > buf.length) fail(`header length ${n} exceeds the file size ${buf.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    return fail(`header: invalid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header: not a JSON object');
  const base = 8 + n;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, StTensor> = {};
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`__metadata__.${k}: must be a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const C = DTYPES[t.dtype as StDtype];
    if (!C) fail(`${name}.dtype: unsupported ${JSON.stringify(t.dtype)} (need F32, F64 or I32)`);
    const shape = t.shape as number[];
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`${name}.shape: invalid`);
    const [b, e] = (t.data_offsets ?? []) as number[];
    if (!Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e < b || base + e > buf.length) fail(`${name}.data_offsets: invalid [${b}, ${e}]`);
    if (e - b !== numel(shape) * C.BYTES_PER_ELEMENT) fail(`${name}.data_offsets: ${e - b} bytes for shape [${shape}] ${t.dtype}`);
    const copy = new Uint8Array(buf.subarray(base + b, base + e)); // copy: Buffer.slice would alias
    tensors[name] = { dtype: t.dtype as StDtype, shape, data: new C(copy.buffer, 0, numel(shape)) };
    spans.push([b, e, name]);
  }
  spans.sort((a, c) => a[0] - c[0]);
  let end = 0;
  for (const [b, e, name] of spans) {
    if (b !== end) fail(`${name}.data_offsets: tensors must be contiguous without overlap or holes`);
    end = e;
  }
  if (base + end !== buf.length) fail(`data: ${buf.length - base - end} trailing bytes after the last tensor`);
  return { tensors, metadata };
}

export function writeSafetensors(path: string, tensors: Record<string, { data: StData; shape: number[] }>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(readFileSync(path), path);
}
