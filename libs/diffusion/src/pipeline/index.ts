export * from './generate-request.schema';
export * from './png-parameters.util';
export * from './diffusion.pipeline';
export * from './candidate-state';
export * from './cfg-batch.util';
