/**
 * GPU acquisition for Node (Dawn via the `webgpu` npm package) and browsers.
 *
 * Dawn pitfalls handled here:
 * - the object returned by `create()` must stay referenced for the life of the process
 *   (if it is garbage-collected the process crashes later): we keep it in a module global;
 * - `requestDevice` without explicit limits yields WebGPU defaults: we request the adapter's limits;
 * - timestamp queries are quantised unless the `timestamp_quantization` toggle is disabled.
 */
export interface GpuOptions {
  /** Dawn backend: vulkan, metal, d3d12, opengl, null... (env NEQSPIN_BACKEND) */
  backend?: string;
  /** adapter name substring as Dawn reports it (env NEQSPIN_ADAPTER) */
  adapter?: string;
  powerPreference?: 'low-power' | 'high-performance';
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterReport;
  /** true when timestamp queries are available */
  timestamps: boolean;
  /** errors captured from `uncapturederror`; checked by `checkErrors()` */
  errors: string[];
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  software: boolean;
  features: string[];
  limits: Record<string, number>;
}

// Kept for the process's life on purpose (see the file comment).
let dawnGpu: GPU | undefined;
let current: Promise<GpuContext> | undefined;
let currentCtx: GpuContext | undefined;

async function navigatorGpu(opts: GpuOptions): Promise<GPU> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPU }; process?: unknown };
  if (g.navigator?.gpu && typeof g.process === 'undefined') return g.navigator.gpu; // browser
  if (dawnGpu) return dawnGpu;
  const mod = await import('webgpu');
  Object.assign(globalThis, mod.globals);
  const flags: string[] = ['disable-dawn-features=timestamp_quantization'];
  const backend = opts.backend ?? process.env.NEQSPIN_BACKEND;
  const adapter = opts.adapter ?? process.env.NEQSPIN_ADAPTER;
  if (backend) flags.push(`backend=${backend}`);
  if (adapter) flags.push(`adapter=${adapter}`);
  dawnGpu = mod.create(flags) as GPU;
  (globalThis as Record<string, unknown>).__neqspinDawn = dawnGpu;
  return dawnGpu;
}

function reportOf(adapter: GPUAdapter): AdapterReport {
  const i = adapter.info as GPUAdapterInfo & { backend?: string; isFallbackAdapter?: boolean };
  const limits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    backend: i.backend ?? '',
    software: /llvmpipe|lavapipe|swiftshader|software/.test(text) || !!i.isFallbackAdapter,
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export class GpuUnavailableError extends Error {}

async function acquire(opts: GpuOptions): Promise<GpuContext> {
  const gpu = await navigatorGpu(opts);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new GpuUnavailableError(
      'no WebGPU adapter found: on Debian/Ubuntu run `bash scripts/setup.sh` (installs Mesa >= 25 lavapipe), ' +
        'elsewhere install a Vulkan/Metal/D3D12 driver',
    );
  }
  const info = reportOf(adapter);
  // Dawn leaves adapter.info.backend empty: report what was asked for, or the platform default
  if (!info.backend) {
    const asked = opts.backend ?? (typeof process !== 'undefined' ? process.env.NEQSPIN_BACKEND : undefined);
    const dflt = typeof process === 'undefined' ? 'browser' : process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
    info.backend = asked ?? `${dflt} (default)`;
  }
  const wanted: GPUFeatureName[] = [];
  for (const f of ['timestamp-query', 'shader-f16', 'subgroups'] as GPUFeatureName[]) {
    if (adapter.features.has(f)) wanted.push(f);
  }
  const requiredLimits: Record<string, number> = {};
  for (const [k, v] of Object.entries(info.limits)) requiredLimits[k] = v;
  const device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits });
  const ctx: GpuContext = {
    device,
    adapter,
    info,
    timestamps: device.features.has('timestamp-query'),
    errors: [],
  };
  device.addEventListener('uncapturederror', (ev: Event) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    ctx.errors.push(e.message);
  });
  void device.lost.then((l) => {
    if (l.reason !== 'destroyed') ctx.errors.push(`device lost: ${l.message}`);
  });
  return ctx;
}

/** The process-wide GPU context (created on first use). */
export function getGpu(opts: GpuOptions = {}): Promise<GpuContext> {
  if (!current) {
    current = acquire(opts).then((c) => (currentCtx = c));
    current.catch(() => (current = undefined));
  }
  return current;
}

/** Throw if the device reported asynchronous errors since the last check. */
export function checkErrors(ctx: GpuContext): void {
  if (ctx.errors.length) {
    const msg = ctx.errors.splice(0).join('\n');
    throw new Error(`WebGPU error: ${msg}`);
  }
}

/** Release the device so the process can exit by itself. Safe to call twice. */
export function closeGpu(): void {
  if (currentCtx) currentCtx.device.destroy();
  currentCtx = undefined;
  current = undefined;
}

export function describe(info: AdapterReport): string {
  const name = info.description || info.device || info.vendor || 'unknown adapter';
  return `${name} (${info.vendor || '?'}${info.architecture ? ' ' + info.architecture : ''}, ${info.backend || 'webgpu'}${
    info.software ? ', software' : ''
  })`;
}
