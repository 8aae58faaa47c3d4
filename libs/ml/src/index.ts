export * from './onnx/dtype';
export * from './onnx/graph.model';
export * from './onnx/graph-builder';
export * from './onnx/onnx-codec';
export * from './safetensors/safetensors.codec';
export * from './runtime/session.factory';
