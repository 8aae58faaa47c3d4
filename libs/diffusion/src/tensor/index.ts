export * from './half-float.util';
export * from './float-tensor.util';
