export * from './params.js';
export * from './fields.js';
export * from './validate.js';
export * from './twin.js';
export * from './engine.js';
export * from './analytic.js';
export * from './mlDriven.js';
export * from './driven.js';
