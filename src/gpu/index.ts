export * from './context.js';
export * from './shader.js';
export * from './reflect.js';
export * from './kernel.js';
export * from './buffers.js';
export * from './timer.js';
