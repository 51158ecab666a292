// Bundle the library, CLI and benchmark with esbuild. The native Dawn addon (`webgpu`) stays
// external; shaders are read at run time from ../shaders relative to dist/.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// start from an empty dist/ so stale code-split chunks of earlier builds do not pile up
rmSync('dist', { recursive: true, force: true });

const entryPoints = { cli: 'src/cli/main.ts', index: 'src/index.ts' };
entryPoints.bench = 'scripts/bench.ts';
entryPoints['compare-zhang-chern'] = 'scripts/compare-zhang-chern.ts';
await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  splitting: true,
  external: ['webgpu'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
