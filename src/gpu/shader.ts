/**
 * WGSL source composition and compilation with file:line error mapping.
 *
 * Composition: a line `//!include "lib/complex.wgsl"` is replaced by that file (paths relative to
 * the `shaders/` root), each file included at most once per module. Every line of the composed
 * source remembers its origin file and line, so compiler messages point at the real file.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ComposedShader {
  name: string;
  code: string;
  /** origin of each line of `code` (0-based index) */
  origin: { file: string; line: number }[];
}

const INCLUDE = /^\s*\/\/!include\s+"([^"]+)"\s*$/;

let shaderRoot: string | undefined;
/** Directory holding `shaders/` (searched upwards from this module; override with NEQSPIN_SHADERS). */
export function shadersDir(): string {
  if (shaderRoot) return shaderRoot;
  if (process.env.NEQSPIN_SHADERS) return (shaderRoot = resolve(process.env.NEQSPIN_SHADERS));
  let d = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    if (existsSync(join(d, 'shaders', 'lib'))) return (shaderRoot = join(d, 'shaders'));
    d = dirname(d);
  }
  throw new Error('cannot locate the shaders/ folder (set NEQSPIN_SHADERS)');
}

/** Sources can be injected (browser bundles, tests); otherwise read from shaders/. */
const injected = new Map<string, string>();
export function registerShaderSource(name: string, code: string): void {
  injected.set(name, code);
}

function readSource(name: string): string {
  const s = injected.get(name);
  if (s !== undefined) return s;
  return readFileSync(join(shadersDir(), name), 'utf8');
}

/** Compose `name` (e.g. "dynamics/llg.wgsl") with its includes. */
export function composeShader(name: string): ComposedShader {
  const out: string[] = [];
  const origin: { file: string; line: number }[] = [];
  const seen = new Set<string>();
  const visit = (file: string, stack: string[]) => {
    if (seen.has(file)) return;
    if (stack.includes(file)) throw new Error(`include cycle: ${[...stack, file].join(' -> ')}`);
    seen.add(file);
    const lines = readSource(file).split('\n');
    lines.forEach((text, i) => {
      const m = INCLUDE.exec(text);
      if (m) visit(m[1], [...stack, file]);
      else {
        out.push(text);
        origin.push({ file, line: i + 1 });
      }
    });
  };
  visit(name, []);
  return { name, code: out.join('\n'), origin };
}

export class ShaderCompileError extends Error {}

/** Create a shader module; throws ShaderCompileError with `file:line:col: message` lines. */
export async function compileShader(device: GPUDevice, shader: ComposedShader): Promise<GPUShaderModule> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: shader.name, code: shader.code });
  const info = await module.getCompilationInfo();
  const scopeErr = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length || scopeErr) {
    const lines = errors.map((m) => {
      const o = shader.origin[m.lineNum - 1];
      const where = o ? `shaders/${o.file}:${o.line}:${m.linePos}` : `${shader.name}:?`;
      return `${where}: ${m.message}`;
    });
    if (!lines.length && scopeErr) lines.push(`${shader.name}: ${scopeErr.message}`);
    throw new ShaderCompileError(lines.join('\n'));
  }
  return module;
}
