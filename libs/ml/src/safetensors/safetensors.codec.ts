import { readFileSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { bytesOf, DTYPES, dtypeFromSafetensors, numel, typedArrayFromBytes } from '../onnx/dtype.util';
import type { TensorData } from '../onnx/graph.model';

/**
 * safetensors format (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__},
 * then the tensor bytes. Small enough to implement here; no maintained JS package covers writing.
 */
const entrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

export interface SafetensorsFile {
  tensors: Map<string, TensorData>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, TensorData> | Record<string, TensorData>, metadata: Record<string, string> = {}): Buffer {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    header[name] = { dtype: DTYPES[t.dtype].safetensors, shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // The format asks for the data to start 8-byte aligned; pad the header with spaces.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...entries.map(([, t]) => bytesOf(t.data))]);
}

export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < 8) throw new Error('safetensors: file shorter than its header length');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (8 + headerLen > buf.byteLength) throw new Error('safetensors: header length past end of file');
  const raw = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const metadata = z.record(z.string(), z.string()).parse(raw['__metadata__'] ?? {});
  const data = buf.subarray(8 + headerLen);
  const tensors = new Map<string, TensorData>();
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') continue;
    const e = entrySchema.parse(value);
    const dtype = dtypeFromSafetensors(e.dtype);
    const [begin, end] = e.data_offsets;
    if (end > data.byteLength || end - begin !== numel(e.shape) * DTYPES[dtype].bytes) {
      throw new Error(`safetensors: tensor ${name} has inconsistent offsets`);
    }
    tensors.set(name, { dtype, dims: e.shape, data: typedArrayFromBytes(dtype, data.subarray(begin, end)) });
  }
  return { tensors, metadata };
}

/**
 * Writes a safetensors file atomically: to a temporary file that is synced and then renamed over
 * `path`, so a reader (or a process killed mid-write) never sees half a file.
 */
export function saveSafetensors(path: string, tensors: Map<string, TensorData> | Record<string, TensorData>, metadata?: Record<string, string>): void {
  writeFileAtomic.sync(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(readFileSync(path));
}
