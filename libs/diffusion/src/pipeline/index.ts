export * from './generate-request.schema';
export * from './png-parameters.util';
export * from './diffusion.pipeline';
