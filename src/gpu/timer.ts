/** GPU timing with timestamp queries (falls back to wall-clock around a queue sync). */
import type { GpuContext } from './context.js';
import { sync } from './buffers.js';

export class GpuTimer {
  private query?: GPUQuerySet;
  private resolve?: GPUBuffer;
  constructor(private readonly ctx: GpuContext) {
    if (ctx.timestamps) {
      this.query = ctx.device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    }
  }
  /** Time one compute pass recorded by `record`; returns seconds of GPU time. */
  async time(record: (pass: GPUComputePassEncoder) => void): Promise<{ gpuSeconds: number; wallSeconds: number; source: 'timestamp' | 'wall' }> {
    const enc = this.ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass(
      this.query ? { timestampWrites: { querySet: this.query, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
    );
    record(pass);
    pass.end();
    let staging: GPUBuffer | undefined;
    if (this.query && this.resolve) {
      enc.resolveQuerySet(this.query, 0, 2, this.resolve, 0);
      staging = this.ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      enc.copyBufferToBuffer(this.resolve, 0, staging, 0, 16);
    }
    const t0 = performance.now();
    this.ctx.device.queue.submit([enc.finish()]);
    await sync(this.ctx);
    const wall = (performance.now() - t0) / 1e3;
    if (!staging) return { gpuSeconds: wall, wallSeconds: wall, source: 'wall' };
    await staging.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const ns = Number(t[1] - t[0]);
    return ns > 0 ? { gpuSeconds: ns * 1e-9, wallSeconds: wall, source: 'timestamp' } : { gpuSeconds: wall, wallSeconds: wall, source: 'wall' };
  }
}
