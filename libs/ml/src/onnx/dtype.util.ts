import { onnx } from 'onnx-proto';

/** Element types the library handles, named like ONNX Runtime's tensor type strings. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array;

interface DTypeInfo {
  onnx: onnx.TensorProto.DataType;
  /** safetensors dtype code (https://github.com/huggingface/safetensors#format). */
  safetensors: string;
  bytes: number;
  make: (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;
}

const T = onnx.TensorProto.DataType;

export const DTYPES: Record<DType, DTypeInfo> = {
  float32: { onnx: T.FLOAT, safetensors: 'F32', bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  float64: { onnx: T.DOUBLE, safetensors: 'F64', bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  float16: { onnx: T.FLOAT16, safetensors: 'F16', bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  int64: { onnx: T.INT64, safetensors: 'I64', bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  int32: { onnx: T.INT32, safetensors: 'I32', bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  int8: { onnx: T.INT8, safetensors: 'I8', bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  uint8: { onnx: T.UINT8, safetensors: 'U8', bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  bool: { onnx: T.BOOL, safetensors: 'BOOL', bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

export function dtypeFromOnnx(code: number): DType {
  const found = (Object.keys(DTYPES) as DType[]).find((k) => DTYPES[k].onnx === code);
  if (!found) throw new Error(`Unsupported ONNX tensor data type ${code}`);
  return found;
}

export function dtypeFromSafetensors(code: string): DType {
  const found = (Object.keys(DTYPES) as DType[]).find((k) => DTYPES[k].safetensors === code);
  if (!found) throw new Error(`Unsupported safetensors dtype ${code}`);
  return found;
}

/** Copies `bytes` (any alignment) into a fresh, aligned typed array of `dtype`. */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const info = DTYPES[dtype];
  if (bytes.byteLength % info.bytes !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return info.make(copy.buffer, 0, bytes.byteLength / info.bytes);
}

export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function allocate(dtype: DType, length: number): TypedArray {
  return DTYPES[dtype].make(new ArrayBuffer(length * DTYPES[dtype].bytes), 0, length);
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Maps ONNX Runtime tensor type strings to ours. */
export function dtypeOfArrayName(type: string): DType {
  if (type in DTYPES) return type as DType;
  throw new Error(`Unsupported tensor type ${type}`);
}
