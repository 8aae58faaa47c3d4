export * from './diffusion-model.error';
export * from './model-configs.schema';
export * from './onnx-session.factory';
export * from './onnx-component';
export * from './stable-diffusion.model';
export * from './rewritten-model.util';
export * from './vae-encoder-mode.transform';
