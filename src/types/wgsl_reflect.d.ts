// wgsl_reflect has no `exports` map: in Node ESM it must be imported by its module file.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
