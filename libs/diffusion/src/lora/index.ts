
export * from './lora-adapter';
export * from './lora-graph.transform';
export * from './runtime-lora';
