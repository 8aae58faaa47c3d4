export * from './philox.util';
export * from './seeded-noise.generator';
