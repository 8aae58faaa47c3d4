export * from './schedulers';
export * from './noise';
export * from './tokenizer';
export * from './model';
export * from './png/png-image.codec';
export * from './lora';
export * from './pipeline';
export * from './fixture';
