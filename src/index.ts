/** neqspin library entry: config → lattice → NEGF → dataset → model → dynamics → observables. */
export * from './gpu/index.js';
export * from './lattice/lattice.js';
export * from './lattice/observables.js';
export * from './lattice/textures.js';
export * as negf from './negf/index.js';
export * as model from './model/index.js';
export * as dynamics from './dynamics/index.js';
export * as io from './io/index.js';
export * from './presets.js';
export * as datasetGen from './negf/datasetGen.js';
export { runDemo } from './demo/run.js';
export { demoConfig } from './demo/config.js';
