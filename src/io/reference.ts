/**
 * Location of the authors' reference snapshots (SPEC §5): `$NEQSPIN_REFERENCE`, else
 * `shared/reference/zhang-chern-2022` inside or beside the package root (the layout of a checkout
 * with ../shared next to it). Returns undefined when absent.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { shadersDir } from '../gpu/shader.js';

export function zhangChernReferenceDir(): string | undefined {
  if (process.env.NEQSPIN_REFERENCE) return resolve(process.env.NEQSPIN_REFERENCE);
  const root = dirname(shadersDir());
  for (const c of [join(root, 'shared'), join(root, '..', 'shared')]) {
    const d = join(c, 'reference', 'zhang-chern-2022');
    if (existsSync(join(d, 'c0.dat'))) return d;
  }
  return undefined;
}
