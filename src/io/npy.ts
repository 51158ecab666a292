/**
 * NumPy `.npy` format, version 1.0 (reads 1.0, 2.0 and 3.0 headers): little-endian `<f4`, `<f8`,
 * `<i4`, `<u4`, C order. The header is padded with spaces so that magic + header is a multiple of
 * 64 bytes, and (as numpy itself does) with room for the first axis to grow to 21 digits, so
 * `appendRows` can rewrite the shape in place. Files load with `np.load(path)`.
 */
import { closeSync, fstatSync, ftruncateSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';

export type NpyDtype = '<f4' | '<f8' | '<i4' | '<u4';
export type NpyData = Float32Array | Float64Array | Int32Array | Uint32Array;

export interface NpyArray<T extends NpyData = NpyData> {
  dtype: NpyDtype;
  shape: number[];
  data: T;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const GROWTH_DIGITS = 21;

const CTORS: Record<NpyDtype, { new (buf: ArrayBuffer, off: number, len: number): NpyData; BYTES_PER_ELEMENT: number }> = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '<u4': Uint32Array,
};

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('neqspin io requires a little-endian host');

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  throw new Error('npy: unsupported array type');
}

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function shapeLiteral(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The full preamble (magic, version, header length, header dict) for a v1.0 file. */
export function npyHeader(dtype: NpyDtype, shape: number[]): Uint8Array {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`npy: invalid shape ${shapeLiteral(shape)}`);
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  if (shape.length) dict += ' '.repeat(Math.max(0, GROWTH_DIGITS - String(shape[0]).length));
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  if (dict.length > 0xffff) throw new Error('npy: header too long for format 1.0');
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let k = 0; k < dict.length; k++) out[10 + k] = dict.charCodeAt(k);
  return out;
}

function bytesOf(data: NpyData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Encode as two chunks (header, data) to avoid copying the data. */
export function encodeNpyChunks(data: NpyData, shape: number[] = [data.length]): Uint8Array[] {
  if (product(shape) !== data.length) throw new Error(`npy: shape ${shapeLiteral(shape)} does not hold ${data.length} elements`);
  return [npyHeader(dtypeOf(data), shape), bytesOf(data)];
}

export function encodeNpy(data: NpyData, shape: number[] = [data.length]): Uint8Array {
  const [h, d] = encodeNpyChunks(data, shape);
  const out = new Uint8Array(h.length + d.length);
  out.set(h, 0);
  out.set(d, h.length);
  return out;
}

interface ParsedHeader {
  dtype: NpyDtype;
  shape: number[];
  dataOffset: number;
}

function parseHeader(pre: Uint8Array, file: string): ParsedHeader {
  if (pre.length < 10 || MAGIC.some((b, k) => pre[k] !== b)) throw new FormatError(file, 'not a .npy file (bad magic)');
  const major = pre[6];
  let hlen: number, start: number;
  if (major === 1) {
    hlen = pre[8] | (pre[9] << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    hlen = new DataView(pre.buffer, pre.byteOffset + 8, 4).getUint32(0, true);
    start = 12;
  } else throw new FormatError(file, `unsupported .npy version ${major}.${pre[7]}`);
  if (start + hlen > pre.length) throw new FormatError(file, 'truncated .npy header');
  const text = new TextDecoder().decode(pre.subarray(start, start + hlen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new FormatError(file, `malformed .npy header ${text.trim()}`);
  const dtype = (descr === '|u4' ? '<u4' : descr) as NpyDtype;
  if (!(dtype in CTORS)) throw new FormatError(file, `dtype: unsupported '${descr}' (need <f4, <f8, <i4 or <u4)`);
  if (fortran === 'True') throw new FormatError(file, 'fortran_order: Fortran-ordered arrays are not supported');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new FormatError(file, `shape: invalid (${shapeText})`);
  return { dtype, shape, dataOffset: start + hlen };
}

export function decodeNpy(buf: Uint8Array, file = '<npy>'): NpyArray {
  const h = parseHeader(buf, file);
  const C = CTORS[h.dtype];
  const n = product(h.shape);
  const nbytes = n * C.BYTES_PER_ELEMENT;
  if (buf.length - h.dataOffset !== nbytes) {
    throw new FormatError(file, `data: ${buf.length - h.dataOffset} bytes, shape ${shapeLiteral(h.shape)} needs ${nbytes}`);
  }
  // copy into a fresh, aligned buffer
  const copy = new Uint8Array(buf.subarray(h.dataOffset, h.dataOffset + nbytes)); // copy: Buffer.slice would alias
  return { dtype: h.dtype, shape: h.shape, data: new C(copy.buffer, 0, n) };
}

/** Atomically write `data` with `shape` (default 1-D). */
export function writeNpy(path: string, data: NpyData, shape?: number[]): void {
  writeFileAtomic(path, encodeNpyChunks(data, shape));
}

export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

/** Shape, dtype and data offset of a .npy file, reading only its header. */
export function readNpyHeader(path: string): ParsedHeader {
  const fd = openSync(path, 'r');
  try {
    const pre = new Uint8Array(Math.min(fstatSync(fd).size, 65536 + 12));
    readSync(fd, pre, 0, pre.length, 0);
    return parseHeader(pre, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Append rows along axis 0 of an existing C-ordered file in place (data at the end, then the
 * header's shape rewritten; both fsynced). Not atomic by itself: callers journal it
 * (see dataset.ts). `expectedRows` guards against appending to a file in an unexpected state;
 * the file is first truncated to exactly `expectedRows` rows.
 */
export function appendRows(path: string, data: NpyData, expectedRows: number): number {
  const h = readNpyHeader(path);
  if (h.dtype !== dtypeOf(data)) throw new FormatError(path, `dtype: file has ${h.dtype}, appended data is ${dtypeOf(data)}`);
  const rowLen = product(h.shape.slice(1));
  if (h.shape.length === 0 || data.length % rowLen !== 0) throw new FormatError(path, `shape: cannot append ${data.length} elements to rows of ${rowLen}`);
  if (h.shape[0] < expectedRows) throw new FormatError(path, `shape: file has ${h.shape[0]} rows, expected at least ${expectedRows}`);
  const rows = expectedRows + data.length / rowLen;
  const header = npyHeader(h.dtype, [rows, ...h.shape.slice(1)]);
  if (header.length !== h.dataOffset) throw new FormatError(path, 'header: no room to grow the shape in place');
  const fd = openSync(path, 'r+');
  try {
    const end = h.dataOffset + expectedRows * rowLen * CTORS[h.dtype].BYTES_PER_ELEMENT;
    ftruncateSync(fd, end);
    const bytes = bytesOf(data);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, end + off);
    fsyncSync(fd);
    writeSync(fd, header, 0, header.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return rows;
}

/** Truncate a .npy file to its first `rows` rows (rewrites the header in place). */
export function truncateRows(path: string, rows: number): void {
  const h = readNpyHeader(path);
  if (h.shape.length === 0 || rows > h.shape[0]) throw new FormatError(path, `shape: cannot truncate (${h.shape}) to ${rows} rows`);
  const rowLen = product(h.shape.slice(1));
  const header = npyHeader(h.dtype, [rows, ...h.shape.slice(1)]);
  if (header.length !== h.dataOffset) throw new FormatError(path, 'header: cannot rewrite the shape in place');
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, h.dataOffset + rows * rowLen * CTORS[h.dtype].BYTES_PER_ELEMENT);
    writeSync(fd, header, 0, header.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
