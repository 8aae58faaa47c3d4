export * from './clip-tokenizer-json.util';
export * from './clip.tokenizer';
