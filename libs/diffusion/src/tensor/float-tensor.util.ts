import * as ort from 'onnxruntime-node';
import { DiffusionModelError } from '../model/diffusion-model.error';
import { float32ToHalf, halfToFloat32 } from './half-float.util';

/** A float tensor of the element type a model input declares (float32, or float16 exports). */
export function floatTensor(type: string, data: Float32Array, dims: readonly number[], what: string): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', data, dims);
  if (type === 'float16') return new ort.Tensor('float16', float32ToHalf(data), dims);
  throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${what} has element type ${type}; float32 or float16 expected`);
}

/** A model output as float32. */
export function readFloat(t: ort.Tensor, what: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return halfToFloat32(t.data as Uint16Array);
  throw new DiffusionModelError('UNSUPPORTED_CONFIG', `${what} has element type ${t.type}; float32 or float16 expected`);
}
