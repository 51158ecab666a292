#!/usr/bin/env node
// neqspin CLI shim: runs the bundled dist/cli.js (npm run build); in a source checkout without a
// build it bundles src/cli/main.ts on the fly with esbuild into .neqspin-cache/ (dev only).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli.js', import.meta.url);
let entry = dist;
if (!existsSync(dist)) {
  const { build } = await import('esbuild');
  entry = new URL('../.neqspin-cache/cli-dev.mjs', import.meta.url);
  await build({
    entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
    outfile: entry.pathname,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
