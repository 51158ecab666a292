/**
 * Shared CLI plumbing: global options (--adapter, --backend, --quiet, with the environment
 * variables NEQSPIN_ADAPTER / NEQSPIN_BACKEND as fallbacks) and their GPU options.
 */
import type { Command } from 'commander';
import type { GpuOptions } from '../gpu/context.js';

export interface GlobalOptions {
  adapter?: string;
  backend?: string;
  quiet: boolean;
}

/** Global options as seen from any (sub)command, environment fallbacks applied. */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { adapter?: string; backend?: string; quiet?: boolean };
  return {
    adapter: o.adapter ?? (process.env.NEQSPIN_ADAPTER || undefined),
    backend: o.backend ?? (process.env.NEQSPIN_BACKEND || undefined),
    quiet: !!o.quiet,
  };
}

export function gpuOptions(cmd: Command): GpuOptions {
  const g = globalOptions(cmd);
  return { adapter: g.adapter, backend: g.backend };
}
