/**
 * Layouts from WGSL reflection (wgsl_reflect): bind-group layouts and uniform struct writers are
 * derived from the shader text, so host code and shader cannot drift apart.
 */
import { WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { TypeInfo, VariableInfo, MemberInfo } from 'wgsl_reflect/wgsl_reflect.module.js';

export interface BindingInfo {
  name: string;
  group: number;
  binding: number;
  kind: 'uniform' | 'storage' | 'read-only-storage';
  /** byte size of the type (0 for runtime-sized arrays) */
  size: number;
  type: TypeInfo;
}

export interface ReflectedModule {
  reflect: WgslReflect;
  bindings: BindingInfo[];
  entries: string[];
}

export function reflectWgsl(code: string): ReflectedModule {
  const reflect = new WgslReflect(code);
  const bindings: BindingInfo[] = [];
  const add = (v: VariableInfo) => {
    let kind: BindingInfo['kind'];
    if (v.resourceType === ResourceType.Uniform) kind = 'uniform';
    else if (v.resourceType === ResourceType.Storage) kind = v.access === 'read' ? 'read-only-storage' : 'storage';
    else throw new Error(`binding ${v.name}: only uniform and storage buffers are supported`);
    bindings.push({ name: v.name, group: v.group, binding: v.binding, kind, size: v.type.size, type: v.type });
  };
  reflect.uniforms.forEach(add);
  reflect.storage.forEach(add);
  bindings.sort((a, b) => a.group - b.group || a.binding - b.binding);
  return { reflect, bindings, entries: reflect.entry.compute.map((e) => e.name) };
}

/** Names of bindings a given entry point uses (wgsl_reflect tracks resources per entry). */
export function entryBindings(mod: ReflectedModule, entry: string): BindingInfo[] {
  const ep = mod.reflect.entry.compute.find((e) => e.name === entry);
  if (!ep) throw new Error(`no @compute entry point '${entry}' (have: ${mod.entries.join(', ')})`);
  const used = new Set(ep.resources.map((r) => `${r.group}:${r.binding}`));
  return mod.bindings.filter((b) => used.has(`${b.group}:${b.binding}`));
}

type Scalar = 'f32' | 'u32' | 'i32';
interface Field {
  offset: number;
  scalar: Scalar;
  count: number; // number of scalars (1, 2, 3, 4, or array length * components)
  stride: number; // bytes between array elements (0 for non-arrays)
  components: number;
}

function scalarOf(name: string): { scalar: Scalar; components: number } {
  const m = /^(?:vec([234])<?(f32|u32|i32)?>?|(f32|u32|i32))$/.exec(name.replace(/\s/g, ''));
  if (m) {
    if (m[3]) return { scalar: m[3] as Scalar, components: 1 };
    return { scalar: (m[2] ?? 'f32') as Scalar, components: Number(m[1]) };
  }
  const short = /^vec([234])([fui])$/.exec(name);
  if (short) return { scalar: ({ f: 'f32', u: 'u32', i: 'i32' } as const)[short[2] as 'f' | 'u' | 'i'], components: Number(short[1]) };
  throw new Error(`uniform member type '${name}' is not supported (use f32/u32/i32 scalars, vectors or arrays of them)`);
}

function typeName(t: TypeInfo): string {
  return t.getTypeName ? t.getTypeName() : t.name;
}

/**
 * A typed writer for one uniform struct: `set({ dt: 0.1, n: 64 })` writes each member at its
 * reflected offset. Unknown member names throw; `missing()` lists members never set.
 */
export class UniformLayout {
  readonly size: number;
  readonly fields = new Map<string, Field>();
  constructor(readonly name: string, type: TypeInfo) {
    const members = (type as unknown as { members?: MemberInfo[] }).members;
    if (!members) throw new Error(`uniform ${name} must be a struct`);
    this.size = Math.ceil(type.size / 16) * 16;
    for (const m of members) {
      if (m.isArray) {
        const fmt = m.format!;
        const { scalar, components } = scalarOf(typeName(fmt));
        this.fields.set(m.name, { offset: m.offset, scalar, count: m.count * components, stride: m.stride, components });
      } else {
        const { scalar, components } = scalarOf(typeName(m.type));
        this.fields.set(m.name, { offset: m.offset, scalar, count: components, stride: 0, components });
      }
    }
  }

  /** Pack values into `data` (an ArrayBuffer of this.size bytes). */
  write(data: ArrayBuffer, values: Record<string, number | ArrayLike<number> | boolean>): void {
    const dv = new DataView(data);
    for (const [key, v] of Object.entries(values)) {
      const f = this.fields.get(key);
      if (!f) throw new Error(`uniform ${this.name} has no member '${key}' (members: ${[...this.fields.keys()].join(', ')})`);
      const arr: ArrayLike<number> = typeof v === 'number' ? [v] : typeof v === 'boolean' ? [v ? 1 : 0] : v;
      if (arr.length !== f.count) throw new Error(`uniform ${this.name}.${key}: expected ${f.count} values, got ${arr.length}`);
      for (let k = 0; k < f.count; k++) {
        const off = f.stride ? f.offset + Math.floor(k / f.components) * f.stride + (k % f.components) * 4 : f.offset + k * 4;
        const x = arr[k];
        if (f.scalar === 'f32') dv.setFloat32(off, x, true);
        else if (f.scalar === 'u32') {
          if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`uniform ${this.name}.${key}: ${x} is not a u32`);
          dv.setUint32(off, x, true);
        } else {
          if (!Number.isInteger(x)) throw new Error(`uniform ${this.name}.${key}: ${x} is not an i32`);
          dv.setInt32(off, x, true);
        }
      }
    }
  }

  missing(values: Record<string, unknown>): string[] {
    return [...this.fields.keys()].filter((k) => !(k in values) && !k.startsWith('_pad'));
  }
}
