export * from './schedulers';
export * from './noise';
export * from './tokenizer';
export * from './model/diffusion-model.error';
export * from './fixture/fixture-tokenizer.util';
