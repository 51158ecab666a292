/** Float64 NEGF reference solver (SPEC §1-§2, §6). See docs/negf.md. */
export * from './complex.js';
export * from './model.js';
export * from './rgf.js';
export * from './grid.js';
export * from './solver.js';
export * from './gpuSolver.js';
export * from './provider.js';
export * from './gpuProvider.js';
