/** neqspin library entry: config → lattice → NEGF → dataset → model → dynamics → observables. */
export * from './gpu/index.js';
export * from './lattice/lattice.js';
export * from './lattice/observables.js';
