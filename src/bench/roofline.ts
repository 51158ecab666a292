/** Device ceilings measured in the same run as every benchmark: streaming bandwidth and FMA peak. */
import { Kernel, Uniform, storageBuffer, GpuTimer, type GpuContext } from '../gpu/index.js';

function grid(k: Kernel, pass: GPUComputePassEncoder, group: GPUBindGroup, n: number) {
  // 2D dispatch so large arrays stay under maxComputeWorkgroupsPerDimension
  const wg = Math.ceil(n / 256);
  const gx = Math.min(wg, 32768), gy = Math.ceil(wg / gx);
  pass.setPipeline(k.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(gx, gy);
}

export interface Roofline {
  streamGBs: number;
  fmaGflops: number;
}

/** Best of `reps` timings of each ceiling kernel. Buffers: `mib` MiB each way. */
export async function measureRoofline(ctx: GpuContext, mib = 64, reps = 5): Promise<Roofline> {
  const n4 = Math.floor((mib * 1024 * 1024) / 16);
  const src = storageBuffer(ctx, n4 * 16);
  const dst = storageBuffer(ctx, n4 * 16);
  const timer = new GpuTimer(ctx);
  const stream = await Kernel.get(ctx, 'bench/roofline.wgsl', 'stream');
  const fma = await Kernel.get(ctx, 'bench/roofline.wgsl', 'fma_peak');
  const u = new Uniform(ctx, stream.uniformLayout('p')).set({ n4, iters: 0, a: 1.0001, b: 0.5 });
  const g1 = stream.bind({ p: u.buffer, src, dst });
  let best = Infinity;
  for (let r = 0; r < reps + 1; r++) {
    const t = await timer.time((pass) => grid(stream, pass, g1, n4));
    if (r > 0) best = Math.min(best, t.gpuSeconds); // first run compiles/warms
  }
  const streamGBs = (n4 * 32) / best / 1e9;
  const fmaThreads = Math.min(n4, 1 << 18), iters = 256;
  const u2 = new Uniform(ctx, fma.uniformLayout('p')).set({ n4: fmaThreads, iters, a: 0.999, b: 0.001 });
  const g2 = fma.bind({ p: u2.buffer, src, dst });
  best = Infinity;
  for (let r = 0; r < reps + 1; r++) {
    const t = await timer.time((pass) => grid(fma, pass, g2, fmaThreads));
    if (r > 0) best = Math.min(best, t.gpuSeconds);
  }
  const fmaGflops = (fmaThreads * iters * 64 * 2) / best / 1e9;
  src.destroy();
  dst.destroy();
  return { streamGBs, fmaGflops };
}
