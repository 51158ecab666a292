/** Two-potential ML force model (SPEC §4): descriptors → MLP (ε, φ per site) → force assembly. */
export * from './descriptor.js';
export * from './descriptor-gpu.js';
export * from './assembly.js';
export * from './assembly-gpu.js';
export * from './weights.js';
export * from './adam.js';
export * from './mlpTwin.js';
export * from './mlp.js';
export * from './train.js';
export * from './trainTwin.js';
export * from './trainReport.js';
export * from './modelFile.js';
export * from './synthetic.js';
export * from './field.js';
