#!/usr/bin/env node
// neqspin CLI shim: runs the bundled dist/cli.js (npm run build). In a source checkout where dist/
// is missing or older than src/ (edited since the last build), it bundles src/cli/main.ts on the fly
// with esbuild into .neqspin-cache/ instead, so the CLI never runs stale code (dev only).
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist', 'cli.js');

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

let entry = dist;
const src = join(root, 'src');
const stale = !existsSync(dist) || (existsSync(src) && newestMtime(src) > statSync(dist).mtimeMs);
if (stale && existsSync(join(root, 'node_modules', 'esbuild'))) {
  const { build } = await import('esbuild');
  entry = join(root, '.neqspin-cache', 'cli-dev.mjs');
  // bundle to a private file and rename it into place: concurrent CLI runs never import a half-written bundle
  const tmp = `${entry}.${process.pid}.tmp.mjs`;
  await build({
    entryPoints: [join(src, 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  renameSync(tmp, entry);
}
const { main } = await import(new URL(`file://${entry}`).href);
process.exitCode = await main(process.argv.slice(2));
