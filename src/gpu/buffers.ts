/** Buffer helpers: creation from typed arrays, readback, copies. */
import type { GpuContext } from './context.js';
import { checkErrors } from './context.js';

export const STORAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST (constants valid before globals load)

type Typed = Float32Array | Uint32Array | Int32Array;

export function storageBuffer(ctx: GpuContext, data: Typed | number, label?: string): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buf = ctx.device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 16) * 16), usage: STORAGE, mappedAtCreation: typeof data !== 'number' });
  if (typeof data !== 'number') {
    const Ctor = data.constructor as new (b: ArrayBuffer) => Typed;
    new Ctor(buf.getMappedRange()).set(data);
    buf.unmap();
  }
  return buf;
}

export function writeBuffer(ctx: GpuContext, buf: GPUBuffer, data: Typed, offset = 0): void {
  ctx.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
}

async function readRaw(ctx: GpuContext, buf: GPUBuffer, byteLength: number, offset: number): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, offset, staging, 0, size);
  ctx.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  checkErrors(ctx);
  return out;
}

export async function readF32(ctx: GpuContext, buf: GPUBuffer, count?: number, offset = 0): Promise<Float32Array> {
  const n = count ?? (buf.size - offset) / 4;
  return new Float32Array(await readRaw(ctx, buf, n * 4, offset));
}
export async function readU32(ctx: GpuContext, buf: GPUBuffer, count?: number, offset = 0): Promise<Uint32Array> {
  const n = count ?? (buf.size - offset) / 4;
  return new Uint32Array(await readRaw(ctx, buf, n * 4, offset));
}

/** Submit a set of compute passes recorded by `record` in one command buffer. */
export function submit(ctx: GpuContext, record: (pass: GPUComputePassEncoder, enc: GPUCommandEncoder) => void): void {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  record(pass, enc);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
}

export async function sync(ctx: GpuContext): Promise<void> {
  await ctx.device.queue.onSubmittedWorkDone();
  checkErrors(ctx);
}
