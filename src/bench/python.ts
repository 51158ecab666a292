/**
 * The Python interpreter the CPU baselines run with: `$NEQSPIN_PYTHON` if set, else the system
 * `/usr/bin/python3` (Debian's numpy/torch, scripts/setup-bench.sh), else `python3` on PATH; the
 * first that imports `module`. Null when none does.
 */
import { execFileSync } from 'node:child_process';

const cache = new Map<string, string | null>();

export function findPython(module: string): string | null {
  if (cache.has(module)) return cache.get(module)!;
  const candidates = [process.env.NEQSPIN_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  let found: string | null = null;
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 });
      found = py;
      break;
    } catch {
      // try the next one
    }
  }
  cache.set(module, found);
  return found;
}
