export * from './half-float.util';
export * from './float-tensor.util';
export * from './batch-chunks.util';
